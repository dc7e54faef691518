"""The mileage roll-up: `mileage_trip` and `mileage_day` kept equal to the domain's track and trip rules over all
positions.

Kilometres of a city's months of positions cannot be counted per request, so they are counted once, as the energy
roll-up counts consumption (worker/rollup.py), and reports read the results:

- `mileage_trip`: every trip `trips.trips` finds on the track `track.clean` keeps, whole, on the local day it
  started (distance from the odometer when plausible, else from the track: trips.py's rule 6), with what of it
  was derived from motion (`derived`: speed, ignition, odometer; trips.py's rules 8 and 9).
- `mileage_day`: per vehicle and local day, the sum of those trips (kilometres, how many of them from the
  odometer, trips, seconds on the move, top speed, what of them was derived), the fixes received, and the day's
  first and last rest point.

The collector marks a vehicle stale from its earliest new fix on, in the transaction that stores the fixes
(db/marks.py). `refresh` recounts a stale vehicle from its last stored rest point before that fix: a fix after
which no trip can be open, whatever the fixes before it (domain/trips.py's `rest_points`). Trips before a rest point
end at or before it and depend on nothing after it, so they stay as stored; the trips after it are found again from the
positions and replace the stored ones, and the days from the rest point's day on are summed again. A late or
out-of-order batch (a blind-zone upload, a shared subscription's collectors finishing out of order) therefore
leaves the same rows as the fixes arriving in order would: those of the rules over the whole track.

The one approximation: a recount reads the track from its rest point, and `track.clean` judges the first fix of
a track by the fixes after it, not by the one before. When it would drop the rest point (a burst of agreeing
GNSS spikes right after it), the recount starts from an earlier rest point instead.

Refreshers may run side by side (each worker runs `maintain`; `yiwang mileage refresh|rebuild` runs one by
hand): a vehicle is recounted under a transaction-scoped advisory lock, which a second refresher skips.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from db import mileage as mileage_db
from db import registry as registry_db
from db import retention, tracks
from db.marks import MILEAGE
from domain import track, trips
from domain.track import TrackRules
from domain.trips import Trip, TripRules, rest_points
from worker.metrics import Metrics
from worker.turns import TOLD_TURN, Told, drain, periodically
from yiwang.settings import Settings

log = logging.getLogger(__name__)

JOB = "mileage"  # the job's name in the worker's metrics and health

# Fixes read at once by a recount: a week or more of a vehicle's reports. A longer recount (a rebuild, a batch
# months late) goes on from the last rest point of each such chunk, so memory stays bounded.
_CHUNK = 100_000


@dataclass(frozen=True, slots=True)
class Basis:
    """What the roll-up counts with: the zone of its local days and the rules of tracks and trips."""

    zone: ZoneInfo
    track: TrackRules
    trip: TripRules

    @classmethod
    def of(cls, settings: Settings) -> Basis:
        """The basis the settings give (the city's time_zone: one calendar for every report)."""
        return cls(settings.zone, settings.track_rules, settings.trip_rules)

    @property
    def rules(self) -> str:
        """The thresholds, as stored beside the roll-up to tell when they changed."""
        return f"{self.track!r} {self.trip!r}"


class BasisMismatch(RuntimeError):
    """The roll-up was counted in another zone or with other rules than the settings say."""


async def refresh(pool: AsyncConnectionPool, basis: Basis, *, limit: int = 10_000) -> int:
    """Recount the vehicles marked stale (up to `limit` of them, those stale from the earliest fix first), each in
    its own transaction; a vehicle another refresher is recounting right now is left to it.

    Returns:
        How many vehicles this call recounted.

    Raises:
        BasisMismatch: the roll-up was counted in another zone or with other rules; `yiwang mileage rebuild`
            recounts it.
    """
    async with pool.connection() as conn:
        await _check_basis(conn, basis)
        stale = await MILEAGE.listed(conn, limit)
        await conn.commit()
        done = 0
        for vehicle_id in stale:
            done += await _refresh_vehicle(conn, basis, vehicle_id)
        return done


async def pending(pool: AsyncConnectionPool) -> int:
    """How many vehicles are marked stale."""
    async with pool.connection() as conn:
        return await MILEAGE.pending(conn)


async def rebuild(pool: AsyncConnectionPool, basis: Basis, *, told: Told | None = None) -> int:
    """Recount every vehicle from its first stored position, with `basis` (after a change of zone or rules).

    Trips and days counted from positions that retention dropped stay as counted (`_last_day_behind`).

    Returns:
        How many vehicles were recounted.
    """
    async with pool.connection() as conn, conn.transaction():
        await mileage_db.set_basis(conn, basis.zone.key, basis.rules)
        await MILEAGE.mark_all(conn)
    return await catch_up(pool, basis, told=told)


async def catch_up(pool: AsyncConnectionPool, basis: Basis, *, told: Told | None = None) -> int:
    """Refresh until nothing is marked (what another process is recounting meanwhile included); returns how many
    vehicles this process recounted. `told` hears how many are done and left after each turn (of TOLD_TURN
    vehicles)."""
    limit = TOLD_TURN if told is not None else 10_000
    return await drain(lambda: refresh(pool, basis, limit=limit), lambda: pending(pool), told=told)


async def maintain(pool: AsyncConnectionPool, basis: Basis, every: float, *, metrics: Metrics | None = None) -> None:
    """Refresh every `every` seconds until cancelled; a failure is logged and retried at the next turn."""
    metrics = metrics or Metrics()

    async def turn() -> int:
        done = await refresh(pool, basis)
        metrics.backlog.labels(JOB).set(await pending(pool))
        return done

    await periodically(turn, every, JOB, metrics=metrics, refusals=(BasisMismatch,))


async def _check_basis(conn: AsyncConnection, basis: Basis) -> None:
    zone, rules = await mileage_db.stored_basis(conn, basis.zone.key, basis.rules)
    if (zone, rules) != (basis.zone.key, basis.rules):
        raise BasisMismatch(
            f"the mileage roll-up counts local days of {zone} with {rules}; the settings say {basis.zone.key} "
            f"with {basis.rules}: run `yiwang mileage rebuild` to recount it with the settings"
        )


async def _refresh_vehicle(conn: AsyncConnection, basis: Basis, vehicle_id: str) -> int:
    async with conn.transaction():
        # The claim (db/marks.py): positions stored meanwhile wait for this transaction and mark anew; a failed
        # recount rolls the claim back.
        since = await MILEAGE.claim(conn, vehicle_id)
        if since is None:
            return 0  # another refresher is recounting it, or has since it was listed
        await tracks.unpack_from(conn, vehicle_id, since)  # the packed hours of the track follow the same mark
        if not await registry_db.taken(conn, "vehicle", [vehicle_id]):  # no longer registered: nothing of it is counted
            await mileage_db.forget(conn, vehicle_id)
        else:
            await _recount(conn, basis, vehicle_id, since)
    return 1


@dataclass(frozen=True, slots=True)
class _Restart:
    """Where a recount starts: a stored rest point, and the first rest point of its day (kept for that day)."""

    time: datetime
    day_first_rest: datetime


@dataclass(slots=True)
class _Count:
    """What a recount found from its start on: trips, and each local day's first and last rest point."""

    start: datetime  # the restart point, or the first fix when counting from the beginning
    trips: list[Trip]
    rests: dict[date, tuple[datetime, datetime]]


async def _restart_point(conn: AsyncConnection, vehicle_id: str, before: datetime) -> _Restart | None:
    """The last stored rest point before `before`; None: count from the first stored position."""
    found = await mileage_db.last_rest(conn, vehicle_id, before)
    if found is None:
        return None
    first, last = found
    return _Restart(last if last < before else first, first)


async def _recount(conn: AsyncConnection, basis: Basis, vehicle_id: str, since: datetime) -> None:
    restart = await _restart_point(conn, vehicle_id, since)
    behind = await _last_day_behind(conn, basis.zone, vehicle_id)
    if behind is not None and not _after(restart, behind, basis.zone):
        kept = await mileage_db.first_rest_after(conn, vehicle_id, behind)
        if kept is None:
            log.warning(
                "mileage roll-up: no kept position of %s a recount could start from: kept as counted", vehicle_id
            )
            return
        restart = _Restart(kept, kept)
    while True:
        counted = await _count(conn, basis, vehicle_id, None if restart is None else restart.time)
        if counted is not None or restart is None:
            break
        restart = await _restart_point(conn, vehicle_id, restart.time)  # it was dropped: an earlier one
        if behind is not None and not _after(restart, behind, basis.zone):
            log.warning(
                "mileage roll-up: no kept rest point of %s a recount could start from: kept as counted", vehicle_id
            )
            return
    if counted is not None:
        await _write(conn, basis.zone, vehicle_id, counted, restart)


async def _last_day_behind(conn: AsyncConnection, zone: ZoneInfo, vehicle_id: str) -> date | None:
    """The last local day whose positions retention may have dropped in part, when the vehicle has counted days up to
    it (None: nothing was dropped, or nothing of the vehicle was counted from what was).

    Retention drops old chunks of `position` and records from when every position is kept (`raw_horizon`,
    worker/retention.py). A recount from before the day after it (a rebuild, a late batch behind it) would replace
    trips and days counted from dropped positions with what is left of them, so it starts instead at the first
    stored rest point of a later day, and the trips and days before stay as counted.
    """
    kept_from = await retention.kept_from(conn, "position")
    if kept_from is None:
        return None
    day = kept_from.astimezone(zone).date()
    return day if await mileage_db.counted_through(conn, vehicle_id, day) else None


def _after(restart: _Restart | None, day: date, zone: ZoneInfo) -> bool:
    """Whether a recount from `restart` (None: the first stored fix) starts on a local day after `day`."""
    return restart is not None and restart.time.astimezone(zone).date() > day


async def _count(conn: AsyncConnection, basis: Basis, vehicle_id: str, restart: datetime | None) -> _Count | None:
    """The trips and rest points from the rest point `restart` (None: the first fix) on.

    The track is read in chunks of `_CHUNK` fixes, each next one from the last rest point of the one before.
    Returns None when `track.clean` drops `restart` itself, or when counting from the beginning finds no fixes.
    """
    found: list[Trip] = []
    rests: list[datetime] = []
    start, size = restart, _CHUNK
    first: datetime | None = None
    while True:
        raw = await mileage_db.fixes(conn, vehicle_id, start, size)
        if first is None:
            first = raw[0].time if raw else None
        kept = track.clean(raw, basis.track).kept
        if start is not None and (not kept or kept[0].time != start):
            if start == restart:
                return None
            # A chunk's first fix dropped, read from it: read on from the rest point before it instead.
            earlier = [r for r in rests if r < start]
            start, size = (earlier[-1] if earlier else restart), 2 * size
            found = [t for t in found if start is None or t.start_time < start]
            rests = [r for r in rests if start is None or r < start]
            continue
        chunk_trips = trips.trips(kept, basis.trip)
        chunk_rests = rest_points(kept, basis.trip)
        if len(raw) < size:  # the end of the track
            found += chunk_trips
            rests += chunk_rests
            break
        # Trips before the chunk's last rest point are final: the next chunk starts there.
        cut = chunk_rests[-1] if chunk_rests and chunk_rests[-1] != start else None
        if cut is None:
            size *= 2  # no rest point in a whole chunk: read a longer one
            continue
        found += [t for t in chunk_trips if t.start_time < cut]
        rests += [r for r in chunk_rests if r < cut]
        start, size = cut, _CHUNK
    begin = restart if restart is not None else first
    if begin is None:
        return None
    by_day: dict[date, tuple[datetime, datetime]] = {}
    for rest in rests:
        day = rest.astimezone(basis.zone).date()
        by_day[day] = (by_day[day][0] if day in by_day else rest, rest)
    return _Count(begin, found, by_day)


async def _write(
    conn: AsyncConnection, zone: ZoneInfo, vehicle_id: str, counted: _Count, restart: _Restart | None
) -> None:
    """Replace the trips after the restart point and the days from its day on with what was counted."""
    first_day = counted.start.astimezone(zone).date()
    rests = dict(counted.rests)
    if restart is not None and first_day in rests:
        # The day of the restart point: its rest points before the restart point stay as they were.
        rests[first_day] = (restart.day_first_rest, rests[first_day][1])
    # From the restart point on (a trip may start at it: trips.py's rule 8 starts one where a displacement began,
    # and the recount from it finds that trip again), or from the first fix when counting from the beginning.
    await mileage_db.replace(conn, zone, vehicle_id, start=counted.start, trips=counted.trips, rests=rests)
