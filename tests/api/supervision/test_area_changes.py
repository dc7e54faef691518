"""PATCH /areas/{id}: an area redrawn while the supervisor runs is judged by on the next positions through the broker;
the change is validated whole as on creation, audited, and refused to those who may only read areas."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import orjson
import psycopg

from domain.topics import topic
from tests.support.api import AsUser, Units
from tests.support.broker import publish
from tests.support.messages import Message
from tests.support.waiting import wait_for_count
from yiwang.settings import Settings

SHANGHAI = ZoneInfo("Asia/Shanghai")
THURSDAY = datetime(2025, 5, 8, 10, tzinfo=SHANGHAI)  # no other test's day; working hours
ALERTS = "SELECT count(*) FROM alert WHERE vehicle_id = %s AND kind = %s"
LON, LAT = 117.2005, 29.3005
EAST_PER_MINUTE = 0.007  # ~680 m of longitude at this latitude


def drive(root: str, vehicle: str, minutes: range) -> list[Message]:
    """A fix a minute heading east along LAT at 40 km/h from LON at minute 0, ignition on."""
    where = topic(root, "vehicle", vehicle, "position")
    out = []
    for m in minutes:
        body = {"time": (THURSDAY + timedelta(minutes=m)).isoformat(), "latitude": LAT,
                "longitude": LON + m * EAST_PER_MINUTE, "speed": 40.0, "heading": 90.0, "ignition": True}  # fmt: skip
        out.append((where, orjson.dumps(body)))
    return out


def circle(lon: float, radius_m: float) -> dict[str, object]:
    return {"geometry": {"type": "Point", "coordinates": [lon, LAT]}, "radius_m": radius_m}


async def test_a_redrawn_area_is_judged_by_the_running_supervisor(
    api_settings: Settings, units: Units, supervisor: None, client: httpx.AsyncClient, as_user: AsUser
) -> None:
    url, root, port = api_settings.database_url, api_settings.topic_root, api_settings.mqtt_port
    staff = await as_user("dispatcher")
    vehicle = units.a.vehicles[0]
    # A forbidden zone far off the route: the first minutes' fixes are judged by it.
    zone = await client.post(
        "/areas",
        json={"name": "远处", "kind": "forbidden", "organisation_id": units.a.organisation, **circle(118.5, 400)},
        headers=staff,
    )
    assert zone.status_code == 201, zone.text
    await publish(port, drive(root, vehicle, range(0, 3)))
    await wait_for_count(url, "SELECT count(*) FROM supervisor_watch WHERE vehicle_id = %s", (vehicle,), 1)

    # Moved onto the route (the sixth minute's fix is at its centre) with a 30 km/h limit, the supervisor running on.
    moved = await client.patch(
        f"/areas/{zone.json()['id']}",
        json={"name": "学校", **circle(LON + 6 * EAST_PER_MINUTE, 400), "speed_limit_kmh": 30},
        headers=staff,
    )
    assert moved.status_code == 200, moved.text
    assert {k: moved.json()[k] for k in ("name", "kind", "radius_m", "speed_limit_kmh", "organisation_id")} == {
        "name": "学校", "kind": "forbidden", "radius_m": 400.0, "speed_limit_kmh": 30.0,
        "organisation_id": units.a.organisation,
    }  # fmt: skip
    await publish(port, drive(root, vehicle, range(3, 9)))
    assert await wait_for_count(url, ALERTS, (vehicle, "area_entry"), 1) == 1
    alerts = (await client.get("/alerts", params={"vehicle_id": vehicle}, headers=staff)).json()["items"]
    entry = next(a for a in alerts if a["kind"] == "area_entry")
    assert datetime.fromisoformat(entry["time"]) == THURSDAY + timedelta(minutes=6)
    speeding = next(a for a in alerts if a["kind"] == "speeding")
    assert speeding["detail"].startswith("40 km/h, limit 30 in area")


async def test_a_change_is_validated_whole_audited_and_only_for_those_who_write_areas(
    api_settings: Settings, units: Units, client: httpx.AsyncClient, as_user: AsUser
) -> None:
    staff = await as_user("dispatcher")
    route = {"type": "LineString", "coordinates": [[117.2, 29.3], [117.3, 29.3]]}
    created = await client.post(
        "/areas",
        json={"name": "线路", "kind": "permitted", "organisation_id": units.a.organisation, "geometry": route,
              "width_m": 200},
        headers=staff,
    )  # fmt: skip
    assert created.status_code == 201, created.text
    where = f"/areas/{created.json()['id']}"

    # Those who may only read areas, of the area's unit or another, and the auditors: refused, nothing changed.
    for reader in (
        await as_user("unit_user", units.a.organisation),
        await as_user("unit_user", units.b.organisation),
        await as_user("auditor"),
        await as_user("energy_staff"),
    ):
        answer = await client.patch(where, json={"width_m": 10_000, "name": "hijacked"}, headers=reader)
        assert answer.status_code == 403, answer.text
    refused = {
        "a corridor made a circle, its width left": circle(117.25, 100),
        "no width for a corridor": {"width_m": None},
        "a radius on a corridor": {"radius_m": 100},
        "another kind": {"kind": "forbidden"},
        "another unit": {"organisation_id": units.b.organisation},
        "no name": {"name": None},
        "an unknown calendar": {"calendar_id": 987654321},
        "an open ring": {"geometry": {"type": "Polygon", "coordinates": [[[117, 29], [118, 29], [118, 30]]]},
                         "width_m": None},
    }  # fmt: skip
    for what, body in refused.items():
        answer = await client.patch(where, json=body, headers=staff)
        assert answer.status_code == 422, (what, answer.text)
    assert (await client.patch("/areas/987654321", json={"name": "x"}, headers=staff)).status_code == 404
    listed = {a["id"]: a for a in (await client.get("/areas", headers=staff)).json()}
    assert listed[created.json()["id"]] == created.json()

    # A corridor made a circle: the width goes with the route, the hours change; the rest stays.
    changed = await client.patch(
        where, json={**circle(117.25, 300), "width_m": None, "hours": "off_hours"}, headers=staff
    )
    assert changed.status_code == 200, changed.text
    assert changed.json() == {
        **created.json(), **circle(117.25, 300), "width_m": None, "hours": "off_hours",
    }  # fmt: skip
    async with await psycopg.AsyncConnection.connect(api_settings.database_url, autocommit=True) as conn:
        cur = await conn.execute(
            "SELECT role, method, status, params->>'hours' FROM audit_log WHERE endpoint = '/areas/{area_id}' "
            "AND %s = ANY(resource_ids) ORDER BY id",
            (str(created.json()["id"]),),
        )
        audited = await cur.fetchall()
    assert ("unit_user", "PATCH", 403, None) in audited
    assert audited[-1] == ("dispatcher", "PATCH", 200, "off_hours")
