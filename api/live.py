"""The live map in memory: each vehicle's newest fix, read from what the collectors committed, fanned out to the
map's WebSocket clients.

One `LiveFeed` per API process, opened in the lifespan with `open_feed`. It

- reads the rows of `live_position` that collectors changed since its last look, every `live_batch_ms`, in one
  query for all its clients (a little overlap, since a batch may commit after a later one's receipt time), so
  the map shows what was accepted and stored, nothing the collector refused, and the API needs no broker
  account and no copy of the device contract (the collector and the API do not import each other);
- keeps the newest fix per vehicle by fix time: a blind-zone resend that arrives late never moves a vehicle back;
- loads what GET /positions/live serves (`api.positions.live`, every unit) at start and every
  `live_refresh_seconds`: which vehicles are on the map (a new one appears with its first committed fix, a
  retired one goes), their unit, plate, state, request and driver, and fixes committed while the broker was away;
- every `live_batch_ms` turns what changed into GeoJSON features, each encoded once, and offers each subscriber
  the features its filter keeps, plus the ids of vehicles that left its filter (out of the box, another unit).

A subscriber's mailbox holds at most one entry per vehicle, the newest: a client that reads slowly gets the newest
position of every vehicle that changed, never a backlog, and its memory is bounded by the vehicles it may see.
No client costs a database query after its connection is accepted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import AsyncIterator, Collection, Iterable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import orjson
import psycopg
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from pydantic import BaseModel

from api import positions, registry
from api.access import Scope
from api.background import running
from api.positions import LiveFeature
from yiwang.settings import Settings

log = logging.getLogger(__name__)

# Computed when a feature is encoded, never kept: they change with the clock, not with the vehicle.
_TIMELY = frozenset({"age_seconds", "online"})
# Times as pydantic writes them in GET /positions/live's answer (UTC with Z), so that both say the same.
_JSON = orjson.OPT_UTC_Z
_RETRY_MAX_SECONDS = 10.0
_LOAD_PART = 2_000


class Key(NamedTuple):
    """What a filter looks at: where a vehicle belongs, where it is, and its state (if the map has one)."""

    organisation_id: str
    longitude: float
    latitude: float
    state: str | None


@dataclass(frozen=True, slots=True)
class Filter:
    """Which vehicles a subscriber receives: the same conditions as GET /positions/live, in memory.

    Equal filters are one group: their features are selected once per batch.
    """

    organisations: frozenset[str] | None = None  # None: every organisation
    bbox: tuple[float, float, float, float] | None = None  # west, south, east, north; edges included
    states: frozenset[str] | None = None  # None: any state

    @classmethod
    def of(
        cls,
        scope: Scope,
        *,
        organisation_id: str | None = None,
        bbox: tuple[float, float, float, float] | None = None,
        states: Collection[str] = (),
    ) -> Filter:
        """The filter of a user's scope and what the user asked for (one unit, a box, some states)."""
        organisations = scope.organisations
        if organisation_id is not None:
            # One unit, and only if the scope holds it: a unit user asking for another unit gets nothing.
            asked = frozenset({organisation_id})
            organisations = asked if organisations is None else organisations & asked
        return cls(organisations, bbox, frozenset(states) or None)

    def matches(self, key: Key) -> bool:
        if self.organisations is not None and key.organisation_id not in self.organisations:
            return False
        if self.bbox is not None:
            west, south, east, north = self.bbox
            if not (west <= key.longitude <= east and south <= key.latitude <= north):
                return False
        return self.states is None or key.state in self.states


Encoded = bytes | None  # a feature as JSON, or None: the vehicle left the subscriber's filter


class Batch:
    """Changes for subscribers, as one message: `{"type": "changes", "features": [...], "removed": [ids]}`, the
    features of vehicles that changed within the filter and the ids of vehicles that left it. Applying a message
    twice changes nothing. Subscribers of one filter share a batch, so that it is encoded once for all of them."""

    __slots__ = ("_text", "changes")

    def __init__(self, changes: dict[str, Encoded]) -> None:
        self.changes = changes
        self._text: str | None = None

    @property
    def text(self) -> str:
        """The message, encoded once."""
        if self._text is None:
            features = b",".join(data for data in self.changes.values() if data is not None)
            removed = orjson.dumps([vehicle_id for vehicle_id, data in self.changes.items() if data is None])
            self._text = (b'{"type":"changes","features":[' + features + b'],"removed":' + removed + b"}").decode()
        return self._text


