"""The live map in memory: each vehicle's newest fix, read from what the collectors committed, served to
GET /positions/live and fanned out to the map's WebSocket clients with the alerts they may see.

One `LiveFeed` per API process, opened in the lifespan with `open_feed`. It

- loads the whole map (every vehicle with a fix that is not retired: unit, plate, lifecycle, open request and
  driver, newest fix) in one query at start and every `live_refresh_seconds`, a safety net for anything missed;
- reads the rows of `live_position` that collectors changed since its last look, every `live_batch_ms`, in one
  query for all its clients (by the transaction that changed them: migration 0015 and `poll`), so
  the map shows what was accepted and stored, nothing the collector refused, and the API needs no broker
  account and no copy of the device contract (the collector and the API do not import each other);
- LISTENs for `yiwang_vehicle` (a trigger names each vehicle whose registry row or open request changed:
  migration 0014) and reloads those vehicles at its next look, so a dispatch or a vehicle sent to the
  workshop shows within a look, in every API process; and for `yiwang_alert` (the supervisor names the alerts it
  committed), which it reads and pushes to the subscribers whose units they concern;
- keeps the newest fix per vehicle by fix time: a blind-zone resend that arrives late never moves a vehicle back;
- every `live_batch_ms` offers each subscriber the features its filter keeps, plus the ids of vehicles that left
  its filter (out of the box, another unit, another state).

GET /positions/live is answered from memory after a look of its own (`current`), so it holds every fix committed
before it was asked, and costs no query per vehicle: 20,000 vehicles are one buffer of JSON kept up to date.

A subscriber's mailbox holds at most one entry per vehicle, the newest: a client that reads slowly gets the newest
position of every vehicle that changed, never a backlog, and its memory is bounded by the vehicles it may see.
No client costs a database query after its connection is accepted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections import deque
from collections.abc import AsyncIterator, Callable, Collection, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple, get_args

import numpy as np
import orjson
import psycopg
from psycopg import AsyncConnection, sql
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from api import alerts as alerts_db
from api.access import Scope
from api.background import running
from api.positions import LiveState
from api.requests import OPEN_STATES
from yiwang.settings import Settings

log = logging.getLogger(__name__)

# Times as pydantic writes them in the API's other answers (UTC with Z), so that all say the same.
_JSON = orjson.OPT_UTC_Z
_RETRY_MAX_SECONDS = 10.0
# Vehicles handled between two yields to the event loop in a full load: a share of a second's work each.
_LOAD_PART = 2_000
# Alerts a subscriber keeps for sending; beyond that the oldest go (the alert list is the record, not the stream).
_ALERTS_KEPT = 1_000
VEHICLE_CHANNEL = "yiwang_vehicle"
ALERT_CHANNEL = "yiwang_alert"
_BEYOND_ASCII = re.compile(r"[^\x00-\x7f]")
# On the whole map, a feature's age and what follows it are written at fixed widths (JSON allows the spaces that
# pad them), so that it is kept in one buffer and each request writes only these fields in place (see _Whole).
# An age has ten digits of whole seconds, 317 years: beyond any fix the collector takes (none before 2000); an
# older one would show as the widest age.
_AGE_DIGITS = 10
_AGE_WIDTH = _AGE_DIGITS + 4  # and a point and milliseconds
_AGE_MAX_MS = 10 ** (_AGE_DIGITS + 3) - 1
_TAIL_WIDTH = len(b',"online":false,"state":""}}') + max(map(len, get_args(LiveState)))  # the longest tail
_COLLECTION = b'{"type":"FeatureCollection","features":['
_AGE_BLANK = b" " * _AGE_WIDTH
# Room a feature's slot on the whole map leaves to grow (a fix's numbers and time are not always as long).
_SLOT_SPARE = 16


def ascii_json(data: bytes) -> bytes:
    """The same JSON with every character beyond ASCII written as a \\u escape (two, as UTF-16, beyond the BMP).

    What the map sends goes out as WebSocket text, which the server encodes again for every client. A plate's 赣
    makes Python's string of a whole batch one of 2-byte characters, encoded character by character for every
    client; an ASCII one is copied. So features, alerts and removed ids are escaped once, when they are encoded.
    """
    if data.isascii():
        return data
    return _BEYOND_ASCII.sub(_escaped, data.decode()).encode()


def _escaped(found: re.Match[str]) -> str:
    code = ord(found.group())
    if code < 0x10000:
        return f"\\u{code:04x}"
    high, low = divmod(code - 0x10000, 0x400)
    return f"\\u{0xD800 + high:04x}\\u{0xDC00 + low:04x}"


class Key(NamedTuple):
    """What a filter looks at: where a vehicle belongs, where it is, and its state."""

    organisation_id: str
    longitude: float
    latitude: float
    state: LiveState


@dataclass(frozen=True, slots=True)
class Filter:
    """Which vehicles a subscriber receives: the conditions of GET /positions/live, in memory.

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

    @property
    def everything(self) -> bool:
        return self.organisations is None and self.bbox is None and self.states is None

    def matches(self, key: Key) -> bool:
        if self.organisations is not None and key.organisation_id not in self.organisations:
            return False
        if self.bbox is not None:
            west, south, east, north = self.bbox
            if not (west <= key.longitude <= east and south <= key.latitude <= north):
                return False
        return self.states is None or key.state in self.states

    def concerns(self, organisation_id: str) -> bool:
        """Whether an alert of this unit is for this subscriber (the unit alone decides: an alert is news
        wherever the vehicle is)."""
        return self.organisations is None or organisation_id in self.organisations


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
            removed = ascii_json(
                orjson.dumps([vehicle_id for vehicle_id, data in self.changes.items() if data is None])
            )
            self._text = (b'{"type":"changes","features":[' + features + b'],"removed":' + removed + b"}").decode()
        return self._text


