"""Reports that judge every fix or build a city's rows cannot hold the API: the geofence and matching reports, and
the dispatch report's vehicle rows, work off the event loop
(another request is answered while they judge: the test holds the judging until that answer came, so the order is
certain, not a race between a fast machine and a slow one), and a geofence or matching report over more vehicle-days
than YIWANG_REPORT_MAX_VEHICLE_DAYS is refused with a 422 that says how to narrow it."""

from __future__ import annotations

import asyncio
import secrets
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from types import ModuleType
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from api.fleet import matching, reports
from api.supervision import geofences
from db import ingest
from db.pool import open_pool
from domain.geo import EARTH_RADIUS_M
from domain.position import Position
from tests.support.api import AsUser, Units
from tests.support.rollups import settle_mileage
from tests.support.stack import settings_for
from tests.support.waiting import eventually
from worker.mileage import Basis
from yiwang.settings import Settings
from yiwang.stack import Stack

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = datetime(2025, 6, 17, tzinfo=SHANGHAI)  # a Tuesday no other test's positions use
LAT, LON = 29.4005, 117.35
AREAS = 10
FIXES = 20_000  # a fix a second for five and a half hours, through every area: seconds of judging
LIMIT = 3  # vehicle-days: a unit's two vehicles for one day, not for two


@pytest.fixture
def api_settings(stack: Stack, tag: str) -> Settings:
    return settings_for(stack, tag, api_token_secret=secrets.token_urlsafe(48), report_max_vehicle_days=LIMIT)


def north(metres: float) -> float:
    return LAT + metres / (EARTH_RADIUS_M * 3.141592653589793 / 180)


async def store(settings: Settings, fixes: list[Position]) -> None:
    async with (
        open_pool(settings.database_url, max_size=1, configure=ingest.prepare_connection) as pool,
        pool.connection() as conn,
        conn.transaction(),
    ):
        await ingest.insert_positions(conn, fixes)


HELD_SECONDS = 60.0  # a judging run on the event loop holds it this long, then the test fails on the order


class Gate:
    """Holds the real judging function at its start until the test opens the gate. Judged on a worker thread, the
    held call blocks only that thread; judged on the event loop, it would block every request with it."""

    def __init__(self, judge: Callable[..., Any]) -> None:
        self.judge = judge
        self.entered = threading.Event()
        self.opened = threading.Event()
        self.waited_out = False  # the gate let the call through after HELD_SECONDS, not the test

    def __call__(self, *args: Any) -> Any:
        self.entered.set()
        self.waited_out = not self.opened.wait(HELD_SECONDS)
        return self.judge(*args)


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[ModuleType, str], Gate]]:
    made: list[Gate] = []

    def hold(module: ModuleType, name: str) -> Gate:
        made.append(Gate(getattr(module, name)))
        monkeypatch.setattr(module, name, made[-1])
        return made[-1]

    yield hold
    for g in made:
        g.opened.set()  # a failed test leaves no thread waiting


async def answered_while_judging(client: httpx.AsyncClient, report: asyncio.Task[httpx.Response], held: Gate) -> None:
    """The report is judging (or, on a held loop, done): a small request is answered before it is done."""
    await eventually(lambda: report.done() or held.entered.is_set(), seconds=HELD_SECONDS * 2)
    small = await client.get("/health")
    assert small.status_code == 200
    # Judged on the loop, the held call waits out the gate before anything else is answered (and a report with more
    # to await after its judging is not even done by then).
    assert not held.waited_out, "the small request was answered only after the judging: it held the event loop"
    held.opened.set()


