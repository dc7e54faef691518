"""Geofences end to end: circles, corridors and forbidden areas drawn through the API, a speed limit and hours per
area, named calendars kept by admins, judged by a running supervisor on positions through the broker."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import orjson
import psycopg
import pytest

from domain.topics import topic
from tests.support.api import AsUser, Units
from tests.support.broker import publish
from tests.support.messages import Message
from tests.support.waiting import wait_for_count
from yiwang.settings import Settings

SHANGHAI = ZoneInfo("Asia/Shanghai")
THURSDAY = datetime(2025, 4, 17, tzinfo=SHANGHAI)  # no other test's day
ALERTS = "SELECT count(*) FROM alert WHERE vehicle_id = %s AND kind = %s"


def drive(root: str, vehicle: str, start: datetime, *, minutes: int, speed: float = 40.0) -> list[Message]:
    """A fix a minute heading east along 29.3005° N from 117.2005° E, ~670 m a minute, ignition on."""
    where = topic(root, "vehicle", vehicle, "position")
    out = []
    for m in range(minutes + 1):
        body = {"time": (start + timedelta(minutes=m)).isoformat(), "latitude": 29.3005,
                "longitude": 117.2005 + m * 0.007, "speed": speed, "heading": 90.0, "ignition": True}  # fmt: skip
        out.append((where, orjson.dumps(body)))
    return out


def circle(lon: float, radius_m: float) -> dict[str, object]:
    return {"geometry": {"type": "Point", "coordinates": [lon, 29.3005]}, "radius_m": radius_m}


@pytest.fixture
async def default_hours(api_settings: Settings) -> AsyncIterator[None]:
    """The default calendar as the settings make it afterwards, whatever the test left."""
    yield
    async with await psycopg.AsyncConnection.connect(api_settings.database_url, autocommit=True) as conn:
        await conn.execute(
            "UPDATE work_calendar SET work_start = NULL, work_end = NULL, workdays = NULL WHERE is_default"
        )


async def test_circles_corridors_and_forbidden_areas_are_drawn_and_checked(
    client: httpx.AsyncClient, as_user: AsUser, units: Units
) -> None:
    staff = await as_user("dispatcher")
    unit = units.a.organisation
    school = await client.post(
        "/areas", json={"name": "学校", "kind": "forbidden", "organisation_id": unit, **circle(117.25, 300),
                        "speed_limit_kmh": 30, "hours": "off_hours"}, headers=staff,
    )  # fmt: skip
    assert school.status_code == 201, school.text
    shown = ("kind", "radius_m", "width_m", "speed_limit_kmh", "hours", "calendar_id")
    assert {k: school.json()[k] for k in shown} == {
        "kind": "forbidden", "radius_m": 300.0, "width_m": None, "speed_limit_kmh": 30.0, "hours": "off_hours",
        "calendar_id": None,
    }  # fmt: skip
    route = {"type": "LineString", "coordinates": [[117.2, 29.3], [117.3, 29.3], [117.3, 29.4]]}
    corridor = await client.post(
        "/areas",
        json={"name": "线路", "kind": "permitted", "organisation_id": unit, "geometry": route, "width_m": 200},
        headers=staff,
    )  # fmt: skip
    assert corridor.status_code == 201, corridor.text
    assert corridor.json()["geometry"] == route
    refused = {
        "a Point without a radius": {"geometry": circle(117.25, 1)["geometry"]},
        "a radius with a LineString": {"geometry": route, "radius_m": 100, "width_m": 100},
        "a width with a Point": {**circle(117.25, 300), "width_m": 50},
        "an unknown kind": {**circle(117.25, 300), "kind": "elsewhere"},
        "an unknown calendar": {**circle(117.25, 300), "calendar_id": 987654321},
        "a zero radius": circle(117.25, 0),
    }
    for what, body in refused.items():
        sent = {"name": "x", "kind": "forbidden", "organisation_id": unit, **body}
        answer = await client.post("/areas", json=sent, headers=staff)
        assert answer.status_code == 422, (what, answer.text)
    listed = {a["id"]: a for a in (await client.get("/areas", headers=staff)).json()}
    assert listed[school.json()["id"]]["radius_m"] == 300.0
    assert listed[corridor.json()["id"]]["width_m"] == 200.0


async def test_a_forbidden_zone_after_hours_and_an_area_speed_limit_raise_alerts(
    api_settings: Settings, units: Units, supervisor: None, client: httpx.AsyncClient, as_user: AsUser
) -> None:
    url, root, port = api_settings.database_url, api_settings.topic_root, api_settings.mqtt_port
    staff = await as_user("dispatcher")
    unit = units.a.organisation
    # A zone about 1 km east of the start (the first and second minutes' fixes are 340 m from its centre), forbidden
    # after working hours; a 30 km/h zone from about 2 km east (the third minute's fix on).
    for body in (
        {"name": "夜间禁行", "kind": "forbidden", **circle(117.2005 + 0.0105, 400), "hours": "off_hours"},
        {"name": "限速", "kind": "permitted", **circle(117.2005 + 0.035, 1500), "speed_limit_kmh": 30},
    ):
        created = await client.post("/areas", json={"organisation_id": unit, **body}, headers=staff)
        assert created.status_code == 201, created.text
    day, night = units.a.vehicles[0], units.a.vehicles[1]
    await publish(port, drive(root, day, THURSDAY + timedelta(hours=10), minutes=6))
    await publish(port, drive(root, night, THURSDAY + timedelta(hours=20), minutes=6))
    assert await wait_for_count(url, ALERTS, (night, "area_entry"), 1) == 1
    assert await wait_for_count(url, ALERTS, (day, "speeding"), 1) == 1
    assert await wait_for_count(url, ALERTS, (day, "area_entry"), 0) == 0
    alerts = (await client.get("/alerts", params={"vehicle_id": night}, headers=staff)).json()["items"]
    entry = next(a for a in alerts if a["kind"] == "area_entry")
    assert (entry["level"], datetime.fromisoformat(entry["time"])) == ("red", THURSDAY + timedelta(hours=20, minutes=1))
    page = (await client.get("/alerts", params={"vehicle_id": day}, headers=staff)).json()
    speeding = next(a for a in page["items"] if a["kind"] == "speeding")
    assert speeding["detail"].startswith("40 km/h, limit 30 in area")
    # Read in a language, the areas are named as their users named them, not by id.
    zh = {**staff, "Accept-Language": "zh-CN"}
    told = (await client.get("/alerts", params={"vehicle_id": night}, headers=zh)).json()["items"]
    assert next(a for a in told if a["kind"] == "area_entry")["detail"] == "驶入禁入区域 夜间禁行"
    told = (await client.get("/alerts", params={"vehicle_id": day}, headers=zh)).json()["items"]
    assert next(a for a in told if a["kind"] == "speeding")["detail"] == "车速 40 km/h，区域 限速 内限速 30 km/h"


@pytest.mark.usefixtures("default_hours")
async def test_an_admin_keeps_named_calendars_and_the_default_hours_apply_to_the_running_supervisor(
    api_settings: Settings, units: Units, supervisor: None, client: httpx.AsyncClient, as_user: AsUser
) -> None:
    url, root, port = api_settings.database_url, api_settings.topic_root, api_settings.mqtt_port
    admin = await as_user("admin")
    listed = (await client.get("/calendar/calendars", headers=admin)).json()
    default = next(c for c in listed if c["is_default"])
    assert default["name"] == "default"
    reader = await as_user("unit_user", units.a.organisation)
    assert (await client.get("/calendar/calendars", headers=reader)).status_code == 200
    assert (await client.put(f"/calendar/calendars/{default['id']}", json={"name": "default"},
                             headers=reader)).status_code == 403  # fmt: skip

    # Working hours from 10:00: a 09:00 drive is now off hours, while the supervisor keeps running.
    changed = await client.put(
        f"/calendar/calendars/{default['id']}",
        json={"name": "default", "work_start": "10:00", "work_end": "18:00", "workdays": [1, 2, 3, 4, 5]},
        headers=admin,
    )
    assert changed.status_code == 200, changed.text
    vehicle = units.a.vehicles[0]
    await publish(port, drive(root, vehicle, THURSDAY + timedelta(hours=9), minutes=3))
    assert await wait_for_count(url, ALERTS, (vehicle, "off_hours"), 1) == 1

    # A calendar of its own for an area; not removable while the area applies by it; the default never is.
    night = await client.post(
        "/calendar/calendars",
        json={"name": f"夜间-{units.a.organisation}", "work_start": "22:00", "work_end": "06:00"},
        headers=admin,
    )  # fmt: skip
    assert night.status_code == 201, night.text
    taken = await client.post("/calendar/calendars", json={"name": night.json()["name"]}, headers=admin)
    assert taken.status_code == 409
    area = await client.post(
        "/areas", json={"name": "夜间区", "kind": "forbidden", "organisation_id": units.a.organisation,
                        **circle(117.5, 100), "calendar_id": night.json()["id"], "hours": "working"},
        headers=admin,
    )  # fmt: skip
    assert area.status_code == 201, area.text
    assert (await client.delete(f"/calendar/calendars/{night.json()['id']}", headers=admin)).status_code == 409
    assert (await client.delete(f"/calendar/calendars/{default['id']}", headers=admin)).status_code == 404
    assert (await client.delete(f"/areas/{area.json()['id']}", headers=admin)).status_code == 204
    assert (await client.delete(f"/calendar/calendars/{night.json()['id']}", headers=admin)).status_code == 204
    bad = await client.post("/calendar/calendars", json={"name": "x", "work_start": "10:00"}, headers=admin)
    assert bad.status_code == 422