class Subscription:
    """One client's mailbox: at most one entry per vehicle, the newest, and the alerts not yet sent.

    Args:
        filter: what the client receives.
        snapshot: the FeatureCollection the client starts from (JSON), taken as it subscribed.
        alerts: whether the client may read alerts (they are pushed only then).
    """

    def __init__(self, filter: Filter, snapshot: bytes, *, alerts: bool = False) -> None:
        self.filter = filter
        self.snapshot = snapshot
        self.alerts = alerts
        self._pending: Batch | None = None
        self._own = False  # whether _pending is this mailbox's alone (merged), or its group's batch
        self._alerts: deque[bytes] = deque(maxlen=_ALERTS_KEPT)
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

    def offer_alert(self, alert: bytes) -> None:
        self._alerts.append(alert)
        self._ready.set()

    async def next(self) -> list[str]:
        """Wait for news and take all that is waiting, as messages: the alerts first, then the changes."""
        await self._ready.wait()
        self._ready.clear()
        messages = []
        if self._alerts:
            messages.append((b'{"type":"alerts","alerts":[' + b",".join(self._alerts) + b"]}").decode())
            self._alerts.clear()
        taken, self._pending, self._own = self._pending, None, False
        if taken is not None:
            messages.append(taken.text)
        return messages


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


class Idle(NamedTuple):
    """A vehicle on no request and not in the workshop, as the map shows it now."""

    vehicle_id: str
    organisation_id: str
    plate: str
    latitude: float
    longitude: float
    soc: float | None
    online: bool
    age_seconds: float


class Vehicle(NamedTuple):
    """A vehicle on the map as the database says: its registry facts, its open request, its newest fix."""

    vehicle_id: str
    organisation_id: str
    plate: str
    lifecycle: str  # active or maintenance (retired vehicles are not on the map)
    request_id: int | None  # its open (dispatched or under way) trip request
    request_state: str | None
    driver_id: int | None
    fix: Fix


_MAP_QUERY = """
    SELECT v.id, v.organisation_id, v.plate, v.lifecycle, r.id, r.state, r.driver_id,
           p.time, p.latitude, p.longitude, p.speed, p.heading, p.ignition, p.soc, p.fuel, p.received_at
    FROM vehicle v
    JOIN live_position p ON p.vehicle_id = v.id
    -- At most one open request per vehicle (a unique index of trip_request): the join adds no rows.
    LEFT JOIN trip_request r ON r.vehicle_id = v.id AND r.state = ANY(%(open)s)
    WHERE v.lifecycle <> 'retired' {only}"""


def _vehicle(row: Sequence[Any]) -> Vehicle:
    fix = Fix(row[0], row[7].astimezone(UTC), *row[8:])
    return Vehicle(row[0], row[1], row[2], row[3], row[4], row[5], row[6], fix)


async def vehicles(conn: AsyncConnection, only: Collection[str] | None = None) -> list[Vehicle]:
    """The map as the database holds it: every vehicle, or `only` these (those retired or without a fix are not
    among them)."""
    params: dict[str, object] = {"open": sorted(OPEN_STATES)}
    condition = sql.SQL("")
    if only is not None:
        condition = sql.SQL("AND v.id = ANY(%(only)s)")
        params["only"] = list(only)
    cur = await conn.execute(sql.SQL(_MAP_QUERY).format(only=condition), params)
    return [_vehicle(row) for row in await cur.fetchall()]


