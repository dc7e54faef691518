"""Trips matched to trip requests, end to end: positions published through the broker to the real collector,
requests made and dispatched through the API, the matching report, the suspicion list and their files read through
the API.

Four vehicles, each driving along a street due north (tests/support/tracks.py), with the odometer, so every figure
is exact:

- a0 (unit A) drives 10 km three hours ago with no request: undispatched.
- a1 (unit A) is dispatched, then drives 10 km: dispatched.
- b0 (unit B) is dispatched on unit A's request to a place 5 km up the street (a 10 km request: the road factor is
  1 in these tests). It drives there, stops, drives 4 km on, stops 10 minutes, and comes back: 18 km, a detour of
  8 km with a stop 4 km from the destination.
- b1 (unit B) is dispatched; then its terminal sends a blind-zone batch of an 8 km drive that ended before the
  dispatch, and a live 3 km drive after it: 8 km undispatched, 3 km dispatched.

The drives after a dispatch are sent at once, ahead of their fix times (a replay of the coming hour), so the
collector here accepts fixes up to two hours ahead.
"""

from __future__ import annotations

import csv
import io
import math
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import openpyxl
import pytest

from db import ingest
from db.pool import open_pool
from domain.geo import EARTH_RADIUS_M
from tests.support.api import AsUser, Person, Units, audit_rows, person
from tests.support.broker import publish
from tests.support.collector import collecting
from tests.support.drives import moved, position_messages
from tests.support.files import csv_body
from tests.support.fleet import add_driver, ok, submit
from tests.support.rollups import settle_mileage
from tests.support.stack import settings_for
from tests.support.tracks import LAT0, LON0, Day
from tests.support.waiting import wait_for_count
from worker.mileage import Basis
from yiwang.settings import Settings
from yiwang.stack import Stack


@pytest.fixture
def api_settings(stack: Stack, tag: str) -> Settings:
    """The API's settings with a straight road (estimates are straight lines) and fixes accepted two hours ahead."""
    return settings_for(
        stack, tag, api_token_secret=secrets.token_urlsafe(48), matching_road_factor=1.0, max_future_seconds=7200
    )


def north(km: float) -> dict[str, float]:
    return {"latitude": LAT0 + math.degrees(km * 1000 / EARTH_RADIUS_M), "longitude": LON0}


async def dispatched(
    client: httpx.AsyncClient, requester: Person, dispatcher: Person, organisation: str, *, vehicle: str, driver: int,
    **body: Any,
) -> dict[str, Any]:  # fmt: skip
    """A request of `organisation` for the coming hours, approved, dispatched with `vehicle` and departed."""
    now = datetime.now(UTC)
    window = {"wanted_start": now.isoformat(), "wanted_end": (now + timedelta(hours=2)).isoformat()}
    request = await submit(client, requester, organisation, origin_location=north(0), **window, **body)
    await ok(client, dispatcher, request["id"], "approve")
    order = {"vehicle_id": vehicle, "driver_id": driver}
    result = await ok(client, dispatcher, request["id"], "dispatch", order)
    await ok(client, dispatcher, request["id"], "depart", {})
    return result


def after(request: dict[str, Any], seconds: float = 30) -> datetime:
    return datetime.fromisoformat(request["dispatched_at"]) + timedelta(seconds=seconds)