class Subscription:
    """One client's mailbox: at most one entry per vehicle, the newest, until the client takes them all.

    Args:
        filter: what the client receives.
        snapshot: the FeatureCollection the client starts from (JSON), taken as it subscribed.
    """

    def __init__(self, filter: Filter, snapshot: bytes) -> None:
        self.filter = filter
        self.snapshot = snapshot
        self._pending: Batch | None = None
        self._own = False  # whether _pending is this mailbox's alone (merged), or its group's batch
        self._ready = asyncio.Event()

    @property
    def pending(self) -> int:
        """Vehicles waiting to be sent."""
        return len(self._pending.changes) if self._pending is not None else 0

    def offer(self, batch: Batch) -> None:
        """Add a batch of changes; an entry of a vehicle already waiting is replaced (the new one is newer)."""
        if self._pending is None:
            self._pending = batch  # the common case: a client that keeps up sends its group's batch as it is
        elif self._own:
            self._pending.changes.update(batch.changes)
        else:
            self._pending, self._own = Batch({**self._pending.changes, **batch.changes}), True
        self._ready.set()

    async def next(self) -> Batch:
        """Wait for changes and take all that are waiting."""
        await self._ready.wait()
        self._ready.clear()
        taken, self._pending, self._own = self._pending, None, False
        assert taken is not None
        return taken


class Fix(NamedTuple):
    """A vehicle's newest fix as `live_position` holds it."""

    vehicle_id: str
    time: datetime
    latitude: float
    longitude: float
    speed: float
    heading: float
    ignition: bool
    soc: float | None
    fuel: float | None
    received_at: datetime


class Stored(NamedTuple):
    """A vehicle as the database says, from a feature of GET /positions/live (see `stored`)."""

    vehicle_id: str
    time: datetime  # UTC
    longitude: float
    latitude: float
    properties: dict[str, Any]  # the feature's, without _TIMELY


def stored(features: Iterable[LiveFeature]) -> list[Stored]:
    """The features of GET /positions/live as the feed keeps them: the model's own field values, times in UTC."""
    rows = []
    for feature in features:
        # A copy of the model's field values: a twentieth of the cost of iterating it, for 20,000 of them.
        properties = dict(feature.properties.__dict__)
        for name in _TIMELY:
            del properties[name]
        fix_time = properties["time"] = feature.properties.time.astimezone(UTC)
        rows.append(Stored(feature.id, fix_time, *feature.geometry.coordinates, properties))
    return rows


@dataclass(slots=True)
class _OnMap:
    """A vehicle with a fix: what the map shows of it."""

    time: datetime
    longitude: float
    latitude: float
    # As GET /positions/live's model holds them, without _TIMELY (times in UTC).
    properties: dict[str, Any]
    online: bool = True  # as last sent

    def state(self, online: bool) -> str | None:
        """The state of api/positions.py's rule (maintenance, offline, in_service, dispatched, available) with
        silence judged now, not when the database was read."""
        stored: str | None = self.properties.get("state")
        if stored is None or stored == "maintenance":
            return stored
        if not online:
            return "offline"
        if stored == "offline" and self.properties.get("request_id") is None:
            return "available"  # silent when read, reporting now, with no open request
        # Reporting again with an open request: whether dispatched or in service, the next refresh tells.
        return stored

    def key(self, online: bool) -> Key:
        return Key(self.properties["organisation_id"], self.longitude, self.latitude, self.state(online))