@dataclass(slots=True, eq=False)
class _OnMap:
    """A vehicle on the map, with its feature's JSON kept while nothing of it changes."""

    facts: tuple[str, str, str, int | None, str | None, int | None]  # organisation, plate, lifecycle, request
    fix: Fix
    stamp: float = 0.0  # the fix time in seconds since the epoch: set from `fix`, compared with the clock
    online: bool = True  # as last sent
    _json: bytes | None = None  # the feature up to its age
    _tails: tuple[bytes, bytes] | None = None  # what follows the age when offline, and when online

    def __post_init__(self) -> None:
        self.stamp = self.fix.time.timestamp()

    def move(self, fix: Fix) -> None:
        self.fix, self.stamp, self._json = fix, fix.time.timestamp(), None

    def change(self, facts: tuple[str, str, str, int | None, str | None, int | None]) -> None:
        self.facts, self._json, self._tails = facts, None, None

    @property
    def organisation_id(self) -> str:
        return self.facts[0]

    def state(self, online: bool) -> LiveState:
        """Maintenance first, then offline (silent too long), then under way on a request (in service),
        dispatched on one, else available."""
        _, _, lifecycle, _, request_state, _ = self.facts
        if lifecycle == "maintenance":
            return "maintenance"
        if not online:
            return "offline"
        if request_state == "under_way":
            return "in_service"
        return "dispatched" if request_state == "dispatched" else "available"

    def key(self, online: bool) -> Key:
        return Key(self.facts[0], self.fix.longitude, self.fix.latitude, self.state(online))

    def parts(self, vehicle_id: str, now: float, online: bool) -> tuple[bytes, bytes, bytes]:
        """The feature as GeoJSON in three parts: up to its age (encoded once), the age as of `now` (seconds since
        the epoch), and the rest (online and state: one of two, kept). Twenty thousand of them make a map."""
        return self.head(vehicle_id), _age(now - self.stamp), self.tails()[online]

    def head(self, vehicle_id: str) -> bytes:
        """The feature up to its age, encoded once while nothing of it changes."""
        if self._json is None:
            organisation_id, plate, _, request_id, _, driver_id = self.facts
            fix = self.fix
            feature = {
                "type": "Feature",
                "id": vehicle_id,
                "geometry": {"type": "Point", "coordinates": [fix.longitude, fix.latitude]},
                "properties": {
                    "vehicle_id": vehicle_id,
                    "plate": plate,
                    "organisation_id": organisation_id,
                    "time": fix.time,
                    "speed": fix.speed,
                    "heading": fix.heading,
                    "ignition": fix.ignition,
                    "soc": fix.soc,
                    "fuel": fix.fuel,
                    "request_id": request_id,
                    "driver_id": driver_id,
                },
            }
            # The clock's fields follow.
            self._json = ascii_json(orjson.dumps(feature, option=_JSON)[:-2]) + b',"age_seconds":'
        return self._json

    def tails(self) -> tuple[bytes, bytes]:
        """What follows the age in the feature: offline, online."""
        if self._tails is None:
            self._tails = (
                b',"online":false,"state":"%s"}}' % self.state(False).encode(),
                b',"online":true,"state":"%s"}}' % self.state(True).encode(),
            )
        return self._tails

    def feature(self, vehicle_id: str, now: float, online: bool) -> bytes:
        return b"".join(self.parts(vehicle_id, now, online))


def _age(seconds: float) -> bytes:
    """An age in seconds to the millisecond, as the whole map's `_ages` rounds it, but not padded: a feature sent
    on its own (a stream's change, a filtered map) has no slot to keep."""
    milliseconds = min(max(round(seconds * 1000), 0), _AGE_MAX_MS)
    return b"%d.%03d" % divmod(milliseconds, 1000)


# The columns of an age's digits, right to left, skipping the point: the rest is divided by ten once per column
# (a third of the time of dividing by each power of ten).
_DIGIT_COLUMNS = (*range(_AGE_WIDTH - 1, _AGE_DIGITS, -1), *range(_AGE_DIGITS - 1, -1, -1))
# A whole-seconds digit is a space while the age is below its power of ten; the units digit always shows.
_BLANK_BELOW = np.array([10**k if k else 0 for k in range(_AGE_DIGITS - 1, -1, -1)], dtype=np.int64)
_AGE_COLUMNS = np.arange(_AGE_WIDTH)
_TAIL_COLUMNS = np.arange(_TAIL_WIDTH)