async def test_a_large_geofence_report_leaves_the_api_serving(
    client: httpx.AsyncClient, as_user: AsUser, units: Units, api_settings: Settings, gate: Callable[..., Gate]
) -> None:
    staff = await as_user("dispatcher")
    unit = units.a.organisation
    for i in range(AREAS):
        made = await client.post(
            "/areas",
            json={"name": f"路口{i}", "kind": "forbidden", "organisation_id": unit, "radius_m": 300,
                  "geometry": {"type": "Point", "coordinates": [LON, north(i * 1000)]}},
            headers=staff,
        )  # fmt: skip
        assert made.status_code == 201, made.text
    # Up and down the street through every area, 5 m a second.
    vehicle = units.a.vehicles[0]
    start = DAY + timedelta(hours=8)
    fixes = []
    for s in range(FIXES):
        metres = (s * 5) % 20_000
        at = start + timedelta(seconds=s)
        fixes.append(Position(vehicle, at, at, north(min(metres, 20_000 - metres)), LON, 18.0, 0.0, True))
    await store(api_settings, fixes)

    params = {"start": "2025-06-17", "end": "2025-06-18", "organisation_id": unit}
    held = gate(geofences, "_visits")
    report = asyncio.create_task(client.get("/reports/geofences", params=params, headers=staff))
    await answered_while_judging(client, report, held)

    answer = await report
    assert answer.status_code == 200, answer.text
    rows = [r for r in answer.json()["rows"] if r["vehicle_id"] == vehicle]
    assert len(rows) == AREAS
    assert all(r["entries"] > 0 for r in rows)


async def test_a_large_matching_report_leaves_the_api_serving(
    client: httpx.AsyncClient, as_user: AsUser, units: Units, api_settings: Settings, gate: Callable[..., Gate]
) -> None:
    staff = await as_user("dispatcher")
    # One drive of eleven hours north at 36 km/h, a fix a second, with no request: one long undispatched trip.
    vehicle = units.a.vehicles[1]
    start = DAY + timedelta(hours=7)
    fixes = []
    for s in range(2 * FIXES):
        at = start + timedelta(seconds=s)
        fixes.append(Position(vehicle, at, at, north(s * 10.0), LON, 36.0, 0.0, True))
    await store(api_settings, fixes)
    async with open_pool(api_settings.database_url, max_size=2, configure=ingest.prepare_connection) as pool:
        await settle_mileage(pool, Basis.of(api_settings), [vehicle])

    params = {"start": "2025-06-17", "end": "2025-06-18", "organisation_id": units.a.organisation}
    held = gate(matching, "_match")
    report = asyncio.create_task(client.get("/reports/matching", params=params, headers=staff))
    await answered_while_judging(client, report, held)

    answer = await report
    assert answer.status_code == 200, answer.text
    [row] = [v for v in answer.json()["vehicles"] if v["vehicle_id"] == vehicle]
    assert row["undispatched_trips"] == 1
    assert row["undispatched_km"] == row["km"] > 300


async def test_a_dispatch_report_builds_its_vehicle_rows_off_the_event_loop(
    client: httpx.AsyncClient, as_user: AsUser, units: Units, gate: Callable[..., Gate]
) -> None:
    """bench/soak: a city's dispatch report (20,000 vehicle rows) held the loop for most of a second each time."""
    staff = await as_user("dispatcher")
    held = gate(reports, "_vehicle_rows")
    params = {"start": "2025-06-17", "end": "2025-06-18"}
    report = asyncio.create_task(client.get("/reports/dispatch", params=params, headers=staff))
    await answered_while_judging(client, report, held)

    answer = await report
    assert answer.status_code == 200, answer.text
    assert {units.a.organisation, units.b.organisation} <= {u["organisation_id"] for u in answer.json()["units"]}


async def test_a_report_over_too_many_vehicle_days_is_refused(
    client: httpx.AsyncClient, as_user: AsUser, units: Units
) -> None:
    staff = await as_user("dispatcher")
    unit = units.a.organisation  # two vehicles, judged against the unit's area
    made = await client.post(
        "/areas",
        json={"name": "学校", "kind": "forbidden", "organisation_id": unit, "radius_m": 300,
              "geometry": {"type": "Point", "coordinates": [LON, LAT]}},
        headers=staff,
    )  # fmt: skip
    assert made.status_code == 201, made.text
    one_day = {"start": "2025-06-17", "end": "2025-06-18", "organisation_id": unit}
    two_days = {**one_day, "end": "2025-06-19"}
    for path in ("/reports/geofences", "/reports/matching", "/reports/suspicions"):
        assert (await client.get(path, params=one_day, headers=staff)).status_code == 200, path
        refused = await client.get(path, params=two_days, headers=staff)
        assert refused.status_code == 422, path
        detail = refused.json()["detail"]
        assert "4 vehicle-days" in detail, detail
        assert "YIWANG_REPORT_MAX_VEHICLE_DAYS" in detail, detail
        assert "organisation_id" in detail, detail
    exported = await client.get("/exports/matching.xlsx", params=two_days, headers=staff)
    assert exported.status_code == 422