@dataclass
class LiveFeed:
    """The live map of every vehicle and the subscriptions to it. Not thread-safe: one event loop owns it.

    Args:
        offline_after: seconds without a fix after which a vehicle shows offline.
    """

    offline_after: float
    polled: int = 0  # changed rows read from live_position
    ignored: int = 0  # of those, of a vehicle not on the map yet (its first fix shows with the next load)
    # The vehicles of the last load (vehicle: organisation, plate): the only ones whose fixes are taken.
    _registry: dict[str, tuple[str, str]] = field(default_factory=dict)
    _map: dict[str, _OnMap] = field(default_factory=dict)
    _changed: set[str] = field(default_factory=set)
    _sent: dict[str, Key] = field(default_factory=dict)  # what subscribers were last told of each vehicle
    _subscribers: dict[Filter, set[Subscription]] = field(default_factory=dict)
    _snapshots: dict[Filter, bytes] = field(default_factory=dict)  # taken since the last tick

    # ---- what comes in --------------------------------------------------------------------------------

    def take(self, fixes: Iterable[Fix]) -> int:
        """Rows of live_position changed since the last look; returns how many moved a vehicle."""
        moved = 0
        for fix in fixes:
            self.polled += 1
            if fix.vehicle_id not in self._registry:
                self.ignored += 1  # a vehicle the last load did not have: new (it needs its unit), or retired
            else:
                moved += self.place(fix)
        return moved

    def place(self, fix: Fix) -> bool:
        """Put a fix on the map if it is the vehicle's newest; returns whether it was."""
        shown = self._map.get(fix.vehicle_id)
        if shown is not None and fix.time <= shown.time:
            return False  # a blind-zone resend, a duplicate: the map keeps the newer fix
        organisation_id, plate = self._registry[fix.vehicle_id]
        properties = {
            **(shown.properties if shown is not None else {}),
            "vehicle_id": fix.vehicle_id,
            "plate": plate,
            "organisation_id": organisation_id,
            "time": fix.time,
            "speed": fix.speed,
            "heading": fix.heading,
            "ignition": fix.ignition,
            "soc": fix.soc,
            "fuel": fix.fuel,
        }
        self._map[fix.vehicle_id] = _OnMap(fix.time, fix.longitude, fix.latitude, properties)
        self._changed.add(fix.vehicle_id)
        return True

    def load(self, rows: Iterable[Stored]) -> None:
        """Take what GET /positions/live says of vehicles: that they are on the map, all their properties, and
        each fix unless the broker brought a newer one (the collector may not have committed it yet)."""
        for row in rows:
            vehicle_id, fix_time, longitude, latitude, properties = row
            self._registry[vehicle_id] = (properties["organisation_id"], properties["plate"])
            shown = self._map.get(vehicle_id)
            if shown is not None and shown.time > fix_time:
                # Our fix is newer: keep its fields over the stored ones, take the rest (unit, plate, ...).
                properties.update({name: shown.properties[name] for name in _FIX_FIELDS})
                fix_time, longitude, latitude = shown.time, shown.longitude, shown.latitude
            if shown is None:
                self._map[vehicle_id] = _OnMap(fix_time, longitude, latitude, properties)
                self._changed.add(vehicle_id)
            elif properties != shown.properties or (longitude, latitude) != (shown.longitude, shown.latitude):
                shown.time, shown.longitude, shown.latitude = fix_time, longitude, latitude
                shown.properties = properties
                self._changed.add(vehicle_id)

    def parts(self, organisations: Iterable[str], size: int) -> Iterator[frozenset[str]]:
        """The organisations in groups of about `size` vehicles on the map (a unit new to it counts one)."""
        counts = Counter(organisation_id for organisation_id, _ in self._registry.values())
        part: set[str] = set()
        vehicles = 0
        for organisation_id in organisations:
            part.add(organisation_id)
            vehicles += max(counts[organisation_id], 1)
            if vehicles >= size:
                yield frozenset(part)
                part, vehicles = set(), 0
        if part:
            yield frozenset(part)

    def keep_only(self, vehicle_ids: Collection[str]) -> None:
        """After a load of every vehicle: the others leave the map (retired, or gone from the registry)."""
        for vehicle_id in self._map.keys() - vehicle_ids:
            del self._map[vehicle_id]
            self._changed.add(vehicle_id)
        for vehicle_id in self._registry.keys() - vehicle_ids:
            del self._registry[vehicle_id]

    # ---- what goes out ---------------------------------------------------------------------------------

    @contextlib.contextmanager
    def subscribe(self, filter: Filter, now: datetime | None = None) -> Iterator[Subscription]:
        """A subscription for as long as the block runs, starting from a snapshot taken at once."""
        subscription = Subscription(filter, self.snapshot(filter, now or datetime.now(UTC)))
        self._subscribers.setdefault(filter, set()).add(subscription)
        try:
            yield subscription
        finally:
            group = self._subscribers[filter]
            group.discard(subscription)
            if not group:
                del self._subscribers[filter]

    def snapshot(self, filter: Filter, now: datetime) -> bytes:
        """The filter's vehicles as a GeoJSON FeatureCollection, as GET /positions/live gives them.

        Kept until the next tick for the next subscriber of the same filter (clients reconnecting together after
        a restart): whatever changed since it was taken is sent to every subscriber at that tick anyway.
        """
        found = self._snapshots.get(filter)
        if found is None:
            cutoff = now - timedelta(seconds=self.offline_after)
            chosen = [
                (vehicle_id, shown, online)
                for vehicle_id, shown in self._map.items()
                if filter.matches(shown.key(online := shown.time > cutoff))
            ]
            chosen.sort(key=lambda item: item[0])
            # Each feature encoded at once: 20,000 dicts held until the end would wake the garbage collector.
            features = [
                orjson.dumps(self._feature(vehicle_id, shown, now, online), default=_json, option=_JSON)
                for vehicle_id, shown, online in chosen
            ]
            found = b'{"type":"FeatureCollection","features":[' + b",".join(features) + b"]}"
            self._snapshots[filter] = found
        return found

    def tick(self, now: datetime) -> int:
        """Send what changed since the last tick (and vehicles that just went offline) to every subscriber;
        returns the vehicles that changed."""
        self._snapshots.clear()
        cutoff = now - timedelta(seconds=self.offline_after)
        for vehicle_id, on_map in self._map.items():
            if on_map.online != (on_map.time > cutoff):
                self._changed.add(vehicle_id)
        changed, self._changed = self._changed, set()
        batch = [change for vehicle_id in changed if (change := self._change(vehicle_id, now, cutoff)) is not None]
        for filter_, group in self._subscribers.items():
            changes: dict[str, Encoded] = {}
            for vehicle_id, old, new, data in batch:
                if new is not None and filter_.matches(new):
                    changes[vehicle_id] = data
                elif old is not None and filter_.matches(old):
                    changes[vehicle_id] = None
            if changes:
                shared = Batch(changes)
                for subscription in group:
                    subscription.offer(shared)
        return len(batch)

    def _change(
        self, vehicle_id: str, now: datetime, cutoff: datetime
    ) -> tuple[str, Key | None, Key | None, Encoded] | None:
        """A vehicle's change: what subscribers were told of it before and now, and its feature (if any)."""
        before = self._sent.pop(vehicle_id, None)
        shown = self._map.get(vehicle_id)
        if shown is None:
            return None if before is None else (vehicle_id, before, None, None)
        shown.online = shown.time > cutoff
        after = self._sent[vehicle_id] = shown.key(shown.online)
        data = None
        if self._subscribers:
            data = orjson.dumps(self._feature(vehicle_id, shown, now, shown.online), default=_json, option=_JSON)
        return vehicle_id, before, after, data

    @staticmethod
    def _feature(vehicle_id: str, shown: _OnMap, now: datetime, online: bool) -> dict[str, Any]:
        properties = {**shown.properties, "age_seconds": max((now - shown.time).total_seconds(), 0.0), "online": online}
        if "state" in properties:
            properties["state"] = shown.state(online)
        return {
            "type": "Feature",
            "id": vehicle_id,
            "geometry": {"type": "Point", "coordinates": [shown.longitude, shown.latitude]},
            "properties": properties,
        }