def _ages(seconds: np.ndarray) -> np.ndarray:
    """Ages rounded as `_age` rounds them, right-aligned in rows of _AGE_WIDTH bytes (uint8)."""
    milliseconds = np.clip(np.rint(seconds * 1000), 0, _AGE_MAX_MS).astype(np.int64)
    written = np.empty((len(seconds), _AGE_WIDTH), dtype=np.uint8)
    rest = milliseconds
    for column in _DIGIT_COLUMNS:
        rest, written[:, column] = np.divmod(rest, 10)
    written += ord("0")
    written[:, _AGE_DIGITS] = ord(".")
    written[:, :_AGE_DIGITS][milliseconds[:, None] // 1000 < _BLANK_BELOW] = ord(" ")
    return written


@dataclass
class _Layout:
    """Where the whole map's features lie in its buffer: each in a slot of its own with room to spare."""

    buffer: bytearray
    starts: np.ndarray  # of the slots
    sizes: np.ndarray  # of the slots
    ages: np.ndarray  # (vehicles, _AGE_WIDTH): where each age's bytes are
    online: np.ndarray  # the tail each slot holds: online, or offline

    @classmethod
    def of(cls, features: list[bytes], heads: np.ndarray, sizes: np.ndarray) -> _Layout:
        """Features in slots of the `sizes` given (at least each feature's length and the spare), comma-separated."""
        spans = sizes + 1
        starts = len(_COLLECTION) + np.cumsum(spans) - spans
        buffer = bytearray(b",").join(
            [feature.ljust(size) for feature, size in zip(features, sizes.tolist(), strict=True)]
        )
        buffer[:0] = _COLLECTION
        buffer += b"]}"
        ages = (starts + heads)[:, None] + _AGE_COLUMNS
        return cls(buffer, starts, sizes.copy(), ages, np.ones(len(features), dtype=bool))  # its own slots' sizes

    def put(self, i: int, feature: bytes, head: int) -> bool:
        """Write a feature (with its online tail) in its slot if it fits; returns whether it did."""
        start, size = int(self.starts[i]), int(self.sizes[i])
        if len(feature) > size:
            return False
        self.buffer[start : start + size] = feature.ljust(size)
        self.ages[i] = start + head + _AGE_COLUMNS
        self.online[i] = True
        return True


def _padded(tail: bytes) -> bytes:
    return tail[:-2].ljust(_TAIL_WIDTH - 2) + tail[-2:]


@dataclass
class _Whole:
    """The whole map's JSON in one buffer, in id order, each vehicle's feature in a slot of its own with room to
    spare, and its age and tail (online and state) at fixed widths: padded with spaces, which JSON allows, some
    8% of the map's bytes.

    A vehicle that moves is written again in its slot; a request writes every age, and the tails of vehicles whose
    online state changed, in place as arrays, and copies the buffer once. Only a feature outgrowing its slot has
    the buffer laid out again, at the next request, its slot grown for good (slots never shrink, so a feature that
    changes length back and forth does not lay the map out again each time).
    """

    order: list[str]
    at: dict[str, int]  # a vehicle's place in `order`
    features: list[bytes]  # with the age blank and the online tail
    stamps: np.ndarray  # the fix times, seconds since the epoch
    tails: np.ndarray  # (vehicles, 2, _TAIL_WIDTH) uint8: offline, online
    heads: np.ndarray  # where each age begins within its feature
    sizes: np.ndarray  # of the slots: at least each feature's length and the spare
    layout: _Layout | None = None  # None: to lay out at the next request

    @classmethod
    def of(cls, order: list[str], shown: dict[str, _OnMap]) -> _Whole:
        on_map = [shown[vehicle_id] for vehicle_id in order]
        heads = [vehicle.head(vehicle_id) for vehicle_id, vehicle in zip(order, on_map, strict=True)]
        tails = [tuple(map(_padded, vehicle.tails())) for vehicle in on_map]
        features = [head + _AGE_BLANK + online for head, (_, online) in zip(heads, tails, strict=True)]
        return cls(
            order,
            {vehicle_id: i for i, vehicle_id in enumerate(order)},
            features,
            np.array([vehicle.stamp for vehicle in on_map], dtype=np.float64),
            np.frombuffer(b"".join(offline + online for offline, online in tails), dtype=np.uint8)
            .reshape(len(order), 2, _TAIL_WIDTH)
            .copy(),
            np.fromiter(map(len, heads), dtype=np.int64, count=len(heads)),
            np.fromiter(map(len, features), dtype=np.int64, count=len(features)) + _SLOT_SPARE,
        )

    def rewrite(self, vehicle_id: str, shown: _OnMap) -> None:
        i = self.at[vehicle_id]
        head = shown.head(vehicle_id)
        offline, online = map(_padded, shown.tails())
        feature = self.features[i] = head + _AGE_BLANK + online
        self.stamps[i] = shown.stamp
        self.tails[i] = np.frombuffer(offline + online, dtype=np.uint8).reshape(2, _TAIL_WIDTH)
        self.heads[i] = len(head)
        if len(feature) > self.sizes[i]:
            self.sizes[i] = len(feature) + _SLOT_SPARE
        if self.layout is not None and not self.layout.put(i, feature, len(head)):
            self.layout = None

    def join(self, clock: float, cutoff: float) -> bytes:
        if not self.order:
            return _COLLECTION + b"]}"
        if self.layout is None:
            self.layout = _Layout.of(self.features, self.heads, self.sizes)
        layout = self.layout
        written = np.frombuffer(layout.buffer, dtype=np.uint8)
        written[layout.ages] = _ages(clock - self.stamps)
        online = self.stamps > cutoff
        flipped = np.flatnonzero(online != layout.online)
        if flipped.size:
            tails = layout.ages[flipped, -1:] + 1 + _TAIL_COLUMNS
            written[tails] = self.tails[flipped, online[flipped].astype(np.intp)]
            layout.online[flipped] = online[flipped]
        return bytes(layout.buffer)


@dataclass
class LiveFeed:
    """The live map of every vehicle and the subscriptions to it. Not thread-safe: one event loop owns it.

    Args:
        offline_after: seconds without a fix after which a vehicle shows offline.
    """

    offline_after: float
    polled: int = 0  # changed rows read from live_position
    _map: dict[str, _OnMap] = field(default_factory=dict)
    _order: list[str] | None = None  # the map's vehicle ids in order, kept while none comes or goes
    _changed: set[str] = field(default_factory=set)
    _sent: dict[str, Key] = field(default_factory=dict)  # what subscribers were last told of each vehicle
    _subscribers: dict[Filter, set[Subscription]] = field(default_factory=dict)
    _snapshots: dict[Filter, bytes] = field(default_factory=dict)  # valid until anything changes
    _whole: _Whole | None = None  # the whole map in id order, for snapshots of every vehicle; None: to build
    _rewrite: set[str] = field(default_factory=set)  # vehicles whose entries in `_whole` are out of date
    # Vehicles to read again at the next look: new to the map, or their registry row or request changed.
    dirty: set[str] = field(default_factory=set)
    # Vehicles the database has no map entry for (retired): their fixes are not taken until the next full load.
    _absent: set[str] = field(default_factory=set)
    _reloaded: set[str] | None = None  # while a whole load runs: the vehicles looks read again meanwhile
    alert_ids: list[int] = field(default_factory=list)  # committed alerts to push at the next look

    # ---- what comes in --------------------------------------------------------------------------------

    def take(self, fixes: Iterable[Fix]) -> int:
        """Rows of live_position changed since the last look; returns how many moved a vehicle."""
        moved = 0
        for fix in fixes:
            self.polled += 1
            shown = self._map.get(fix.vehicle_id)
            if shown is None:
                if fix.vehicle_id not in self._absent:
                    self.dirty.add(fix.vehicle_id)  # its first fix: the next look reads its unit and plate
            elif fix.time > shown.fix.time:  # else a blind-zone resend, a duplicate: the map keeps the newer fix
                shown.move(fix)
                self._changed.add(fix.vehicle_id)
                self._rewrite.add(fix.vehicle_id)
                moved += 1
        if moved:
            self._snapshots.clear()
        return moved

    def load(self, rows: Iterable[Vehicle], *, only: Collection[str] | None = None) -> None:
        """Take what the database says of vehicles: all of them, or `only` these (any of them not among the rows
        left the map). A fix of ours newer than the row's stays (its row may not have committed yet)."""
        if only is None:
            with self.loading() as take:
                take(rows)
            return
        if self._reloaded is not None:
            self._reloaded |= set(only)
        seen = self._merge(rows)
        self._drop((set(only) & self._map.keys()) - seen)
        self._absent |= set(only) - seen

    @contextlib.contextmanager
    def loading(self) -> Iterator[Callable[[Iterable[Vehicle]], None]]:
        """A load of the whole map in parts, taken as they come; when the block ends, the vehicles no part had
        leave the map (not if it raised: the load did not finish).

        Looks go on between the parts, from snapshots that may be newer than the load's: a vehicle a look read
        again meanwhile keeps what the look said (a dispatch is not undone, a retired vehicle does not come back),
        and is read once more at the next look, whose snapshot is newer than both.
        """
        self._reloaded = set()
        seen: set[str] = set()
        try:
            yield lambda rows: seen.update(self._merge(rows, skip=self._reloaded))
        except BaseException:
            self._reloaded = None
            raise
        reloaded, self._reloaded = self._reloaded, None
        self._drop(self._map.keys() - seen - reloaded)
        self._absent &= reloaded
        self.dirty |= reloaded

    def _merge(self, rows: Iterable[Vehicle], *, skip: Collection[str] | None = None) -> set[str]:
        seen = set()
        for row in rows:
            seen.add(row.vehicle_id)
            if skip is not None and row.vehicle_id in skip:
                continue
            facts = row[1:7]
            shown = self._map.get(row.vehicle_id)
            if shown is None:
                self._map[row.vehicle_id] = _OnMap(facts, row.fix)
                self._order = None
            elif facts != shown.facts or row.fix.time > shown.fix.time:
                if facts != shown.facts:
                    shown.change(facts)
                if row.fix.time > shown.fix.time:
                    shown.move(row.fix)
            else:
                continue
            self._changed.add(row.vehicle_id)
            self._rewrite.add(row.vehicle_id)
            self._snapshots.clear()
        return seen

    def _drop(self, gone: Collection[str]) -> None:
        for vehicle_id in gone:
            del self._map[vehicle_id]
            self._changed.add(vehicle_id)
        if gone:
            self._order = None
            self._snapshots.clear()

    # ---- what goes out ---------------------------------------------------------------------------------

    @contextlib.contextmanager
    def subscribe(self, filter: Filter, now: datetime | None = None, *, alerts: bool = False) -> Iterator[Subscription]:
        """A subscription for as long as the block runs, starting from a snapshot taken at once."""
        subscription = Subscription(filter, self.snapshot(filter, now or datetime.now(UTC)), alerts=alerts)
        self._subscribers.setdefault(filter, set()).add(subscription)
        try:
            yield subscription
        finally:
            group = self._subscribers[filter]
            group.discard(subscription)
            if not group:
                del self._subscribers[filter]

    def snapshot(self, filter: Filter, now: datetime) -> bytes:
        """The filter's vehicles in id order as a GeoJSON FeatureCollection: GET /positions/live's answer.

        Kept until anything changes or the next tick, for the next request or subscriber of the same filter
        (clients reconnecting together after a restart): whatever changed since it was taken is sent to every
        subscriber at the next tick anyway.
        """
        found = self._snapshots.get(filter)
        if found is None and filter.everything:
            found = self._snapshots[filter] = self._whole_map(now.timestamp())
        if found is None:
            clock = now.timestamp()
            cutoff = clock - self.offline_after
            if self._order is None:
                self._order = sorted(self._map)
            parts: list[bytes] = []
            add = parts.extend
            everything = filter.everything
            for vehicle_id in self._order:
                shown = self._map[vehicle_id]
                online = shown.stamp > cutoff
                if everything or filter.matches(shown.key(online)):
                    add(shown.parts(vehicle_id, clock, online))
                    parts.append(b",")
            if parts:
                parts.pop()  # the last comma
            found = _COLLECTION + b"".join(parts) + b"]}"
            self._snapshots[filter] = found
        return found

    def _whole_map(self, clock: float) -> bytes:
        """Every vehicle's feature, from the whole map kept in one buffer (see _Whole): a request writes the ages
        and the tails that changed, not the features; a vehicle joining or leaving the map builds it again."""
        if self._order is None or self._whole is None or self._whole.order is not self._order:
            if self._order is None:
                self._order = sorted(self._map)
            self._whole = _Whole.of(self._order, self._map)
            self._rewrite.clear()
        whole = self._whole
        for vehicle_id in self._rewrite:
            whole.rewrite(vehicle_id, self._map[vehicle_id])
        self._rewrite.clear()
        return whole.join(clock, clock - self.offline_after)

    def tick(self, now: datetime) -> int:
        """Send what changed since the last tick (and vehicles that just went offline) to every subscriber;
        returns the vehicles that changed."""
        self._snapshots.clear()
        clock = now.timestamp()
        cutoff = clock - self.offline_after
        for vehicle_id, on_map in self._map.items():
            if on_map.online != (on_map.stamp > cutoff):
                self._changed.add(vehicle_id)
        changed, self._changed = self._changed, set()
        batch = [change for vehicle_id in changed if (change := self._change(vehicle_id, clock, cutoff)) is not None]
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
        self, vehicle_id: str, clock: float, cutoff: float
    ) -> tuple[str, Key | None, Key | None, Encoded] | None:
        """A vehicle's change: what subscribers were told of it before and now, and its feature (if any)."""
        before = self._sent.pop(vehicle_id, None)
        shown = self._map.get(vehicle_id)
        if shown is None:
            return None if before is None else (vehicle_id, before, None, None)
        shown.online = shown.stamp > cutoff
        after = self._sent[vehicle_id] = shown.key(shown.online)
        data = shown.feature(vehicle_id, clock, shown.online) if self._subscribers else None
        return vehicle_id, before, after, data

    def idle(self, now: datetime) -> list[Idle]:
        """The vehicles that could be sent: available, or silent (their terminal may sleep while parked)."""
        cutoff = now - timedelta(seconds=self.offline_after)
        found = []
        for vehicle_id, shown in self._map.items():
            organisation_id, plate, lifecycle, request_id, _, _ = shown.facts
            if lifecycle == "active" and request_id is None:
                fix = shown.fix
                age = max((now - fix.time).total_seconds(), 0.0)
                found.append(
                    Idle(
                        vehicle_id, organisation_id, plate, fix.latitude, fix.longitude, fix.soc, fix.time > cutoff, age
                    )
                )
        return found

    def push_alerts(self, alerts: Iterable[alerts_db.AlertPublic]) -> int:
        """Offer alerts to the subscribers that may read them and whose units they concern; returns the offers."""
        offered = 0
        for alert in alerts:
            data = ascii_json(alert.model_dump_json().encode())
            for filter_, group in self._subscribers.items():
                if filter_.concerns(alert.organisation_id):
                    for subscription in group:
                        if subscription.alerts:
                            subscription.offer_alert(data)
                            offered += 1
        return offered

    # ---- looking at the database -----------------------------------------------------------------------

    async def look(self, conn: AsyncConnection, mark: int) -> int:
        """One look at the database: positions changed by transactions from `mark` on, vehicles marked dirty,
        alerts announced. Returns the mark of the next look."""
        mark = await poll(self, conn, mark)
        if self.dirty:
            dirty, self.dirty = self.dirty, set()
            try:
                self.load(await vehicles(conn, dirty), only=dirty)
            except BaseException:
                self.dirty |= dirty
                raise
        if self.alert_ids:
            ids, self.alert_ids = self.alert_ids, []
            self.push_alerts(await alerts_db.by_ids(conn, ids))
        return mark


