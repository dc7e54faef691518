"""A client that comes back to the live map asks only for what changed: every answer carries a cursor, and GET
/positions/live or the stream given `since=<cursor>` sends the vehicles changed since and the ids of those that left,
or the whole map, saying why, when the cursor cannot be honoured. Through the real API, collector and database."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import psycopg
import pytest
from fastapi import FastAPI
from websockets.asyncio.client import ClientConnection, connect

from api.live.feed import LiveFeed
from api.live.follower import Live
from api.live.subscriptions import Filter
from db.live import LiveVehicle
from domain.position import Position
from domain.topics import topic
from tests.support.api import AsUser
from tests.support.broker import publish
from tests.support.fleet import place
from tests.support.registry import register_devices
from tests.support.stack import settings_for
from tests.support.waiting import eventually
from yiwang.settings import Settings
from yiwang.stack import Stack

VEHICLES = 6


@pytest.fixture
def api_settings(stack: Stack, tag: str) -> Settings:
    """The API at a quick pace; a cursor is honoured for 3 s."""
    return settings_for(
        stack,
        tag,
        api_token_secret=secrets.token_urlsafe(48),
        live_batch_ms=50,
        live_refresh_seconds=0.2,
        live_resume_seconds=3,
    )


@pytest.fixture
def settings(api_settings: Settings) -> Settings:
    """The collector of these tests (tests/conftest.py's `collector`) runs with the API's settings."""
    return api_settings


@pytest.fixture
async def fleet(app: FastAPI, api_settings: Settings, tag: str) -> tuple[str, list[str]]:
    """A unit of this test with its vehicles on the map: its id, and theirs."""
    devices = await register_devices(api_settings.database_url, f"{tag}r", meters=0, vehicles=VEHICLES)
    for vehicle in devices.vehicles:
        place(api_settings.database_url, vehicle, 29.27, 117.18, timedelta(seconds=20))
    live: Live = app.state.resources.live
    await eventually(lambda: all(v in live.feed._map for v in devices.vehicles), 10)
    return devices.organisation, devices.vehicles


def _fix(settings: Settings, vehicle_id: str, lon: float) -> tuple[str, bytes]:
    body = {"time": int(datetime.now(UTC).timestamp() * 1000), "latitude": 29.28, "longitude": lon, "speed": 30.0}
    return topic(settings.topic_root, "vehicle", vehicle_id, "position"), orjson.dumps(body)


@asynccontextmanager
async def opened(port: int, token: str, **params: str) -> AsyncIterator[ClientConnection]:
    query = str(httpx.QueryParams(params))
    async with connect(f"ws://127.0.0.1:{port}/positions/stream?{query}", compression=None) as ws:
        await ws.send(orjson.dumps({"type": "auth", "token": token}).decode())
        yield ws


async def receive(ws: ClientConnection) -> dict[str, Any]:
    async with asyncio.timeout(3):
        message: dict[str, Any] = orjson.loads(await ws.recv())
    return message


async def seen(ws: ClientConnection, vehicles: set[str]) -> str:
    """Read changes until all these vehicles came: the cursor of the last message."""
    waiting = set(vehicles)
    while waiting:
        message = await receive(ws)
        waiting -= {feature["id"] for feature in message["features"]}
    return str(message["cursor"])


@pytest.mark.usefixtures("collector")  # the map shows what the collector committed
async def test_a_client_reconnecting_with_its_cursor_gets_the_vehicles_that_changed_not_the_whole_map(
    port: int, fleet: tuple[str, list[str]], as_user: AsUser, api_settings: Settings
) -> None:
    organisation, vehicles = fleet
    token = (await as_user("dispatcher"))["Authorization"].removeprefix("Bearer ")
    async with opened(port, token, organisation_id=organisation) as witness:
        async with opened(port, token, organisation_id=organisation) as first:
            snapshot = await receive(first)
            assert (snapshot["whole"], len(snapshot["features"])) == (True, VEHICLES)
        await receive(witness)
        # Gone: two vehicles move meanwhile (the witness, still connected, sees them go by).
        moving = set(vehicles[:2])
        await publish(api_settings.mqtt_port, [_fix(api_settings, v, 117.3) for v in sorted(moving)])
        latest = await seen(witness, moving)
        async with opened(port, token, organisation_id=organisation, since=snapshot["cursor"]) as again:
            resumed = await receive(again)
    assert resumed["type"] == "FeatureCollection"
    assert (resumed["whole"], resumed["reason"], resumed["removed"]) == (False, None, [])
    assert {f["id"] for f in resumed["features"]} == moving
    assert {f["geometry"]["coordinates"][0] for f in resumed["features"]} == {117.3}
    # As far as the witness, still connected, has come (the map may have turned since, for other vehicles).
    assert int(resumed["cursor"].split(".")[1]) >= int(latest.split(".")[1])


@pytest.mark.usefixtures("collector")  # the map shows what the collector committed
async def test_get_since_a_cursor_sends_the_changes_and_the_vehicles_that_left_the_filter(
    client: httpx.AsyncClient, fleet: tuple[str, list[str]], as_user: AsUser, api_settings: Settings
) -> None:
    organisation, vehicles = fleet
    headers = await as_user("dispatcher")
    available = {"organisation_id": organisation, "state": "available"}
    first = (await client.get("/positions/live", headers=headers, params=available)).json()
    assert (first["whole"], len(first["features"])) == (True, VEHICLES)
    nothing = await client.get("/positions/live", headers=headers, params={**available, "since": first["cursor"]})
    assert (nothing.json()["whole"], nothing.json()["features"], nothing.json()["removed"]) == (False, [], [])

    # One moves; one goes to the workshop (it leaves the filter of available vehicles).
    mover, workshop = vehicles[0], vehicles[1]
    await publish(api_settings.mqtt_port, [_fix(api_settings, mover, 117.4)])
    with psycopg.connect(api_settings.database_url) as conn:
        conn.execute("UPDATE vehicle SET lifecycle = 'maintenance' WHERE id = %s", (workshop,))

    async def since_first() -> dict[str, Any]:
        response = await client.get("/positions/live", headers=headers, params={**available, "since": first["cursor"]})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    # Each answer holds what was stored before it was asked: ask until both the fix and the workshop are in.
    answer = await since_first()
    async with asyncio.timeout(10):
        while {f["id"] for f in answer["features"]} != {mover} or answer["removed"] != [workshop]:
            await asyncio.sleep(0.05)  # between two looks, as `eventually` waits
            answer = await since_first()
    assert {f["id"] for f in answer["features"]} == {mover}, answer
    assert answer["removed"] == [workshop]
    assert answer["whole"] is False
    assert answer["features"][0]["geometry"]["coordinates"] == [117.4, 29.28]


@pytest.mark.usefixtures("collector")  # the map shows what the collector committed
async def test_a_stale_cursor_gets_the_whole_map_saying_why_and_a_bad_one_is_a_422(
    app: FastAPI, client: httpx.AsyncClient, fleet: tuple[str, list[str]], as_user: AsUser, api_settings: Settings
) -> None:
    organisation, vehicles = fleet
    headers = await as_user("dispatcher")
    mine = {"organisation_id": organisation}
    first = (await client.get("/positions/live", headers=headers, params=mine)).json()
    epoch, version, digest = first["cursor"].split(".")

    async def since(cursor: str, **params: str) -> dict[str, Any]:
        response = await client.get("/positions/live", headers=headers, params={**mine, **params, "since": cursor})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    # Of another process (or of this one before a restart), or of other filters: the whole map, and why.
    restarted = await since(f"{'0' * len(epoch)}.{version}.{digest}")
    assert (restarted["whole"], len(restarted["features"])) == (True, VEHICLES)
    assert "another API process" in restarted["reason"]
    other_filter = await since(first["cursor"], state="available")
    assert other_filter["whole"] is True
    assert "other filters" in other_filter["reason"]

    # Older than live_resume_seconds (3 s here): the map has moved on since and forgotten that far back.
    live: Live = app.state.resources.live
    await publish(api_settings.mqtt_port, [_fix(api_settings, vehicles[0], 117.2)])  # a turn of the map
    await eventually(lambda: live.feed.history.floor > int(version), 15)
    stale = await since(first["cursor"])
    assert (stale["whole"], len(stale["features"])) == (True, VEHICLES)
    assert "older than 3 s" in stale["reason"]
    assert stale["cursor"] != first["cursor"]

    for bad in ("yesterday", "a.b.c", "1.2"):
        response = await client.get("/positions/live", headers=headers, params={**mine, "since": bad})
        assert response.status_code == 422, bad
        assert "cursor" in response.json()["detail"]


def _vehicle(vehicle_id: str, organisation: str, time: datetime) -> LiveVehicle:
    fix = Position(vehicle_id, time, time, 29.3, 117.0, 0.0, 0.0, False)
    return LiveVehicle(vehicle_id, organisation, f"P-{vehicle_id}", "active", None, None, None, fix)


def test_a_unit_hears_of_its_own_vehicles_that_left_never_of_another_units() -> None:
    """What a client of one unit is sent since its cursor: its vehicles that moved, those that left the map or the
    unit, and nothing of the vehicles that were never its own (not even their ids)."""
    start = datetime.now(UTC)
    feed = LiveFeed(offline_after=600)
    feed.load([_vehicle(f"a{i}", "A", start) for i in range(4)] + [_vehicle(f"b{i}", "B", start) for i in range(2)])
    feed.tick(start)
    mine = Filter(organisations=frozenset({"A"}))
    cursor = orjson.loads(feed.snapshot(mine, start))["cursor"]
    later = start + timedelta(seconds=1)
    feed.take([Position(v, later, later, 29.4, 117.1, 5.0, 0.0, True) for v in ("a0", "b0", "b1")])
    feed.load([_vehicle("a1", "B", later), _vehicle("b0", "B", later)], only={"a1", "a2", "b0"})  # a2 retired
    feed.tick(later)
    answer = orjson.loads(feed.snapshot(mine, later, cursor))
    assert answer["whole"] is False
    assert [f["id"] for f in answer["features"]] == ["a0"]
    assert sorted(answer["removed"]) == ["a1", "a2"]  # moved to B, retired; nothing of B's
    # And B's users hear of a1 joining them, and of their own moves, and nothing of A's.
    theirs = Filter(organisations=frozenset({"B"}))
    assert orjson.loads(feed.snapshot(theirs, later, cursor))["reason"] is not None  # a cursor of A's filter
    earlier = orjson.loads(feed.snapshot(theirs, later))["cursor"].replace(f".{feed.history.version}.", ".1.")
    answer = orjson.loads(feed.snapshot(theirs, later, earlier))
    assert sorted(f["id"] for f in answer["features"]) == ["a1", "b0", "b1"]
    assert answer["removed"] == []