def _json(value: object) -> Any:
    """What orjson cannot write itself: a model among the properties (written as FastAPI writes it)."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    raise TypeError(f"no JSON for {type(value).__name__}")


# The properties a fix sets: what stays of ours when the database holds an older fix.
_FIX_FIELDS = ("time", "speed", "heading", "ignition", "soc", "fuel")


async def refresh(feed: LiveFeed, pool: AsyncConnectionPool[AsyncConnection]) -> None:
    """Bring the feed up to date with the database: one query of the whole live map.

    Raises:
        psycopg.OperationalError, psycopg_pool.PoolTimeout: the database cannot be reached.
    """
    # In parts of a few units each: the whole network at once (20,000 models to build) would stall sending for
    # the better part of a second; a part of about _LOAD_PART vehicles takes some tens of milliseconds.
    async with pool.connection() as conn:
        units = await _organisations(conn)
    seen: set[str] = set()
    for part in feed.parts(units, _LOAD_PART):
        async with pool.connection() as conn:
            live = await positions.live(conn, Scope(part), offline_after=feed.offline_after)
        rows = stored(live.features)
        feed.load(rows)
        seen.update(row.vehicle_id for row in rows)
    feed.keep_only(seen)


async def _organisations(conn: AsyncConnection) -> list[str]:
    found: list[str] = []
    after: str | None = None
    while True:
        page = await registry.organisations(conn, Scope(None), after=after, limit=1000)
        found += [organisation.id for organisation in page.items]
        if page.next_after is None:
            return found
        after = page.next_after


async def _refresh_forever(feed: LiveFeed, pool: AsyncConnectionPool[AsyncConnection], every: float) -> None:
    while True:
        await asyncio.sleep(every)
        try:
            await refresh(feed, pool)
        except (psycopg.OperationalError, PoolTimeout) as exc:
            log.warning("live map: the database did not answer (%s); the map holds what it has", exc)


async def _tick_forever(feed: LiveFeed, every: float) -> None:
    while True:
        await asyncio.sleep(every)
        feed.tick(datetime.now(UTC))


# How far back each look at live_position reaches before the newest receipt time it saw: a collector's batch
# commits after its messages' receipt, so a row may appear later than a newer one. What the overlap misses, the
# next refresh brings.
_OVERLAP = timedelta(seconds=2)


async def poll(feed: LiveFeed, conn: AsyncConnection, since: datetime) -> datetime:
    """Take the live_position rows received after `since`; returns the newest receipt time seen (or `since`)."""
    cur = await conn.execute(
        """SELECT vehicle_id, time, latitude, longitude, speed, heading, ignition, soc, fuel, received_at
           FROM live_position WHERE received_at > %s""",
        (since,),
    )
    fixes = [Fix(*row) for row in await cur.fetchall()]
    feed.take(fixes)
    return max((f.received_at for f in fixes), default=since)


async def _poll_forever(feed: LiveFeed, pool: AsyncConnectionPool[AsyncConnection], every: float) -> None:
    newest = datetime.now(UTC)
    while True:
        await asyncio.sleep(every)
        try:
            async with pool.connection() as conn:
                newest = max(newest, await poll(feed, conn, newest - _OVERLAP))
        except (psycopg.OperationalError, PoolTimeout) as exc:
            log.warning("live map: the database did not answer (%s); retrying", str(exc).strip()[:200])


@asynccontextmanager
async def open_feed(pool: AsyncConnectionPool[AsyncConnection], settings: Settings) -> AsyncIterator[LiveFeed]:
    """The live feed of this process, loaded from the database before it is handed out.

    Raises:
        psycopg.OperationalError: the database does not answer the first load.
    """
    feed = LiveFeed(settings.vehicle_offline_seconds)
    await refresh(feed, pool)
    feed.tick(datetime.now(UTC))  # what was loaded counts as sent: subscribers start from snapshots
    async with running(
        _refresh_forever(feed, pool, settings.live_refresh_seconds),
        _poll_forever(feed, pool, settings.live_batch_ms / 1000),
        _tick_forever(feed, settings.live_batch_ms / 1000),
    ):
        yield feed