async def get(client: httpx.AsyncClient, path: str, who: Person, period: dict[str, str], **params: str) -> Any:
    response = await client.get(path, params={**period, **params}, headers=who.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_trips_are_matched_to_their_dispatches_through_the_broker(
    api_settings: Settings, units: Units, client: httpx.AsyncClient, as_user: AsUser
) -> None:
    url, root, port = api_settings.database_url, api_settings.topic_root, api_settings.mqtt_port
    a0, a1 = units.a.vehicles
    b0, b1 = units.b.vehicles
    dispatcher = await person(client, as_user, "dispatcher")
    user_a = await person(client, as_user, "unit_user", units.a.organisation)
    user_b = await person(client, as_user, "unit_user", units.b.organisation)
    auditor = await person(client, as_user, "auditor")
    driver_a1 = await add_driver(client, dispatcher, units.a.organisation, "李师傅")
    driver_b0 = await add_driver(client, dispatcher, units.b.organisation, "张师傅")
    driver_b1 = await add_driver(client, dispatcher, units.b.organisation, "赵师傅")

    # a1 and the detour (b0, on unit A's request) are dispatched first; their drives come after.
    request_a1 = await dispatched(client, user_a, dispatcher, units.a.organisation, vehicle=a1, driver=driver_a1)
    request_b0 = await dispatched(
        client, user_a, dispatcher, units.a.organisation, vehicle=b0, driver=driver_b0,
        destination="城东会议中心", destination_location=north(5),
    )  # fmt: skip
    request_b1 = await dispatched(client, user_b, dispatcher, units.b.organisation, vehicle=b1, driver=driver_b1)

    unrequested = Day(10_000.0).park(600).drive(10_000, 60).idle(60).park(600)
    inside = Day(20_000.0).park(120).drive(10_000, 60).idle(60).park(600)
    detour = (
        Day(30_000.0).park(120)
        .drive(5_000, 60).idle(60).park(600)  # to the destination, 10 minutes there
        .drive(4_000, 60).idle(60).park(600)  # 4 km on, 10 minutes there
        .drive(-4_000, 60).idle(60).drive(-5_000, 60).idle(60).park(300)  # back
    )  # fmt: skip
    blind = Day(40_000.0).park(120).drive(8_000, 60).idle(60).park(600)
    live = Day(40_008.0)
    live.at = 8_000.0  # where the blind drive ended
    live.park(120).drive(-3_000, 60).idle(60).park(300)
    blind_fixes = moved(blind.fixes, after(request_b1, -30 * 60))  # ends 7 minutes before the dispatch
    assert blind_fixes[-1].time < after(request_b1, 0)

    async with collecting(api_settings):
        await publish(
            port, position_messages(root, a0, moved(unrequested.fixes, datetime.now(UTC) - timedelta(hours=3)))
        )
        await publish(port, position_messages(root, a1, moved(inside.fixes, after(request_a1))))
        await publish(port, position_messages(root, b0, moved(detour.fixes, after(request_b0))))
        await publish(port, position_messages(root, b1, moved(live.fixes, after(request_b1))))
        # The blind-zone batch arrives after the dispatch and after the live fixes.
        await publish(port, position_messages(root, b1, blind_fixes, blind=True))
        expected = sum(len(d.fixes) for d in (unrequested, inside, detour, blind, live))
        stored = await wait_for_count(
            url, "SELECT count(*) FROM position WHERE vehicle_id = ANY(%s)", ([a0, a1, b0, b1],), expected
        )
    assert stored == expected
    async with open_pool(url, max_size=2, configure=ingest.prepare_connection) as pool:
        await settle_mileage(pool, Basis.of(api_settings), [a0, a1, b0, b1])

    today = datetime.now(api_settings.zone).date()
    period = {"start": (today - timedelta(days=1)).isoformat(), "end": (today + timedelta(days=2)).isoformat()}
    report = await get(client, "/reports/matching", dispatcher, period)
    rows = {v["vehicle_id"]: v for v in report["vehicles"]}
    split = {v: (rows[v]["km"], rows[v]["dispatched_km"], rows[v]["undispatched_km"]) for v in (a0, a1, b0, b1)}
    assert split == {
        a0: (10.0, 0.0, 10.0),  # no request
        a1: (10.0, 10.0, 0.0),  # inside its request
        b0: (18.0, 18.0, 0.0),  # on a request, with a detour
        b1: (11.0, 3.0, 8.0),  # the late blind-zone drive is judged by its fix times: before the dispatch
    }
    assert (rows[b0]["detours"], rows[b0]["detour_excess_km"], rows[b0]["foreign_stops"]) == (1, 8.0, 1)
    assert rows[a0]["business_share"] == 0.0
    assert rows[a1]["business_share"] == 1.0
    # The kilometres are those of the vehicle report: every kilometre matched or not, none counted twice.
    vehicles = await get(client, "/reports/vehicles", dispatcher, period)
    assert {v["vehicle_id"]: v["km"] for v in vehicles["vehicles"] if v["vehicle_id"] in split} == {
        v: split[v][0] for v in split
    }
    assert report["rules"]["road_factor"] == 1.0

    # The dispatcher sees every unit, other tests' among them: this test's vehicles' entries.
    suspected = [
        s
        for s in (await get(client, "/reports/suspicions", dispatcher, period))["suspicions"]
        if s["vehicle_id"] in split
    ]
    kinds = sorted((s["vehicle_id"], s["kind"], s["km"]) for s in suspected)
    assert kinds == sorted([(a0, "undispatched", 10.0), (b0, "detour", 18.0), (b0, "foreign_stop", 0.0),
                            (b1, "undispatched", 8.0)])  # fmt: skip
    [detoured] = [s for s in suspected if s["kind"] == "detour"]
    assert detoured["request"]["id"] == request_b0["id"]
    assert detoured["request"]["destination"] == "城东会议中心"
    assert (detoured["estimate_km"], detoured["excess_km"]) == (10.0, 8.0)
    assert [(s["foreign"], s["from_destination_m"]) for s in detoured["stops"]] == [(False, 0), (True, 4000)]
    assert detoured["track"].startswith(f"/vehicles/{b0}/track?start=")
    # The evidence's track link serves the span's fixes.
    track = await client.get(detoured["track"], headers=dispatcher.headers)
    assert track.status_code == 200, track.text
    assert track.json()["features"][0]["properties"]["kept"] > 100
    [late] = [s for s in suspected if s["vehicle_id"] == b1]
    assert late["request"] is None
    assert not late["request_hidden"]
    assert datetime.fromisoformat(late["end"]) < datetime.fromisoformat(request_b1["dispatched_at"])
    [nobody] = [s for s in suspected if s["vehicle_id"] == a0]
    assert nobody["request"] is None

    # Unit A sees its own vehicles only, not B's b0 that served A's request; unit B sees b0's detour but not the
    # details of A's request.
    mine_a = await get(client, "/reports/matching", user_a, period)
    assert {v["vehicle_id"] for v in mine_a["vehicles"]} == {a0, a1}
    assert [u["organisation_id"] for u in mine_a["units"]] == [units.a.organisation]
    assert mine_a["total"]["km"] == 20.0
    other = await get(client, "/reports/matching", user_a, period, organisation_id=units.b.organisation)
    assert other["vehicles"] == []
    assert other["total"]["km"] == 0.0
    assert {s["vehicle_id"] for s in (await get(client, "/reports/suspicions", user_a, period))["suspicions"]} == {a0}
    seen_b = (await get(client, "/reports/suspicions", user_b, period))["suspicions"]
    assert {s["vehicle_id"] for s in seen_b} == {b0, b1}
    assert all(s["request"] is None and s["request_hidden"] for s in seen_b if s["vehicle_id"] == b0)
    csv_a = await client.get(
        "/exports/matching.csv", params={**period, "view": "suspicions", "header": "key"}, headers=user_a.headers
    )
    assert csv_a.status_code == 200, csv_a.text
    assert {row["vehicle_id"] for row in csv.DictReader(io.StringIO(csv_body(csv_a.text)))} == {a0}

    # The files carry the API's figures.
    units_csv = await client.get(
        "/exports/matching.csv", params={**period, "view": "units", "header": "key"}, headers=dispatcher.headers
    )
    assert units_csv.status_code == 200, units_csv.text
    by_unit = {r["organisation_id"]: r for r in csv.DictReader(io.StringIO(csv_body(units_csv.text)))}
    assert float(by_unit[units.b.organisation]["undispatched_km"]) == 8.0
    assert float(by_unit[units.b.organisation]["dispatched_km"]) == 21.0
    book = await client.get("/exports/matching.xlsx", params=period, headers=dispatcher.headers)
    assert book.status_code == 200, book.text
    sheets = openpyxl.load_workbook(io.BytesIO(book.content)).sheetnames
    assert sheets[:3] == ["公务与非调度里程", "车辆行程匹配", "疑似公车私用"]

    # Supervisors' reads are recorded.
    await get(client, "/reports/suspicions", auditor, period)
    recorded = audit_rows(url, "user_id = %s", (auditor.id,))
    assert [r["endpoint"] for r in recorded if r["endpoint"] == "/reports/suspicions"] == ["/reports/suspicions"]


async def test_a_trip_begun_before_its_dispatch_is_split_at_the_dispatch(
    api_settings: Settings, units: Units, client: httpx.AsyncClient, as_user: AsUser
) -> None:
    url, root, port = api_settings.database_url, api_settings.topic_root, api_settings.mqtt_port
    vehicle = units.a.vehicles[0]
    dispatcher = await person(client, as_user, "dispatcher")
    requester = await person(client, as_user, "unit_user", units.a.organisation)
    driver = await add_driver(client, dispatcher, units.a.organisation)
    # 10 km at 60 km/h, set off four minutes ago: what was driven so far is sent before the dispatch, the rest after.
    drive = moved(
        Day(5_000.0).park(600).drive(10_000, 60).idle(60).park(300).fixes, datetime.now(UTC) - timedelta(minutes=14)
    )
    now = datetime.now(UTC)
    async with collecting(api_settings):
        await publish(port, position_messages(root, vehicle, [f for f in drive if f.time <= now]))
        request = await dispatched(client, requester, dispatcher, units.a.organisation, vehicle=vehicle, driver=driver)
        await publish(port, position_messages(root, vehicle, [f for f in drive if f.time > now]))
        stored = await wait_for_count(
            url, "SELECT count(*) FROM position WHERE vehicle_id = %s", (vehicle,), len(drive)
        )
    assert stored == len(drive)
    async with open_pool(url, max_size=2, configure=ingest.prepare_connection) as pool:
        await settle_mileage(pool, Basis.of(api_settings), [vehicle])

    today = datetime.now(api_settings.zone).date()
    period = {"start": (today - timedelta(days=1)).isoformat(), "end": (today + timedelta(days=2)).isoformat()}
    [row] = [
        v
        for v in (await get(client, "/reports/matching", dispatcher, period))["vehicles"]
        if v["vehicle_id"] == vehicle
    ]
    dispatched_at = datetime.fromisoformat(request["dispatched_at"])
    driven_before = (dispatched_at - drive[0].time).total_seconds() / 60 - 10  # minutes on the move before it
    assert row["km"] == 10.0
    assert row["undispatched_km"] == pytest.approx(driven_before, abs=0.05)  # 1 km a minute
    assert row["dispatched_km"] + row["undispatched_km"] == pytest.approx(10.0, abs=0.002)
    [before] = (await get(client, "/reports/suspicions", requester, period))["suspicions"]
    assert before["kind"] == "undispatched"
    assert datetime.fromisoformat(before["end"]) == dispatched_at


async def test_a_matching_report_is_at_most_31_days(client: httpx.AsyncClient, as_user: AsUser) -> None:
    headers = await as_user("dispatcher")
    response = await client.get(
        "/reports/matching", params={"start": "2026-01-01", "end": "2026-03-01"}, headers=headers
    )
    assert response.status_code == 422
