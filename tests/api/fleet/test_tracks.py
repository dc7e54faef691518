"""A vehicle's track and trips through the API: spikes dropped and counted, two drives found, other units refused."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import httpx
import pytest

from db import ingest
from db.pool import open_pool
from domain.geo import EARTH_RADIUS_M
from domain.position import Position
from tests.support.api import AsUser, Units
from tests.support.tracks import SHANGHAI
from yiwang.settings import Settings

DAY = datetime(2026, 3, 2, tzinfo=SHANGHAI)
LAT, LON = 29.3, 117.2
# 100 m east along the parallel, in degrees of longitude (the sphere the track rules measure on)
STEP = 100 / (EARTH_RADIUS_M * math.pi / 180 * math.cos(math.radians(LAT)))


def fix(vehicle: str, at: datetime, east: int, *, speed: float, ignition: bool, north: float = 0.0) -> Position:
    odometer = 1000.0 + east / 10  # km: 0.1 per 100 m step
    return Position(
        vehicle, at, at, LAT + north, LON + east * STEP, speed, 90.0, ignition, odometer=odometer, satellites=10
    )


def day_of_driving(vehicle: str) -> list[Position]:
    """08:00-08:20 east 12 km at 36 km/h with two GPS spikes 11 km north, parked with the engine off until
    12:00, then 6 km more by 12:10, parked again."""
    rows: list[Position] = []
    t = DAY + timedelta(hours=8)
    for i in range(121):
        north = 0.1 if i in (50, 51) else 0.0
        rows.append(fix(vehicle, t + timedelta(seconds=10 * i), i, speed=36.0, ignition=True, north=north))
    parked = t + timedelta(minutes=25)
    while parked < DAY + timedelta(hours=12):
        rows.append(fix(vehicle, parked, 120, speed=0.0, ignition=False))
        parked += timedelta(minutes=5)
    t = DAY + timedelta(hours=12, seconds=5)
    rows.extend(fix(vehicle, t + timedelta(seconds=10 * i), 120 + i, speed=36.0, ignition=True) for i in range(61))
    rows.append(fix(vehicle, DAY + timedelta(hours=12, minutes=15), 180, speed=0.0, ignition=False))
    return rows


@pytest.fixture
async def driven(api_settings: Settings, units: Units) -> str:
    vehicle = units.a.vehicles[0]
    async with (
        open_pool(api_settings.database_url, max_size=1, configure=ingest.prepare_connection) as pool,
        pool.connection() as conn,
        conn.transaction(),
    ):
        await ingest.insert_positions(conn, day_of_driving(vehicle))
    return vehicle


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


RANGE = {"start": DAY.isoformat(), "end": (DAY + timedelta(days=1)).isoformat()}


async def test_a_track_comes_back_without_its_spikes_and_with_its_stops(
    client: httpx.AsyncClient, as_user: AsUser, units: Units, driven: str
) -> None:
    unit = await as_user("unit_user", units.a.organisation)
    response = await client.get(f"/vehicles/{driven}/track", params=RANGE, headers=unit)
    assert response.status_code == 200, response.text
    line, *stops = response.json()["features"]
    properties = line["properties"]
    assert properties["dropped"] == {"speed_jump": 2}
    assert properties["kept"] == properties["fixes"] - 2
    assert max(lat for _, lat in line["geometry"]["coordinates"]) == pytest.approx(LAT)
    assert len(properties["times"]) == len(line["geometry"]["coordinates"])
    assert properties["distance_km"] == pytest.approx(18.0, abs=0.01)
    # The parked hours between the drives, and the end of the day's data
    assert [at(s["properties"]["start"]) for s in stops][:1] == [DAY + timedelta(hours=8, minutes=20)]
    simplified = await client.get(f"/vehicles/{driven}/track", params={**RANGE, "simplify_m": 5}, headers=unit)
    # A straight street simplifies to its corners: a handful of points, stops kept
    assert len(simplified.json()["features"][0]["geometry"]["coordinates"]) < 10


async def test_a_day_of_driving_gives_its_trips_and_kilometres(
    client: httpx.AsyncClient, as_user: AsUser, units: Units, driven: str
) -> None:
    dispatcher = await as_user("dispatcher")
    response = await client.get(f"/vehicles/{driven}/trips", params=RANGE, headers=dispatcher)
    assert response.status_code == 200, response.text
    body = response.json()
    assert [(at(t["start_time"]), t["distance_source"]) for t in body["trips"]] == [
        (DAY + timedelta(hours=8), "odometer"),
        (DAY + timedelta(hours=12, seconds=5), "odometer"),
    ]
    assert [t["distance_km"] for t in body["trips"]] == pytest.approx([12.0, 6.0], abs=0.001)
    assert body["distance_km"] == pytest.approx(18.0, abs=0.001)


async def test_another_units_vehicle_has_no_track(
    client: httpx.AsyncClient, as_user: AsUser, units: Units, driven: str
) -> None:
    other = await as_user("unit_user", units.b.organisation)
    for path in ("track", "trips"):
        response = await client.get(f"/vehicles/{driven}/{path}", params=RANGE, headers=other)
        assert response.status_code == 404


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"start": "2026-03-02T00:00:00+08:00", "end": "2026-03-01T00:00:00+08:00"}, "end must be after start"),
        ({"start": "2026-01-01T00:00:00+08:00", "end": "2026-03-01T00:00:00+08:00"}, "at most 31 days"),
        ({"start": "2026-03-02T00:00:00", "end": "2026-03-03T00:00:00+08:00"}, "timezone"),
    ],
)
async def test_a_bad_range_is_a_422_that_says_why(
    client: httpx.AsyncClient, as_user: AsUser, units: Units, params: dict[str, str], message: str
) -> None:
    dispatcher = await as_user("dispatcher")
    response = await client.get(f"/vehicles/{units.a.vehicles[0]}/track", params=params, headers=dispatcher)
    assert response.status_code == 422
    assert message in response.text