async def refresh(feed: LiveFeed, pool: AsyncConnectionPool[AsyncConnection]) -> None:
    """Bring the feed up to date with the database: one query of the whole live map.

    Raises:
        psycopg.OperationalError, psycopg_pool.PoolTimeout: the database cannot be reached.
    """
    async with pool.connection() as conn:
        # Begun before the query: a look that reads a vehicle after the load's snapshot was taken is known to it.
        with feed.loading() as take:
            cur = await conn.execute(sql.SQL(_MAP_QUERY).format(only=sql.SQL("")), {"open": sorted(OPEN_STATES)})
            # Rows are made from the result and taken in parts: the map's clients are served between them, and
            # each part is freed before the next is made. A whole city's rows held at once set off a collection
            # of the garbage collector's youngest generation (yiwang/cli.py's thresholds) that walked them all.
            while rows := await cur.fetchmany(_LOAD_PART):
                take(map(_vehicle, rows))
                del rows
                await asyncio.sleep(0)


async def _refresh_forever(feed: LiveFeed, pool: AsyncConnectionPool[AsyncConnection], every: float) -> None:
    while True:
        await asyncio.sleep(every)
        try:
            await refresh(feed, pool)
        except (psycopg.OperationalError, PoolTimeout) as exc:
            log.warning("live map: the database did not answer (%s); the map holds what it has", exc)


