"""The live map as a stream: a snapshot as GET /positions/live gives it, then the changes the collector commits,
filtered by unit, box and state; newest fix wins; bad tokens are refused; a slow client costs only memory
bounded by the vehicles it may see."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, cast, get_args

import httpx
import numpy as np
import orjson
import psycopg
import pytest
from fastapi import FastAPI
from hypothesis import given
from hypothesis import strategies as st
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from api.live import stream
from api.live.encoding import age, ages, ascii_json
from api.live.feed import LiveFeed
from api.live.follower import Live
from api.live.subscriptions import Batch, Filter, Key, Subscription
from api.supervision.alerts import AlertPublic
from db.ingest import prepare_connection, update_live
from db.live import LiveVehicle, first_mark, vehicles
from db.scope import Scope
from domain.position import Position
from domain.topics import topic
from domain.vehicles import LiveState
from tests.support.api import AsUser, Units, audit_rows, bearer, login
from tests.support.broker import publish
from tests.support.fleet import place
from tests.support.stack import settings_for
from tests.support.waiting import eventually, wait_for_count
from yiwang.settings import Settings
from yiwang.stack import Stack

SECOND = 1.0


@pytest.fixture
def api_settings(stack: Stack, tag: str) -> Settings:
    """The API at a quick pace."""
    return settings_for(stack, tag, api_token_secret="s" * 48, live_batch_ms=50, live_refresh_seconds=0.2)


@pytest.fixture
def settings(api_settings: Settings) -> Settings:
    """The collector of these tests (tests/conftest.py's `collector`) runs with the API's settings."""
    return api_settings


def token_of(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


@asynccontextmanager
async def opened(port: int, token: str, **params: str | list[str]) -> AsyncIterator[ClientConnection]:
    query = str(httpx.QueryParams(params))
    async with connect(f"ws://127.0.0.1:{port}/positions/stream?{query}", compression=None) as ws:
        await ws.send(orjson.dumps({"type": "auth", "token": token}).decode())
        yield ws


async def receive(ws: ClientConnection, seconds: float = SECOND) -> dict[str, Any]:
    async with asyncio.timeout(seconds):
        message: dict[str, Any] = orjson.loads(await ws.recv())
    return message


async def changes_until(
    ws: ClientConnection, done: Callable[[dict[str, Any]], bool], seconds: float = 3.0
) -> dict[str, Any]:
    """Changes merged as a client applies them (newest per vehicle; removals), until `done` holds of them."""
    merged: dict[str, Any] = {"features": {}, "removed": set()}
    async with asyncio.timeout(seconds):
        while not done(merged):
            message = orjson.loads(await ws.recv())
            assert message["type"] == "changes"
            for feature in message["features"]:
                merged["features"][feature["id"]] = feature
                merged["removed"].discard(feature["id"])
            for vehicle_id in message["removed"]:
                merged["features"].pop(vehicle_id, None)
                merged["removed"].add(vehicle_id)
    return merged


def fix(
    vehicle_id: str, settings: Settings, lat: float, lon: float, *, at: datetime | None = None, **extra: object
) -> tuple[str, bytes]:
    body = {
        "time": int((at or datetime.now(UTC)).timestamp() * 1000),
        "latitude": lat,
        "longitude": lon,
        "speed": 31.5,
        "heading": 270,
        "odometer": 1234.5,
        "ignition": True,
        **extra,
    }
    return topic(settings.topic_root, "vehicle", vehicle_id, "position"), orjson.dumps(body)


async def on_map(app: FastAPI, *vehicles: str) -> None:
    """Wait until the feed's refresh has loaded these vehicles (placed in the database after it started)."""
    live: Live = app.state.resources.live
    await eventually(lambda: all(v in live.feed._map for v in vehicles), 10)


@pytest.mark.usefixtures("collector")  # the map shows what the collector committed
async def test_a_client_gets_the_snapshot_of_get_positions_live_then_a_change_within_a_second(  # noqa: PLR0917
    app: FastAPI,
    port: int,
    client: httpx.AsyncClient,
    units: Units,
    as_user: AsUser,
    api_settings: Settings,
) -> None:
    url, a = api_settings.database_url, units.a
    place(url, a.vehicles[0], 29.27, 117.18, timedelta(seconds=20))
    place(url, a.vehicles[1], 29.35, 117.25, timedelta(hours=2))
    await on_map(app, *a.vehicles)
    headers = await as_user("dispatcher")
    async with opened(port, token_of(headers), organisation_id=a.organisation) as ws:
        snapshot = await receive(ws)
        answer = (
            await client.get("/positions/live", headers=headers, params={"organisation_id": a.organisation})
        ).json()
        # The same features as GET /positions/live, but for the age, which moves with the clock, and the cursor,
        # which moves with the map.
        for body in (snapshot, answer):
            for feature in body["features"]:
                assert feature["properties"].pop("age_seconds") >= 0
            assert isinstance(body.pop("cursor"), str)
        assert snapshot == answer
        assert (snapshot["whole"], snapshot["removed"], snapshot["reason"]) == (True, [], None)
        assert [f["id"] for f in snapshot["features"]] == sorted(a.vehicles)

        published = asyncio.get_running_loop().time()
        await publish(api_settings.mqtt_port, [fix(a.vehicles[0], api_settings, 29.28, 117.19)])
        message = await receive(ws)
        assert asyncio.get_running_loop().time() - published < SECOND
        assert message["type"] == "changes"
        assert message["removed"] == []
        [feature] = message["features"]
        assert feature["id"] == a.vehicles[0]
        assert feature["geometry"] == {"type": "Point", "coordinates": [117.19, 29.28]}
        assert feature["properties"]["speed"] == 31.5
        assert feature["properties"]["online"] is True
        assert feature["properties"]["state"] == "available"
        assert feature["properties"]["plate"] == f"赣H·{a.organisation.removeprefix('org-')}0"


@pytest.mark.usefixtures("collector")  # the map shows what the collector committed
async def test_a_unit_user_never_receives_another_units_vehicle(
    app: FastAPI, port: int, units: Units, as_user: AsUser, api_settings: Settings
) -> None:
    url, a, b = api_settings.database_url, units.a, units.b
    for vehicle in (a.vehicles[0], b.vehicles[0]):
        place(url, vehicle, 29.27, 117.18, timedelta(seconds=30))
    await on_map(app, a.vehicles[0], b.vehicles[0])
    token = token_of(await as_user("unit_user", a.organisation))
    async with opened(port, token) as mine, opened(port, token, organisation_id=b.organisation) as asking_for_b:
        assert {f["id"] for f in (await receive(mine))["features"]} & {a.vehicles[0], b.vehicles[0]} == {a.vehicles[0]}
        assert (await receive(asking_for_b))["features"] == []
        await publish(
            api_settings.mqtt_port,
            [fix(b.vehicles[0], api_settings, 29.29, 117.2), fix(a.vehicles[0], api_settings, 29.29, 117.2)],
        )
        seen = await changes_until(mine, lambda m: a.vehicles[0] in m["features"])
        assert b.vehicles[0] not in seen["features"]
        # And the one asking for B's vehicles gets nothing at all.
        with pytest.raises(TimeoutError):
            await receive(asking_for_b, 0.5)


async def next_alerts(ws: ClientConnection, seconds: float = SECOND) -> dict[str, Any]:
    """The next alerts message (changes of vehicles may come first)."""
    async with asyncio.timeout(seconds):
        while (message := orjson.loads(await ws.recv()))["type"] != "alerts":
            pass
    return cast(dict[str, Any], message)


def raise_alert(url: str, vehicle: str, organisation: str, detail: str) -> int:
    """An alert committed and announced as the supervisor does it (collector/supervisor.py)."""
    now = datetime.now(UTC)
    with psycopg.connect(url) as conn:
        row = conn.execute(
            """INSERT INTO alert (vehicle_id, organisation_id, kind, level, time, received_at, detail)
               VALUES (%s, %s, 'speeding', 'red', %s, %s, %s) RETURNING id""",
            (vehicle, organisation, now, now, detail),
        ).fetchone()
        assert row is not None
        conn.execute("SELECT pg_notify('yiwang_alert', %s)", (orjson.dumps([row[0]]).decode(),))
    return int(row[0])


async def test_alerts_are_pushed_to_the_dispatchers_and_the_unit_concerned_as_they_are_committed(
    port: int, units: Units, as_user: AsUser, api_settings: Settings
) -> None:
    url, a, b = api_settings.database_url, units.a, units.b
    async with (
        opened(port, token_of(await as_user("dispatcher"))) as dispatcher,
        opened(port, token_of(await as_user("unit_user", a.organisation))) as unit_a,
        opened(port, token_of(await as_user("unit_user", b.organisation))) as unit_b,
    ):
        for ws in (dispatcher, unit_a, unit_b):
            assert (await receive(ws))["type"] == "FeatureCollection"
        alert_id = raise_alert(url, a.vehicles[0], a.organisation, "128 km/h where 120 is allowed")
        for ws in (dispatcher, unit_a):
            [alert] = (await next_alerts(ws))["alerts"]
            assert (alert["id"], alert["vehicle_id"], alert["kind"]) == (alert_id, a.vehicles[0], "speeding")
            assert alert["detail"] == "128 km/h where 120 is allowed"
        with pytest.raises(TimeoutError):  # B's user never hears of A's alert
            await next_alerts(unit_b, 0.5)


@pytest.mark.usefixtures("collector")  # the map shows what the collector committed
async def test_the_box_and_state_filters_hold_and_a_vehicle_leaving_them_is_removed(
    app: FastAPI, port: int, units: Units, as_user: AsUser, api_settings: Settings
) -> None:
    url, a = api_settings.database_url, units.a
    inside, silent = a.vehicles
    place(url, inside, 29.27, 117.18, timedelta(seconds=30))
    place(url, silent, 29.27, 117.18, timedelta(hours=3))
    await on_map(app, *a.vehicles)
    token = token_of(await as_user("dispatcher"))
    box = "117.1,29.2,117.2,29.3"
    async with (
        opened(port, token, organisation_id=a.organisation, bbox=box) as boxed,
        opened(port, token, organisation_id=a.organisation, state="offline") as offline,
    ):
        assert {f["id"] for f in (await receive(boxed))["features"]} == {inside, silent}
        assert [f["id"] for f in (await receive(offline))["features"]] == [silent]
        # One leaves the box; the silent one reports again: it is no longer offline.
        await publish(
            api_settings.mqtt_port,
            [fix(inside, api_settings, 29.5, 117.5), fix(silent, api_settings, 29.28, 117.19)],
        )
        seen = await changes_until(boxed, lambda m: inside in m["removed"] and silent in m["features"])
        assert seen["features"][silent]["properties"]["state"] == "available"
        seen = await changes_until(offline, lambda m: silent in m["removed"])
        assert seen["features"] == {}


@pytest.mark.usefixtures("collector")  # the map shows what the collector committed
async def test_an_older_fix_arriving_late_does_not_move_a_vehicle_back(
    app: FastAPI, port: int, units: Units, as_user: AsUser, api_settings: Settings
) -> None:
    url, a = api_settings.database_url, units.a
    moving, other = a.vehicles
    for vehicle in a.vehicles:
        place(url, vehicle, 29.27, 117.18, timedelta(minutes=5))
    await on_map(app, *a.vehicles)
    now = datetime.now(UTC)
    async with opened(port, token_of(await as_user("dispatcher")), organisation_id=a.organisation) as ws:
        await receive(ws)
        await publish(api_settings.mqtt_port, [fix(moving, api_settings, 29.30, 117.21, at=now)])
        seen = await changes_until(ws, lambda m: moving in m["features"])
        assert seen["features"][moving]["geometry"]["coordinates"] == [117.21, 29.30]
        # A blind-zone upload of the minute before, then a fix of another vehicle to see that everything arrived.
        blind = [
            {
                **orjson.loads(fix(moving, api_settings, 29.2 + i / 100, 117.1, at=now - timedelta(seconds=60 - i))[1]),
                "blind": True,
            }
            for i in range(3)
        ]
        await publish(
            api_settings.mqtt_port,
            [(topic(api_settings.topic_root, "vehicle", moving, "position"), orjson.dumps(blind))],
        )
        await publish(api_settings.mqtt_port, [fix(other, api_settings, 29.31, 117.22)])
        seen = await changes_until(ws, lambda m: other in m["features"])
        assert moving not in seen["features"]
    live: Live = app.state.resources.live
    assert (
        live.feed._map[moving].fix.longitude == 117.21
    )  # and the next database refresh (an older fix) did not move it


@pytest.mark.usefixtures("collector")  # the map shows what the collector committed
async def test_a_payload_the_collector_would_refuse_never_reaches_the_map(
    app: FastAPI, port: int, units: Units, as_user: AsUser, api_settings: Settings
) -> None:
    url, a = api_settings.database_url, units.a
    vehicle = a.vehicles[0]
    place(url, vehicle, 29.27, 117.18, timedelta(minutes=5))
    await on_map(app, vehicle)
    async with opened(port, token_of(await as_user("dispatcher")), organisation_id=a.organisation) as ws:
        await receive(ws)
        where = topic(api_settings.topic_root, "vehicle", vehicle, "position")
        await publish(
            api_settings.mqtt_port,
            [
                fix(vehicle, api_settings, 0, 0),  # no fix
                fix(vehicle, api_settings, 29.3, 117.2, at=datetime.now(UTC) + timedelta(hours=1)),  # future
                fix(vehicle, api_settings, 29.3, 117.2, speed="fast"),
                (where, b'{"time": 1, "latitude": NaN}'),
                fix(vehicle, api_settings, 29.3, 117.2, vehicle="someone-else"),
                fix("not-registered", api_settings, 29.3, 117.2),
            ],
        )
        # The collector refuses all six (dead letters); the map, which reads what it stored, shows none.
        refused = "SELECT count(*) FROM dead_letter WHERE topic LIKE %s"
        assert await wait_for_count(url, refused, (f"{api_settings.topic_root}/%",), 6) == 6
        with pytest.raises(TimeoutError):
            await receive(ws, 0.5)


async def test_bad_tokens_missing_permissions_and_bad_filters_are_refused_with_a_code_and_reason(
    port: int, as_user: AsUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def closed_with(token: str | None, **params: str) -> tuple[int | None, str | None]:
        query = str(httpx.QueryParams(params))
        async with connect(f"ws://127.0.0.1:{port}/positions/stream?{query}") as ws:
            if token is not None:
                await ws.send(orjson.dumps({"type": "auth", "token": token}).decode())
            with pytest.raises(ConnectionClosed):
                await receive(ws, 3)
            assert ws.close_code is not None
            return ws.close_code, ws.close_reason

    code, reason = await closed_with("not.a.token")
    assert code == 4401
    assert "not valid" in (reason or "")
    energy = token_of(await as_user("energy_staff"))
    assert await closed_with(energy) == (4403, "the role energy_staff does not have the permission vehicles:read")
    dispatcher = token_of(await as_user("dispatcher"))
    code, reason = await closed_with(dispatcher, bbox="117.3,29.2,117.2,29.3")
    assert code == 4422
    assert "bbox" in (reason or "")
    assert (await closed_with(dispatcher, state="parked"))[0] == 4422
    monkeypatch.setattr(stream, "AUTH_SECONDS", 0.2)
    assert (await closed_with(None))[0] == 4401


async def until_closed(ws: ClientConnection) -> int | None:
    """Read until the server closes; its close code."""
    async with asyncio.timeout(3):
        try:
            while True:
                await ws.recv()
        except ConnectionClosed:
            return ws.close_code


async def test_a_stream_ends_with_its_session_and_its_token_can_be_renewed(
    port: int,
    client: httpx.AsyncClient,
    add_user: Callable[..., Awaitable[str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(stream, "SESSION_CHECK_SECONDS", 0.2)
    name = await add_user("dispatcher")
    tokens = await login(client, name)
    other = (await login(client, await add_user("dispatcher")))["access_token"]
    async with opened(port, tokens["access_token"]) as ws:
        await receive(ws, 3)
        fresh = (await client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})).json()
        await ws.send(orjson.dumps({"type": "auth", "token": fresh["access_token"]}).decode())
        await asyncio.sleep(0.5)  # renewed and checked: still open
        assert ws.close_code is None
        await client.post("/auth/logout", headers={"Authorization": f"Bearer {fresh['access_token']}"})
        assert await until_closed(ws) == 4401
    async with opened(port, other) as ws:
        await receive(ws, 3)
        # A token of another user cannot take a stream over.
        await ws.send(orjson.dumps({"type": "auth", "token": fresh["access_token"]}).decode())
        assert await until_closed(ws) == 4401


@pytest.mark.parametrize(
    ("role", "reason"),
    [("unit_user", "see less than this stream"), ("energy_staff", "does not have the permission vehicles:read")],
)
async def test_a_dispatcher_moved_to_a_narrower_role_cannot_keep_their_stream_with_a_new_login(  # noqa: PLR0917
    port: int,
    client: httpx.AsyncClient,
    add_user: Callable[..., Awaitable[str]],
    as_user: AsUser,
    units: Units,
    api_settings: Settings,
    role: str,
    reason: str,
) -> None:
    admin = await as_user("admin")
    name = await add_user("dispatcher")
    first = await login(client, name)
    me = (await client.get("/users/me", headers=bearer(first["access_token"]))).json()
    async with opened(port, first["access_token"]) as ws:  # every unit's vehicles, B's included
        assert (await receive(ws, 3))["type"] == "FeatureCollection"
        change = {"role": role, "organisations": [units.a.organisation] if role == "unit_user" else []}
        changed = await client.patch(f"/users/{me['id']}", json=change, headers=admin)
        assert changed.status_code == 200, changed.text
        # The change ended their session; they log in again and hand the old socket the new token.
        again = await login(client, name)
        await ws.send(orjson.dumps({"type": "auth", "token": again["access_token"]}).decode())
        assert await until_closed(ws) == 4403
        assert reason in (ws.close_reason or "")
    rows = audit_rows(api_settings.database_url, "endpoint = %s AND user_id = %s", ("/positions/stream", me["id"]))
    assert [(r["role"], r["status"], r["outcome"]) for r in rows] == [(role, 403, "denied")]


async def test_a_dispatcher_made_an_auditor_keeps_their_stream_which_is_recorded_at_the_renewal(  # noqa: PLR0917
    port: int,
    client: httpx.AsyncClient,
    add_user: Callable[..., Awaitable[str]],
    as_user: AsUser,
    units: Units,
    api_settings: Settings,
) -> None:
    url, admin, name = api_settings.database_url, await as_user("admin"), await add_user("dispatcher")
    first = await login(client, name)
    me = (await client.get("/users/me", headers=bearer(first["access_token"]))).json()
    async with opened(port, first["access_token"]) as ws:
        assert (await receive(ws, 3))["type"] == "FeatureCollection"
        changed = await client.patch(f"/users/{me['id']}", json={"role": "auditor"}, headers=admin)
        assert changed.status_code == 200, changed.text
        again = await login(client, name)
        await ws.send(orjson.dumps({"type": "auth", "token": again["access_token"]}).decode())
        # An auditor sees no less than a dispatcher: the stream goes on, and from now on it is an auditor's read.
        query = "SELECT count(*) FROM audit_log WHERE endpoint = %s AND user_id = %s AND role = 'auditor'"
        assert await wait_for_count(url, query, ("/positions/stream", me["id"]), 1) == 1
        alert_id = raise_alert(url, units.a.vehicles[0], units.a.organisation, "130 km/h where 120 is allowed")
        assert [a["id"] for a in (await next_alerts(ws))["alerts"]] == [alert_id]


async def test_an_auditors_stream_is_recorded_before_any_data_leaves(
    port: int, as_user: AsUser, api_settings: Settings, units: Units
) -> None:
    async with opened(port, token_of(await as_user("auditor")), organisation_id=units.a.organisation) as ws:
        await receive(ws)
    rows = audit_rows(
        api_settings.database_url,
        "endpoint = %s AND params->>'organisation_id' = %s",
        ("/positions/stream", units.a.organisation),
    )
    assert [(r["role"], r["action"], r["status"], r["outcome"]) for r in rows] == [
        ("auditor", "vehicles:read", 101, "ok")
    ]


def live_row(vehicle: str, latitude: float, at: datetime) -> Position:
    """A live position as the collector's writer hands it to db.ingest.update_live."""
    return Position(vehicle, at, at, latitude, 117.2, 30.0, 90.0, True, odometer=1000.0, satellites=9, soc=60.0)


async def test_a_position_committed_late_by_a_transaction_begun_early_is_read_at_the_next_look(
    units: Units, api_settings: Settings
) -> None:
    """A collector's batch may commit after a later one: the look between them must not lose it."""
    url, a = api_settings.database_url, units.a
    early, other = a.vehicles
    for vehicle in a.vehicles:
        place(url, vehicle, 29.27, 117.18, timedelta(seconds=30))
    feed = LiveFeed(offline_after=600)
    async with (
        await psycopg.AsyncConnection.connect(url, autocommit=True) as looker,
        await psycopg.AsyncConnection.connect(url) as slow,
        await psycopg.AsyncConnection.connect(url) as fast,
    ):
        mark = await first_mark(looker)
        feed.load(await vehicles(looker, a.vehicles))
        for writer in (slow, fast):
            await prepare_connection(writer)
        now = datetime.now(UTC)
        # Received five seconds before the other: a look by receipt time would have to reach that far back.
        await update_live(slow, [live_row(early, 29.5, now - timedelta(seconds=5))])  # begun first, still open
        await update_live(fast, [live_row(other, 29.6, now)])
        await fast.commit()
        mark = await feed.look(looker, mark)
        assert feed._map[other].fix.latitude == 29.6
        assert feed._map[early].fix.latitude == 29.27  # not committed yet
        await slow.commit()  # received before the other, committed after it
        await feed.look(looker, mark)
        assert feed._map[early].fix.latitude == 29.5


# ---- the feed and its mailboxes, as plain data ---------------------------------------------------------------


def vehicle(vehicle_id: str, organisation: str, lon: float, lat: float, time: datetime) -> LiveVehicle:
    """A vehicle as the map's query gives it: available, with a fix."""
    fix = Position(vehicle_id, time, time, lat, lon, 0.0, 0.0, False)
    return LiveVehicle(vehicle_id, organisation, f"P-{vehicle_id}", "active", None, None, None, fix)


def moved(feed: LiveFeed, vehicle: str, time: datetime, lon: float) -> None:
    assert feed.take([Position(vehicle, time, time, 29.3, lon, 1.0, 0.0, True)]) == 1


async def changes(subscription: Subscription) -> dict[str, Any]:
    """The one message waiting: the changes."""
    [message] = await subscription.next()
    parsed: dict[str, Any] = orjson.loads(message)
    assert parsed["type"] == "changes"
    return parsed


async def test_a_slow_subscriber_holds_the_newest_fix_per_vehicle_and_never_more_than_its_vehicles() -> None:
    start = datetime.now(UTC)
    feed = LiveFeed(offline_after=600)
    vehicles = [f"v{i}" for i in range(50)]
    feed.load([vehicle(v, "org", 117.0, 29.3, start - timedelta(seconds=1)) for v in vehicles])
    feed.tick(start)
    with feed.subscribe(Filter()) as slow, feed.subscribe(Filter()) as fast:
        for round_ in range(1, 101):
            at = start + timedelta(seconds=round_)
            for v in vehicles:
                moved(feed, v, at, 117.0 + round_ / 1000)
            feed.tick(at)
            taken = await changes(fast)  # the fast one reads every batch: the slow one does not hold it up
            assert len(taken["features"]) == len(vehicles)
            assert slow.pending == len(vehicles)  # one entry per vehicle, whatever the backlog
        message = await changes(slow)
    assert sorted(f["id"] for f in message["features"]) == sorted(vehicles)
    assert {f["geometry"]["coordinates"][0] for f in message["features"]} == {117.1}
    assert slow.pending == 0


async def test_the_mailbox_keeps_the_newest_entry_of_each_vehicle_and_removals() -> None:
    mailbox, other = Subscription(Filter(), b"{}"), Subscription(Filter(), b"{}")
    first = Batch({"a": b'{"n":1}', "b": b'{"n":1}'}, "e.1.f")
    for box in (mailbox, other):
        box.offer(first)
    mailbox.offer(Batch({"a": b'{"n":2}', "c": b'{"n":2}'}, "e.2.f"))
    mailbox.offer(Batch({"c": None}, "e.3.f"))
    assert mailbox.pending == 3
    assert await changes(mailbox) == {
        "type": "changes", "features": [{"n": 2}, {"n": 1}], "removed": ["c"], "cursor": "e.3.f"
    }  # fmt: skip
    # Merging into one mailbox left the shared batch as it was.
    assert await changes(other) == {
        "type": "changes", "features": [{"n": 1}, {"n": 1}], "removed": [], "cursor": "e.1.f"
    }  # fmt: skip
    assert first.changes == {"a": b'{"n":1}', "b": b'{"n":1}'}


async def test_a_vehicle_going_silent_is_sent_as_offline_and_a_late_database_row_does_not_move_it_back() -> None:
    start = datetime.now(UTC)
    feed = LiveFeed(offline_after=60)
    feed.load([vehicle("v", "org", 117.0, 29.3, start)])
    feed.tick(start)
    with feed.subscribe(Filter(states=frozenset({"offline"}))) as offline, feed.subscribe(Filter()) as everything:
        assert orjson.loads(offline.snapshot)["features"] == []
        assert feed.tick(start + timedelta(seconds=61)) == 1
        [went] = (await changes(offline))["features"]
        assert (went["properties"]["online"], went["properties"]["state"]) == (False, "offline")
        await everything.next()
        moved(feed, "v", start + timedelta(seconds=62), 117.5)
        feed.load([vehicle("v", "org", 117.0, 29.3, start)])  # the database has not got it yet
        feed.tick(start + timedelta(seconds=62))
        removal = await changes(offline)
        assert (removal["features"], removal["removed"]) == ([], ["v"])
        [back] = (await changes(everything))["features"]
        assert back["geometry"]["coordinates"] == [117.5, 29.3]


def test_a_filter_joins_the_scope_and_the_unit_asked_for() -> None:
    key = Key("a", 117.0, 29.0, "available")
    assert Filter.of(Scope(None)).matches(key)
    assert not Filter.of(Scope(frozenset({"b"}))).matches(key)
    assert not Filter.of(Scope(frozenset({"b"})), organisation_id="a").matches(key)  # not another unit's
    assert not Filter.of(Scope(frozenset()), organisation_id="a").matches(key)
    assert Filter.of(Scope(frozenset({"a", "b"})), organisation_id="a").matches(key)
    assert Filter.of(Scope(None), bbox=(117.0, 29.0, 117.0, 29.0)).matches(key)  # the edges belong to the box
    assert not Filter.of(Scope(None), bbox=(117.1, 29.0, 118.0, 30.0)).matches(key)
    assert not Filter.of(Scope(None), states=["offline"]).matches(key)


async def test_a_filter_covers_another_only_when_it_lets_through_all_that_the_other_does() -> None:
    everything, a, ab = Filter.of(Scope(None)), Filter.of(Scope(frozenset({"a"}))), Filter.of(Scope(frozenset("ab")))
    assert everything.covers(a)
    assert ab.covers(a)
    assert a.covers(a)
    assert not a.covers(everything)
    assert not a.covers(ab)
    assert a.covers(Filter.of(Scope(frozenset({"a"})), organisation_id="b"))  # a unit asked for and not seen: nothing
    box, inner = (117.0, 29.0, 118.0, 30.0), (117.2, 29.2, 117.4, 29.4)
    assert Filter.of(Scope(None), bbox=box).covers(Filter.of(Scope(None), bbox=inner))
    assert not Filter.of(Scope(None), bbox=inner).covers(Filter.of(Scope(None), bbox=box))
    assert not Filter.of(Scope(None), bbox=box).covers(everything)
    assert everything.covers(Filter.of(Scope(None), states=["offline"]))
    assert not Filter.of(Scope(None), states=["offline"]).covers(
        Filter.of(Scope(None), states=["offline", "available"])
    )


async def test_a_vehicle_that_leaves_the_registry_leaves_every_map() -> None:
    start = datetime.now(UTC)
    feed = LiveFeed(offline_after=600)
    feed.load([vehicle("kept", "org", 117.0, 29.3, start), vehicle("retired", "org", 117.0, 29.3, start)])
    feed.tick(start)
    with feed.subscribe(Filter()) as everything:
        assert len(orjson.loads(everything.snapshot)["features"]) == 2
        feed.load([], only={"retired"})  # reloaded after the registry said it changed: no longer on the map
        feed.tick(start)
        assert (await changes(everything))["removed"] == ["retired"]
        moved_at = start + timedelta(seconds=1)
        fix = Position("retired", moved_at, moved_at, 29.3, 117.0, 0.0, 0.0, False)
        assert feed.take([fix]) == 0  # its fixes are not taken, nor is it read again at every look
        assert feed.dirty == set()


async def test_a_new_vehicle_is_read_at_the_next_look_and_a_request_changes_its_state_on_every_map() -> None:
    start = datetime.now(UTC)
    feed = LiveFeed(offline_after=600)
    feed.load([vehicle("old", "org", 117.0, 29.3, start)])
    feed.tick(start)
    with feed.subscribe(Filter(states=frozenset({"dispatched"}))) as dispatched:
        new = Position("new", start, start, 29.3, 117.1, 0.0, 0.0, False)
        assert feed.take([new]) == 0
        assert feed.dirty == {"new"}  # its unit and plate come with the next look
        on_request = vehicle("old", "org", 117.0, 29.3, start)._replace(request_id=7, request_state="dispatched")
        feed.load([vehicle("new", "org", 117.1, 29.3, start), on_request], only={"new", "old"})
        body = orjson.loads(feed.snapshot(Filter(), start))
        assert [f["id"] for f in body["features"]] == ["new", "old"]  # in id order
        assert body["features"][1]["properties"]["request_id"] == 7
        feed.tick(start)
        [went] = (await changes(dispatched))["features"]
        assert (went["id"], went["properties"]["state"]) == ("old", "dispatched")


async def test_a_vehicle_read_when_registered_before_its_first_fix_shows_with_that_fix() -> None:
    """The registry names a new vehicle and a look reads it before its terminal sent anything: not on the map yet,
    but not retired either. Its first fix is read at the next look, not ignored until the next full load."""
    start = datetime.now(UTC)
    feed = LiveFeed(offline_after=600)
    feed.load([vehicle("old", "org", 117.0, 29.3, start)])
    feed.load([], only={"new"})  # a look read it when the registry named it: no fix yet, so no map entry
    first = Position("new", start, start, 29.3, 117.1, 0.0, 0.0, False)
    assert feed.take([first]) == 0
    assert feed.dirty == {"new"}
    feed.load([vehicle("new", "org", 117.1, 29.3, start)], only={"new"})
    assert [f["id"] for f in orjson.loads(feed.snapshot(Filter(), start))["features"]] == ["new", "old"]
    # A retired vehicle read after its fix came is absent: its next fixes are not read at every look.
    gone = Position("gone", start, start, 29.3, 117.2, 0.0, 0.0, False)
    feed.take([gone])
    feed.dirty.clear()  # the look that read it
    feed.load([], only={"gone"})
    assert feed.take([gone._replace(time=start + timedelta(seconds=1))]) == 0
    assert feed.dirty == set()


async def test_an_alert_goes_to_the_subscribers_of_its_unit_that_may_read_alerts() -> None:
    start = datetime.now(UTC)
    feed = LiveFeed(offline_after=600)
    alert = AlertPublic(
        id=1, vehicle_id="v", organisation_id="a", kind="speeding", level="red", time=start, received_at=start,
        raised_at=start, latitude=29.3, longitude=117.0, speed=130.0, detail="130 km/h where 120 is allowed",
        acknowledged_at=None, acknowledged_by=None, note=None,
    )  # fmt: skip
    with (
        feed.subscribe(Filter(frozenset({"a"}), bbox=(0, 0, 1, 1)), alerts=True) as unit_a,
        feed.subscribe(Filter(frozenset({"b"})), alerts=True) as unit_b,
        feed.subscribe(Filter(), alerts=False) as not_allowed,
    ):
        assert feed.push_alerts([alert]) == 1
        [message] = await unit_a.next()  # whatever its box: an alert is news wherever the vehicle is
        assert orjson.loads(message) == {"type": "alerts", "alerts": [alert.model_dump(mode="json")]}
        for box in (unit_b, not_allowed):
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.05):
                    await box.next()


async def test_a_round_of_alerts_for_many_vehicles_reaches_each_subscriber_in_order_its_newest_kept() -> None:
    """A supervision round can raise an alert for thousands of vehicles at once (every vehicle driving without a
    dispatch, again every 10 minutes). Each subscriber that may read alerts gets those of its units, in the order
    they were raised, the newest 1,000 of them when more wait; the others get none."""
    start = datetime.now(UTC)
    feed = LiveFeed(offline_after=600)
    raised = [
        AlertPublic(
            id=i, vehicle_id=f"v{i}", organisation_id="a" if i % 3 else "b", kind="speeding", level="yellow",
            time=start, received_at=start, raised_at=start, latitude=29.3, longitude=117.0, speed=130.0,
            detail="130 km/h where 120 is allowed", acknowledged_at=None, acknowledged_by=None, note=None,
        )
        for i in range(1, 1_801)
    ]  # fmt: skip
    with (
        feed.subscribe(Filter(frozenset({"a"})), alerts=True) as unit_a,
        feed.subscribe(Filter(frozenset({"a"})), alerts=True) as also_unit_a,
        feed.subscribe(Filter(frozenset({"b"})), alerts=True) as unit_b,
        feed.subscribe(Filter(), alerts=False) as not_allowed,
    ):
        assert feed.push_alerts(raised[:900]) == 600 + 600 + 300
        assert feed.push_alerts(raised[900:]) == 600 + 600 + 300
        of_a = [a.id for a in raised if a.organisation_id == "a"]
        of_b = [a.id for a in raised if a.organisation_id == "b"]
        for box, expected in ((unit_a, of_a[-1_000:]), (also_unit_a, of_a[-1_000:]), (unit_b, of_b)):
            [message] = await box.next()
            assert [alert["id"] for alert in orjson.loads(message)["alerts"]] == expected
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.05):
                await not_allowed.next()


def test_the_whole_map_kept_in_one_buffer_says_what_the_map_says_feature_by_feature() -> None:
    """GET /positions/live of every vehicle comes from the whole map kept in one buffer (only changed vehicles written
    again); a filter that keeps every vehicle goes feature by feature. Both say the same through moves, the clock
    taking vehicles offline, registry changes, and vehicles coming and going."""
    start = datetime.now(UTC)
    feed = LiveFeed(offline_after=60)
    every_state = Filter(states=frozenset(get_args(LiveState)))

    def same(now: datetime) -> int:
        whole = orjson.loads(feed.snapshot(Filter(), now))
        one_by_one = orjson.loads(feed.snapshot(every_state, now))
        assert whole.pop("cursor") != one_by_one.pop("cursor")  # each of its own filter
        assert whole == one_by_one
        return len(whole["features"])

    assert same(start) == 0
    feed.load([vehicle(f"v{i}", f"org{i % 3}", 117.0 + i / 100, 29.3, start - timedelta(seconds=i)) for i in range(30)])
    assert same(start) == 30
    moved(feed, "v3", start + timedelta(seconds=1), 117.9)
    assert same(start + timedelta(seconds=2)) == 30
    # v25 and older go offline with the clock alone; v7 goes to the workshop; v12 is dispatched.
    workshop = vehicle("v7", "org1", 117.07, 29.3, start - timedelta(seconds=7))._replace(lifecycle="maintenance")
    dispatched = vehicle("v12", "org0", 117.12, 29.3, start - timedelta(seconds=12))._replace(
        request_id=5, request_state="dispatched", driver_id=2
    )
    feed.load([workshop, dispatched], only={"v7", "v12"})
    assert same(start + timedelta(seconds=35)) == 30
    # One leaves the registry, one joins the map.
    feed.load([vehicle("v40", "org2", 117.4, 29.3, start)], only={"v29", "v40"})
    now = start + timedelta(seconds=36)
    assert same(now) == 30
    properties = {f["id"]: f["properties"] for f in orjson.loads(feed.snapshot(Filter(), now))["features"]}
    assert "v29" not in properties
    assert (properties["v7"]["state"], properties["v12"]["state"], properties["v3"]["state"]) == (
        "maintenance", "dispatched", "available"
    )  # fmt: skip
    assert (properties["v26"]["online"], properties["v26"]["age_seconds"]) == (False, 62.0)

    # Moves written again where the feature was (one as long as before, one a little longer), one that outgrows
    # the room its feature had; an offline vehicle back online, and one sending a fix newer than its last but
    # still too old to be online.
    def like(vehicle_id: str, time: datetime, lat: float, lon: float) -> Position:  # as `vehicle` writes them
        return Position(vehicle_id, time, time, lat, lon, 0.0, 0.0, False)

    slightly_longer = like("v6", now, 29.3, 117.0612)
    back, too_old = like("v26", now, 29.3, 117.26), like("v27", now - timedelta(seconds=61), 29.3, 117.27)
    laid_out = feed._whole.layout if feed._whole is not None else None
    assert laid_out is not None
    assert feed.take([like("v4", now, 29.3, 117.05), slightly_longer, back, too_old]) == 4
    later = now + timedelta(seconds=0.25)
    assert same(later) == 30
    assert feed._whole is not None
    assert feed._whole.layout is laid_out  # written in place: the fast path of 20,000 vehicles a request
    # Longer by more than its slot's spare (coordinates go to 1e-6 degree: more digits would not count).
    arrived = Position("v5", now, now, 29.312345678901, 117.123456789012, 112.5, 359.5, True, soc=87.25, fuel=10040.25)
    assert feed.take([arrived]) == 1
    assert same(later) == 30
    assert feed._whole.layout is not laid_out  # v5 outgrew its slot: laid out again
    properties = {f["id"]: f["properties"] for f in orjson.loads(feed.snapshot(Filter(), later))["features"]}
    assert [(properties[v]["online"], properties[v]["age_seconds"]) for v in ("v4", "v26", "v27")] == [
        (True, 0.25), (True, 0.25), (False, 61.25)
    ]  # fmt: skip


@given(st.lists(st.floats(-1_000, 9e9) | st.sampled_from([0.0, 0.0005, 0.0015, 59.9995, 1e9]), max_size=20))
def test_every_age_is_written_to_the_millisecond_on_the_whole_map_and_feature_by_feature(ages: list[float]) -> None:
    """Ages of fixes from the future (clock skew, shown as 0) to centuries old, halves of milliseconds included:
    the whole map writes them as arrays, feature by feature one at a time; both say the same."""
    now = datetime(2026, 11, 30, tzinfo=UTC)
    clock = now.timestamp()
    feed = LiveFeed(offline_after=60)
    feed.load([vehicle(f"v{i:02d}", "org", 117.0, 29.3, now - timedelta(seconds=age)) for i, age in enumerate(ages)])
    whole = orjson.loads(feed.snapshot(Filter(), now))
    one_by_one = orjson.loads(feed.snapshot(Filter(states=frozenset(get_args(LiveState))), now))
    assert whole.pop("cursor") != one_by_one.pop("cursor")  # each of its own filter
    assert whole == one_by_one
    written = [f["properties"]["age_seconds"] for f in whole["features"]]
    stamps = [(now - timedelta(seconds=age)).timestamp() for age in ages]
    assert written == [max(round((clock - stamp) * 1000), 0) / 1000 for stamp in stamps]


_MOVES = st.lists(
    st.tuples(
        st.integers(0, 11),  # which vehicle
        st.sampled_from([117.1, 117.12, 117.123456]),  # shorter than before, as long, longer
        st.none() | st.floats(0, 300),  # speed: none reported (shorter), or any number (up to 18 characters longer)
        st.sampled_from([None, "dispatched", "under_way"]),  # its request now: the state's tail changes, and back
    ),
    max_size=12,
)


@given(st.lists(_MOVES, min_size=1, max_size=5))
def test_moves_written_together_say_what_the_map_says_whether_their_slots_hold_them_or_not(
    batches: list[list[tuple[int, float, float | None, str | None]]],
) -> None:
    """The vehicles that moved since the last request are written in the whole map together: in one batch some
    fit their slots, some outgrow them, some change state or go back to a shorter feature, and those that did not
    move go offline with the clock. After each batch the whole map says what the map says feature by feature."""
    start = datetime(2026, 12, 7, tzinfo=UTC)
    feed = LiveFeed(offline_after=2)
    feed.load([vehicle(f"v{i:02d}", "org", 117.0, 29.3, start) for i in range(12)])
    every_state = Filter(states=frozenset(get_args(LiveState)))

    def same(now: datetime) -> None:
        whole = orjson.loads(feed.snapshot(Filter(), now))
        one_by_one = orjson.loads(feed.snapshot(every_state, now))
        whole.pop("cursor")
        one_by_one.pop("cursor")
        assert whole == one_by_one

    same(start)  # the whole map laid out: each batch below is written in it
    for n, batch in enumerate(batches, start=1):
        now = start + timedelta(seconds=n)
        for i, lon, speed, request in batch:
            vehicle_id = f"v{i:02d}"
            fix = Position(vehicle_id, now, now, 29.3, lon, speed, 0.0, True)
            feed.take([fix])
            row = vehicle(vehicle_id, "org", lon, 29.3, now)._replace(
                request_id=n if request else None, request_state=request, fix=fix
            )
            feed.load([row], only={vehicle_id})
        same(now)


def test_ages_round_halves_to_even_alike_on_the_whole_map_and_alone_and_stop_at_their_width() -> None:
    halves = [0.0005, 0.0015, 0.0025, 1.0005, 59.9995]  # exact halves of a millisecond once multiplied by 1000
    beyond = [2e10, 1e300]  # wider than 317 years: written as the widest age
    seconds = np.array([*halves, *beyond, -5.0])
    padded = [row.tobytes() for row in ages(seconds)]
    assert [age(s) for s in seconds] == [
        b"0.000",
        b"0.002",
        b"0.002",
        b"1.000",
        b"60.000",
        *[b"9999999999.999"] * 2,
        b"0.000",
    ]
    assert [row.lstrip(b" ") for row in padded] == [age(s) for s in seconds]
    assert {len(row) for row in padded} == {14}


async def test_a_load_in_parts_keeps_what_looks_read_meanwhile_and_reads_it_again() -> None:
    """The full refresh is taken in parts while looks go on: a look's rows may be newer than the load's."""
    start = datetime.now(UTC)
    feed = LiveFeed(offline_after=600)
    feed.load([vehicle(v, "org", 117.0, 29.3, start) for v in ("a", "sent", "retired", "gone")])
    feed.tick(start)
    with feed.subscribe(Filter()) as everything:
        with feed.loading() as take:  # its snapshot: all four available, nothing new
            take([vehicle("a", "org", 117.0, 29.3, start)])
            # A look, from a later snapshot: one sent on a request, one retired, one new.
            on_request = vehicle("sent", "org", 117.0, 29.3, start)._replace(request_id=3, request_state="dispatched")
            feed.load([on_request, vehicle("new", "org", 117.2, 29.3, start)], only={"sent", "retired", "new"})
            take([vehicle(v, "org", 117.0, 29.3, start) for v in ("sent", "retired")])  # older than the look's
        assert sorted(feed._map) == ["a", "new", "sent"]  # "gone" was in no part: it left
        assert feed._map["sent"].state(True) == "dispatched"
        assert feed.dirty == {"sent", "retired", "new"}  # read again at the next look
        feed.tick(start)
        message = await changes(everything)
    assert sorted(message["removed"]) == ["gone", "retired"]
    assert {f["id"]: f["properties"]["state"] for f in message["features"]} == {
        "sent": "dispatched",
        "new": "available",
    }

    def failing() -> None:
        with feed.loading() as take:
            take([vehicle("a", "org", 117.0, 29.3, start)])
            raise RuntimeError("the database went away")

    with pytest.raises(RuntimeError):
        failing()
    assert sorted(feed._map) == ["a", "new", "sent"]  # a load that failed midway removed nothing


_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@given(_JSON_VALUES)
def test_json_escaped_to_ascii_reads_as_the_same_value(value: object) -> None:
    escaped = ascii_json(orjson.dumps(value))
    assert escaped.isascii()
    assert orjson.loads(escaped) == value


async def test_a_plate_and_an_alert_in_chinese_reach_clients_as_written_in_ascii_messages() -> None:
    """Messages go out as WebSocket text, encoded again per client: ASCII makes that a copy (see ascii_json)."""
    start = datetime.now(UTC)
    feed = LiveFeed(offline_after=600)
    feed.load([vehicle("v", "a", 117.0, 29.3, start)._replace(plate="赣H·12345😀")])
    feed.tick(start)
    alert = AlertPublic(
        id=1, vehicle_id="v", organisation_id="a", kind="area_exit", level="red", time=start, received_at=start,
        raised_at=start, latitude=29.3, longitude=117.0, speed=30.0, detail="驶出允许区域「市区」",
        acknowledged_at=None, acknowledged_by=None, note=None,
    )  # fmt: skip
    with feed.subscribe(Filter(), alerts=True) as subscription:
        assert subscription.snapshot.isascii()
        [snapshot] = orjson.loads(subscription.snapshot)["features"]
        assert snapshot["properties"]["plate"] == "赣H·12345😀"
        feed.push_alerts([alert])
        moved(feed, "v", start + timedelta(seconds=1), 117.1)
        feed.tick(start + timedelta(seconds=1))
        alerts, changed = await subscription.next()
    assert alerts.isascii()
    assert changed.isascii()
    assert orjson.loads(alerts)["alerts"][0]["detail"] == "驶出允许区域「市区」"
    assert orjson.loads(changed)["features"][0]["properties"]["plate"] == "赣H·12345😀"
    removal = Batch({"车1": None}, "e.1.f").text
    assert removal.isascii()
    assert orjson.loads(removal)["removed"] == ["车1"]
