"""Terminals that report only time and coordinates, or speed 0 at every fix, through the broker, the collector and
the API: their trips and kilometres come from the motion between fixes, and say so.

The reported case: a week of real taxi GPS with time and coordinates only could not be stored without making up
speed, heading, odometer and ignition; a terminal reporting speed 0 showed 441 km of track and 0 km of trips.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import httpx
import orjson
import pytest

from db import ingest
from db.pool import open_pool
from domain.position import Position
from domain.topics import topic
from tests.support.api import AsUser, Units
from tests.support.broker import publish
from tests.support.files import csv_body
from tests.support.messages import Message
from tests.support.rollups import settle_mileage
from tests.support.tracks import MONDAY, SHANGHAI, T0, Day
from tests.support.waiting import wait_for_count
from worker.mileage import Basis
from yiwang.settings import Settings

ALL_DERIVED = ["speed", "ignition", "odometer"]
DAY = {"start": MONDAY.isoformat(), "end": (MONDAY + timedelta(days=1)).isoformat()}
RANGE = {"start": T0.isoformat(), "end": (T0 + timedelta(days=1)).isoformat()}


@pytest.fixture
def settings(api_settings: Settings) -> Settings:
    """The collector of these tests (tests/conftest.py's `collector`) runs with the API's settings."""
    return api_settings


def coordinates_only() -> list[Position]:
    """Parked, 12 km out at 36 km/h, two hours there, 4.5 km on at 54 km/h, parked (08:00-11:xx in Beijing)."""
    day = Day().park(3600).idle(60).drive(12_000, 36).idle(60).park(2 * 3600).idle(30).drive(4_500, 54).idle(30)
    return day.park(3600).fixes


def speed_0_drive() -> list[Position]:
    """Parked, 25 km at 40 km/h, parked: what the terminal reports is speed 0 throughout."""
    return Day().park(3600).idle(60).drive(25_000, 40).idle(60).park(3600).fixes


def messages(root: str, vehicle: str, fixes: Sequence[Position], **extra: object) -> list[Message]:
    """The fixes as a source without speed, heading, odometer or ignition publishes them, 100 to a message."""
    items = [{"time": f.time.isoformat(), "latitude": f.latitude, "longitude": f.longitude, **extra} for f in fixes]
    t = topic(root, "vehicle", vehicle, "position")
    return [(t, orjson.dumps(items[i : i + 100])) for i in range(0, len(items), 100)]


async def get(client: httpx.AsyncClient, path: str, headers: dict[str, str], params: dict[str, str]) -> Any:
    response = await client.get(path, params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.usefixtures("collector")
async def test_time_and_coordinates_only_give_trips_and_kilometres_marked_derived(
    api_settings: Settings, units: Units, client: httpx.AsyncClient, as_user: AsUser
) -> None:
    root, url = api_settings.topic_root, api_settings.database_url
    taxi, zeroed = units.a.vehicles[:2]
    plain, still = coordinates_only(), speed_0_drive()
    await publish(api_settings.mqtt_port, messages(root, taxi, plain) + messages(root, zeroed, still, speed=0))
    for vehicle, fixes in ((taxi, plain), (zeroed, still)):
        query = "SELECT count(*) FROM position WHERE vehicle_id = %s"
        assert await wait_for_count(url, query, [vehicle], len(fixes)) == len(fixes)

    dispatcher = await as_user("dispatcher")
    # The live map shows what was reported, and nothing made up: no speed, heading or ignition is null.
    live = {f["id"]: f["properties"] for f in (await get(client, "/positions/live", dispatcher, {}))["features"]}
    assert [live[taxi][k] for k in ("speed", "heading", "ignition")] == [None, None, None]
    assert [live[zeroed][k] for k in ("speed", "heading", "ignition")] == [0, None, None]
    # Trips: the two drives of the coordinates, the whole of each, from motion.
    body = await get(client, f"/vehicles/{taxi}/trips", dispatcher, RANGE)
    assert [t["distance_km"] for t in body["trips"]] == pytest.approx([12.0, 4.5], abs=0.001)
    assert [(t["distance_source"], t["derived"]) for t in body["trips"]] == [("track", ALL_DERIVED)] * 2
    assert [t["max_speed"] for t in body["trips"]] == pytest.approx([36, 54])
    # A standstill reported throughout while the fixes drive 25 km: a trip of 25 km, its speed from motion.
    body = await get(client, f"/vehicles/{zeroed}/trips", dispatcher, RANGE)
    assert [(t["distance_km"], t["derived"]) for t in body["trips"]] == [(pytest.approx(25.0, abs=0.001), ALL_DERIVED)]
    # The track shows the speeds as reported: none for the first, 0 for the second.
    line = (await get(client, f"/vehicles/{taxi}/track", dispatcher, RANGE))["features"][0]["properties"]
    assert line["distance_km"] == pytest.approx(16.5, abs=0.001)
    assert set(line["speeds"]) == {None}

    # Mileage: the roll-up of the same trips, per vehicle and day, in the API and the CSV export.
    async with open_pool(url, max_size=2, configure=ingest.prepare_connection) as pool:
        await settle_mileage(pool, Basis.of(api_settings), [taxi, zeroed])
    rows = {v["vehicle_id"]: v for v in (await get(client, "/reports/vehicles", dispatcher, DAY))["vehicles"]}
    assert T0.astimezone(SHANGHAI).date() == MONDAY
    assert {v: (rows[v]["km"], rows[v]["odometer_km"], rows[v]["trips"]) for v in (taxi, zeroed)} == {
        taxi: (pytest.approx(16.5, abs=0.001), 0, 2),
        zeroed: (pytest.approx(25.0, abs=0.001), 0, 1),
    }
    assert rows[taxi]["derived"] == rows[zeroed]["derived"] == ALL_DERIVED
    export = await client.get("/exports/dispatch.csv", params={**DAY, "view": "vehicles"}, headers=dispatcher)
    assert export.status_code == 200, export.text
    table = {r["vehicle_id"]: r for r in csv.DictReader(io.StringIO(csv_body(export.text)))}
    assert table[taxi]["derived"] == table[zeroed]["derived"] == "车速、点火、里程表"
    assert float(table[taxi]["km"]) == pytest.approx(16.5, abs=0.1)