async def first_mark(conn: AsyncConnection) -> int:
    """The mark of a first look, taken before the map is first loaded: nothing committed after the load escapes."""
    cur = await conn.execute("SELECT pg_snapshot_xmin(pg_current_snapshot())::text")
    row = await cur.fetchone()
    assert row is not None
    return int(row[0])


async def poll(feed: LiveFeed, conn: AsyncConnection, mark: int) -> int:
    """Take the live_position rows changed by transactions from `mark` on; returns the next look's mark.

    The mark is the oldest transaction still running when the rows were read (the xmin of the statement's
    snapshot): whatever that snapshot could not see was changed by it or by a later one, so the next look finds
    it, however late it commits. Rows of transactions committed at or above the mark are read twice; taking a fix
    twice changes nothing.
    """
    cur = await conn.execute(
        """WITH look AS (SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS mark)
           SELECT look.mark, p.vehicle_id, p.time, p.latitude, p.longitude, p.speed, p.heading, p.ignition, p.soc,
                  p.fuel, p.received_at
           FROM look LEFT JOIN live_position p ON p.changed_xact >= %s::text::xid8""",
        (str(mark),),
    )
    rows = await cur.fetchall()
    feed.take([Fix(row[1], row[2].astimezone(UTC), *row[3:]) for row in rows if row[1] is not None])
    return int(rows[0][0])


