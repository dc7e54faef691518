"""The live map in memory: each vehicle's newest fix, read from what the collectors committed, served to
GET /positions/live and fanned out to the map's WebSocket clients with the alerts they may see.

One `LiveFeed` per API process, opened in the lifespan with `open_feed` (api/live/follower.py). It

- loads the whole map (every vehicle with a fix that is not retired: unit, plate, lifecycle, open request and
  driver, newest fix) in one query at start and every `live_refresh_seconds`, a safety net for anything missed;
- reads the rows of `live_position` that collectors changed since its last look, every `live_batch_ms`, in one
  query for all its clients (by the transaction that changed them: migration 0015 and db/live.py), so
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

import contextlib
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import orjson
from psycopg import AsyncConnection

from api.live.encoding import COLLECTION, ascii_json
from api.live.resume import History
from api.live.subscriptions import Batch, Encoded, Filter, Key, Subscription
from api.live.vehicle import Idle, OnMap
from api.live.whole import Whole
from api.supervision import alerts
from api.supervision.alerts import AlertPublic
from db import live as live_db
from db.live import LiveVehicle
from domain.position import Position


@dataclass
class LiveFeed:
    """The live map of every vehicle and the subscriptions to it. Not thread-safe: one event loop owns it.

    Args:
        offline_after: seconds without a fix after which a vehicle shows offline.
        resume_seconds: how long a client's cursor is honoured (see api/live/resume.py).
    """

    offline_after: float
    resume_seconds: float = 3600.0
    polled: int = 0  # changed rows read from live_position
    _map: dict[str, OnMap] = field(default_factory=dict)
    _order: list[str] | None = None  # the map's vehicle ids in order, kept while none comes or goes
    _changed: set[str] = field(default_factory=set)
    _sent: dict[str, Key] = field(default_factory=dict)  # what subscribers were last told of each vehicle
    _subscribers: dict[Filter, set[Subscription]] = field(default_factory=dict)
    _snapshots: dict[Filter, bytes] = field(default_factory=dict)  # valid until anything changes
    _whole: Whole | None = None  # the whole map in id order, for snapshots of every vehicle; None: to build
    _rewrite: set[str] = field(default_factory=set)  # vehicles whose entries in `_whole` are out of date
    # Vehicles to read again at the next look: new to the map, or their registry row or request changed.
    dirty: set[str] = field(default_factory=set)
    # Vehicles the database has no map entry for (retired): their fixes are not taken until the next full load.
    _absent: set[str] = field(default_factory=set)
    # Vehicles off the map whose fix a look took, until they are read: one the database then has no entry for is
    # absent. One read after the registry named it may just have no fix yet: it is not absent (see `load`).
    _fixed: set[str] = field(default_factory=set)
    _reloaded: set[str] | None = None  # while a whole load runs: the vehicles looks read again meanwhile
    alert_ids: list[int] = field(default_factory=list)  # committed alerts to push at the next look
    history: History = field(init=False)  # the map's versions: what a reconnecting client is missing

    def __post_init__(self) -> None:
        self.history = History(self.resume_seconds)

    # ---- what comes in --------------------------------------------------------------------------------

    def take(self, fixes: Iterable[Position]) -> int:
        """Rows of live_position changed since the last look; returns how many moved a vehicle."""
        moved = 0
        for fix in fixes:
            self.polled += 1
            shown = self._map.get(fix.vehicle_id)
            if shown is None:
                if fix.vehicle_id not in self._absent:
                    self.dirty.add(fix.vehicle_id)  # its first fix: the next look reads its unit and plate
                    self._fixed.add(fix.vehicle_id)
            elif fix.time > shown.fix.time:  # else a blind-zone resend, a duplicate: the map keeps the newer fix
                shown.move(fix)
                self._changed.add(fix.vehicle_id)
                self._rewrite.add(fix.vehicle_id)
                moved += 1
        if moved:
            self._snapshots.clear()
        return moved

    def load(self, rows: Iterable[LiveVehicle], *, only: Collection[str] | None = None) -> None:
        """Take what the database says of vehicles: all of them, or `only` these (any of them not among the rows
        left the map). A fix of ours newer than the row's stays (its row may not have committed yet).

        Of `only`, one not among the rows is absent (retired) if it had a fix: it was on the map, or a look took one.
        One without (the registry named it before its terminal sent anything) is not: its first fix is read."""
        if only is None:
            with self.loading() as take:
                take(rows)
            return
        asked = set(only)
        if self._reloaded is not None:
            self._reloaded |= asked
        fixed = {vehicle_id for vehicle_id in asked if vehicle_id in self._map or vehicle_id in self._fixed}
        self._fixed -= asked
        seen = self._merge(rows)
        self._drop((asked & self._map.keys()) - seen)
        self._absent |= fixed - seen

    @contextlib.contextmanager
    def loading(self) -> Iterator[Callable[[Iterable[LiveVehicle]], None]]:
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

    def _merge(self, rows: Iterable[LiveVehicle], *, skip: Collection[str] | None = None) -> set[str]:
        seen = set()
        for row in rows:
            seen.add(row.vehicle_id)
            if skip is not None and row.vehicle_id in skip:
                continue
            facts = row[1:7]
            shown = self._map.get(row.vehicle_id)
            if shown is None:
                self._map[row.vehicle_id] = OnMap(facts, row.fix)
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
    def subscribe(
        self, filter: Filter, now: datetime | None = None, *, alerts: bool = False, since: str | None = None
    ) -> Iterator[Subscription]:
        """A subscription for as long as the block runs, starting from a snapshot taken at once (what changed
        since the cursor `since`, if it can be honoured).

        Raises:
            ValueError: `since` is not a cursor.
        """
        subscription = Subscription(filter, self.snapshot(filter, now or datetime.now(UTC), since), alerts=alerts)
        self._subscribers.setdefault(filter, set()).add(subscription)
        try:
            yield subscription
        finally:
            group = self._subscribers[filter]
            group.discard(subscription)
            if not group:
                del self._subscribers[filter]

    def snapshot(self, filter: Filter, now: datetime, since: str | None = None) -> bytes:
        """The filter's vehicles in id order as a GeoJSON FeatureCollection: GET /positions/live's answer, with
        the cursor of this version of the map. Given the cursor of an earlier answer (`since`), only the vehicles
        that changed since then and the ids of those that left, unless the cursor cannot be honoured: then the
        whole map, saying why (api/live/resume.py).

        The whole map is kept until anything changes or the next tick, for the next request or subscriber of the
        same filter (clients reconnecting together after a restart): whatever changed since it was taken is sent
        to every subscriber at the next tick anyway.

        Raises:
            ValueError: `since` is not a cursor.
        """
        clock = now.timestamp()
        if since is not None:
            start = self.history.start(since, filter)
            if isinstance(start, int):
                return self._since(filter, start, clock)
            whole = self._full(filter, clock)
            return whole[: -len(self._tail(filter))] + self._tail(filter, start)
        return self._full(filter, clock)

    def _tail(self, filter: Filter, reason: str | None = None) -> bytes:
        """What follows the features of the whole map: no removals, its cursor, why it is whole."""
        return b'],"removed":[],"cursor":"%s","whole":true,"reason":%s}' % (
            self.history.cursor(filter).encode(),
            orjson.dumps(reason),
        )

    def _since(self, filter: Filter, version: int, clock: float) -> bytes:
        """The vehicles of the filter that changed after `version`, and the ids of those that may have been in it
        then and are not now (the client drops them if it has them)."""
        cutoff = clock - self.offline_after
        history = self.history
        features: list[bytes] = []
        removed: list[str] = []
        for vehicle_id in history.changed_since(version):
            shown = self._map.get(vehicle_id)
            if shown is None:  # left the map since the last tick
                key = self._sent.get(vehicle_id)
                if key is not None and filter.concerns(key.organisation_id):
                    removed.append(vehicle_id)
                continue
            online = shown.stamp > cutoff
            key = shown.key(online)
            if filter.matches(key):
                features.append(shown.feature(vehicle_id, clock, online))
            # Out of the filter now: it may have been in it, unless it was of a unit the filter does not hold.
            elif filter.concerns(key.organisation_id) or history.moved_since(vehicle_id, version):
                removed.append(vehicle_id)
        for vehicle_id, organisation_id in history.gone_since(version):
            if vehicle_id not in self._map and (
                filter.concerns(organisation_id) or history.moved_since(vehicle_id, version)
            ):
                removed.append(vehicle_id)
        return b'%s%s],"removed":%s,"cursor":"%s","whole":false,"reason":null}' % (
            COLLECTION,
            b",".join(features),
            ascii_json(orjson.dumps(removed)),
            history.cursor(filter).encode(),
        )

    def _full(self, filter: Filter, clock: float) -> bytes:
        """The filter's every vehicle, in id order, with the cursor of this version."""
        found = self._snapshots.get(filter)
        if found is None and filter.everything:
            found = self._snapshots[filter] = self._whole_map(clock, self._tail(filter))
        if found is None:
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
            found = COLLECTION + b"".join(parts) + self._tail(filter)
            self._snapshots[filter] = found
        return found

    def _whole_map(self, clock: float, tail: bytes) -> bytes:
        """Every vehicle's feature, from the whole map kept in one buffer (see Whole): a request writes the ages
        and the tails that changed, not the features; a vehicle joining or leaving the map builds it again."""
        if self._order is None or self._whole is None or self._whole.order is not self._order:
            if self._order is None:
                self._order = sorted(self._map)
            self._whole = Whole.of(self._order, self._map)
            self._rewrite.clear()
        whole = self._whole
        whole.rewrite(list(self._rewrite), self._map)
        self._rewrite.clear()
        return whole.join(clock, clock - self.offline_after, tail)

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
        if changed:
            self.history.turn(clock)
        self.history.forget(clock)
        batch = [change for vehicle_id in changed if (change := self._change(vehicle_id, clock, cutoff)) is not None]
        for filter_, group in self._subscribers.items():
            changes: dict[str, Encoded] = {}
            for vehicle_id, old, new, data in batch:
                if new is not None and filter_.matches(new):
                    changes[vehicle_id] = data
                elif old is not None and filter_.matches(old):
                    changes[vehicle_id] = None
            if changes:
                shared = Batch(changes, self.history.cursor(filter_))
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
            if before is None:
                return None
            self.history.note(vehicle_id, before, None)
            return vehicle_id, before, None, None
        shown.online = shown.stamp > cutoff
        after = self._sent[vehicle_id] = shown.key(shown.online)
        self.history.note(vehicle_id, before, after)
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

    def push_alerts(self, found: Iterable[AlertPublic]) -> int:
        """Offer alerts to the subscribers that may read them and whose units they concern; returns the offers.

        Each alert is encoded once, and each subscriber is offered its filter's alerts as one list: a supervision
        round that raises an alert for thousands of vehicles at once (a rule repeating every 10 minutes for every
        vehicle driving without a dispatch) costs a hundred clients a list each, not a call per alert each."""
        encoded = [(alert.organisation_id, ascii_json(alert.model_dump_json().encode())) for alert in found]
        offered = 0
        for filter_, group in self._subscribers.items():
            concerned = [data for organisation_id, data in encoded if filter_.concerns(organisation_id)]
            if not concerned:
                continue
            for subscription in group:
                if subscription.alerts:
                    subscription.offer_alerts(concerned)
                    offered += len(concerned)
        return offered

    # ---- looking at the database -----------------------------------------------------------------------

    async def look(self, conn: AsyncConnection, mark: int) -> int:
        """One look at the database: positions changed by transactions from `mark` on, vehicles marked dirty,
        alerts announced. Returns the mark of the next look."""
        mark, fixes = await live_db.changed(conn, mark)
        self.take(fixes)
        if self.dirty:
            dirty, self.dirty = self.dirty, set()
            try:
                self.load(await live_db.vehicles(conn, dirty), only=dirty)
            except BaseException:
                self.dirty |= dirty
                raise
        if self.alert_ids:
            ids, self.alert_ids = self.alert_ids, []
            self.push_alerts(await alerts.by_ids(conn, ids))
        return mark