@dataclass
class _Follower:
    """The feed's looks at the database, by the clock and when a request asks, one at a time, each from the mark
    the one before left."""

    feed: LiveFeed
    pool: AsyncConnectionPool[AsyncConnection]
    mark: int
    _begun: int = 0
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def look(self) -> None:
        async with self._lock:
            await self._look()

    async def current(self) -> None:
        """Bring the map up to date with everything committed before this call: a look of its own, unless one
        that began after the call has finished meanwhile (concurrent requests share looks)."""
        asked = self._begun
        async with self._lock:
            if self._begun == asked:
                await self._look()

    async def _look(self) -> None:
        self._begun += 1
        async with self.pool.connection() as conn:
            self.mark = await self.feed.look(conn, self.mark)

    async def forever(self, every: float) -> None:
        """Look, then send what the look brought at once: a fix waits for at most one turn, not for a look and
        then for a tick out of step with it."""
        while True:
            await asyncio.sleep(every)
            try:
                await self.look()
            except (psycopg.OperationalError, PoolTimeout) as exc:
                log.warning("live map: the database did not answer (%s); retrying", str(exc).strip()[:200])
            self.feed.tick(datetime.now(UTC))


async def _listen_forever(feed: LiveFeed, url: str) -> None:
    """Note what the database announces: vehicles changed in the registry or by a request, alerts committed.

    A notification lost while disconnected is covered by the next full refresh (every live_refresh_seconds).
    """
    delay = 0.5
    while True:
        try:
            async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
                await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(VEHICLE_CHANNEL)))
                await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(ALERT_CHANNEL)))
                delay = 0.5
                async for note in conn.notifies():
                    if note.channel == VEHICLE_CHANNEL:
                        feed.dirty.add(note.payload)
                    else:
                        try:
                            feed.alert_ids += [int(i) for i in orjson.loads(note.payload)]
                        except (orjson.JSONDecodeError, TypeError, ValueError):
                            log.warning("live map: a %s notification that is not a list of ids", ALERT_CHANNEL)
        except psycopg.OperationalError as exc:
            log.warning("live map: not listening to the database (%s); retrying", str(exc).strip()[:200])
        await asyncio.sleep(delay)
        delay = min(delay * 2, _RETRY_MAX_SECONDS)


@dataclass
class Live:
    """The feed of this process and how a request brings it up to date."""

    feed: LiveFeed
    _follower: _Follower

    async def current(self) -> LiveFeed:
        """The feed, holding every fix and change committed before this call.

        Raises:
            psycopg.OperationalError, psycopg_pool.PoolTimeout: the database cannot be reached.
        """
        await self._follower.current()
        return self.feed


@asynccontextmanager
async def open_feed(pool: AsyncConnectionPool[AsyncConnection], settings: Settings) -> AsyncIterator[Live]:
    """The live feed of this process, loaded from the database before it is handed out.

    Raises:
        psycopg.OperationalError: the database does not answer the first load.
    """
    feed = LiveFeed(settings.vehicle_offline_seconds)
    async with pool.connection() as conn:
        follower = _Follower(feed, pool, await first_mark(conn))
    await refresh(feed, pool)
    feed.tick(datetime.now(UTC))  # what was loaded counts as sent: subscribers start from snapshots
    async with running(
        _listen_forever(feed, settings.database_url),
        _refresh_forever(feed, pool, settings.live_refresh_seconds),
        follower.forever(settings.live_batch_ms / 1000),
    ):
        yield Live(feed, follower)
