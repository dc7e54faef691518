"""The mileage roll-up: `mileage_trip` and `mileage_day` kept equal to api/dispatch's rules over all positions.

Kilometres of a city's months of positions cannot be counted per request, so they are counted once, as the energy
roll-up counts consumption (api/energy/rollup.py), and reports read the results:

- `mileage_trip`: every trip `trips.trips` finds on the track `track.clean` keeps, whole, on the local day it
  started (distance from the odometer when plausible, else from the track: trips.py's rule 6).
- `mileage_day`: per vehicle and local day, the sum of those trips (kilometres, how many of them from the
  odometer, trips, seconds on the move, top speed), the fixes received, and the day's first and last rest point.

The collector marks a vehicle stale from its earliest new fix on, in the transaction that stores the fixes
(db/marks.py). `refresh` recounts a stale vehicle from its last stored rest point before that fix: a fix after
which no trip can be open, whatever the fixes before it (`rest_points`). Trips before a rest point end at or
before it and depend on nothing after it, so they stay as stored; the trips after it are found again from the
positions and replace the stored ones, and the days from the rest point's day on are summed again. A late or
out-of-order batch (a blind-zone upload, a shared subscription's collectors finishing out of order) therefore
leaves the same rows as the fixes arriving in order would: those of the rules over the whole track.

The one approximation: a recount reads the track from its rest point, and `track.clean` judges the first fix of
a track by the fixes after it, not by the one before. When it would drop the rest point (a burst of agreeing
GNSS spikes right after it), the recount starts from an earlier rest point instead.

Refreshers may run side by side (each API process runs `maintain`; `yiwang mileage refresh|rebuild` runs one by
hand): a vehicle is recounted under a transaction-scoped advisory lock, which a second refresher skips.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from api.background import drain, periodically
from api.dispatch import packed, track, trips
from api.dispatch.track import Fix, TrackRules
from api.dispatch.trips import Trip, TripRules
from api.tracks import track_rules, trip_rules
from db.marks import BEFORE_ALL, MILEAGE
from yiwang.settings import Settings

log = logging.getLogger(__name__)

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
        """The basis the settings give (the zone of YIWANG_ENERGY_ZONE: one calendar for every report)."""
        return cls(settings.zone, track_rules(settings), trip_rules(settings))

    @property
    def rules(self) -> str:
        """The thresholds, as stored beside the roll-up to tell when they changed."""
        return f"{self.track!r} {self.trip!r}"


class BasisMismatch(RuntimeError):
    """The roll-up was counted in another zone or with other rules than the settings say."""


def rest_points(kept: Sequence[Fix], rules: TripRules) -> list[datetime]:
    """The times of the fixes of a cleaned track after which no trip is open, the track read with none open first.

    Reading the track again from such a fix, with no trip open, finds the same trips after it as reading it
    from its first fix. This follows trips.py's rules: a trip opens at a moving fix (rule 1) and is over at an
    ignition-off fix (rule 3, with `use_ignition`), at a fix after a gap of more than `max_gap_seconds` (rule 4),
    or at a fix `min_stop_seconds` after the first fix of a standstill (rule 2); a fix that opens a trip, or comes
    while one may still go on, is no rest point. tests/api/test_mileage.py checks it against `trips.trips`.

    Args:
        kept: a cleaned track in time order (`track.clean(...).kept`).
        rules: the thresholds of `trips.trips`.
    """
    found: list[datetime] = []
    open_trip = False
    halt: datetime | None = None  # first standstill fix since the open trip's last moving one
    previous: datetime | None = None
    for fix in kept:
        if open_trip and previous is not None:
            gap = (fix.time - previous).total_seconds() > rules.max_gap_seconds
            parked = halt is not None and (fix.time - halt).total_seconds() >= rules.min_stop_seconds
            if gap or parked:
                open_trip, halt = False, None
        if rules.use_ignition and not fix.ignition:
            open_trip, halt = False, None
        elif fix.speed >= rules.moving_kmh:
            open_trip, halt = True, None
        elif open_trip and halt is None:
            halt = fix.time
        if not open_trip:
            found.append(fix.time)
        previous = fix.time
    return found


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


async def rebuild(pool: AsyncConnectionPool, basis: Basis) -> int:
    """Recount every vehicle from its first stored position, with `basis` (after a change of zone or rules).

    Trips older than the oldest stored position (positions dropped by a retention policy) stay as counted.

    Returns:
        How many vehicles were recounted.
    """
    async with pool.connection() as conn, conn.transaction():
        await conn.execute(
            """INSERT INTO mileage_basis (zone, rules) VALUES (%s, %s)
               ON CONFLICT (only_row) DO UPDATE SET zone = EXCLUDED.zone, rules = EXCLUDED.rules""",
            (basis.zone.key, basis.rules),
        )
        await MILEAGE.mark_all(conn)
    return await catch_up(pool, basis)


async def catch_up(pool: AsyncConnectionPool, basis: Basis) -> int:
    """Refresh until nothing is marked (what another process is recounting meanwhile included); returns how many
    vehicles this process recounted."""
    return await drain(lambda: refresh(pool, basis), lambda: pending(pool))


async def maintain(pool: AsyncConnectionPool, basis: Basis, every: float) -> None:
    """Refresh every `every` seconds until cancelled; a failure is logged and retried at the next turn."""
    await periodically(lambda: refresh(pool, basis), every, "mileage roll-up (vehicles)", refusals=(BasisMismatch,))


async def _check_basis(conn: AsyncConnection, basis: Basis) -> None:
    cur = await conn.execute(
        """INSERT INTO mileage_basis (zone, rules) VALUES (%s, %s) ON CONFLICT (only_row) DO UPDATE
           SET zone = mileage_basis.zone RETURNING zone, rules""",
        (basis.zone.key, basis.rules),
    )
    row = await cur.fetchone()
    if row is not None and (row[0], row[1]) != (basis.zone.key, basis.rules):
        raise BasisMismatch(
            f"the mileage roll-up counts local days of {row[0]} with {row[1]}; the settings say {basis.zone.key} "
            f"with {basis.rules}: run `yiwang mileage rebuild` to recount it with the settings"
        )


async def _refresh_vehicle(conn: AsyncConnection, basis: Basis, vehicle_id: str) -> int:
    async with conn.transaction():
        # The claim (db/marks.py): positions stored meanwhile wait for this transaction and mark anew; a failed
        # recount rolls the claim back.
        since = await MILEAGE.claim(conn, vehicle_id)
        if since is None:
            return 0  # another refresher is recounting it, or has since it was listed
        await packed.unpack_from(conn, vehicle_id, since)  # the packed hours of the track follow the same mark
        cur = await conn.execute("SELECT 1 FROM vehicle WHERE id = %s", (vehicle_id,))
        if await cur.fetchone() is None:  # no longer registered: nothing of it is counted
            await conn.execute("DELETE FROM mileage_trip WHERE vehicle_id = %s", (vehicle_id,))
            await conn.execute("DELETE FROM mileage_day WHERE vehicle_id = %s", (vehicle_id,))
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
    cur = await conn.execute(
        """SELECT first_rest, last_rest FROM mileage_day
           WHERE vehicle_id = %s AND first_rest < %s ORDER BY day DESC LIMIT 1""",
        (vehicle_id, before),
    )
    row = await cur.fetchone()
    if row is None:
        return None
    first, last = row
    return _Restart(last if last < before else first, first)


async def _recount(conn: AsyncConnection, basis: Basis, vehicle_id: str, since: datetime) -> None:
    restart = await _restart_point(conn, vehicle_id, since)
    while True:
        counted = await _count(conn, basis, vehicle_id, None if restart is None else restart.time)
        if counted is not None or restart is None:
            break
        restart = await _restart_point(conn, vehicle_id, restart.time)  # it was dropped: an earlier one
    if counted is not None:
        await _write(conn, basis.zone, vehicle_id, counted, restart)


async def _fixes(conn: AsyncConnection, vehicle_id: str, start: datetime | None, limit: int) -> list[Fix]:
    # Binary results: timestamps and floats arrive as numbers to copy, not text to parse.
    async with conn.cursor(binary=True) as cur:
        await cur.execute(
            """SELECT time, latitude, longitude, speed, heading, odometer, ignition, received_at, blind
               FROM position WHERE vehicle_id = %s AND time >= %s ORDER BY time LIMIT %s""",
            (vehicle_id, start if start is not None else BEFORE_ALL, limit),
        )
        return [Fix(*row) for row in await cur.fetchall()]


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
        raw = await _fixes(conn, vehicle_id, start, size)
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


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone)


async def _write(
    conn: AsyncConnection, zone: ZoneInfo, vehicle_id: str, counted: _Count, restart: _Restart | None
) -> None:
    """Replace the trips after the restart point and the days from its day on with what was counted."""
    first_day = counted.start.astimezone(zone).date()
    rests = dict(counted.rests)
    if restart is not None and first_day in rests:
        # The day of the restart point: its rest points before the restart point stay as they were.
        rests[first_day] = (restart.day_first_rest, rests[first_day][1])
    # From the restart point on (no trip starts at a rest point), or from the first fix when counting from the
    # beginning: trips before the oldest stored position (dropped by a retention policy) stay as counted.
    await conn.execute(
        "DELETE FROM mileage_trip WHERE vehicle_id = %s AND start_time >= %s", (vehicle_id, counted.start)
    )
    if counted.trips:
        async with (
            conn.cursor() as cur,
            cur.copy(
                """COPY mileage_trip (vehicle_id, start_time, end_time, day, distance_km, distance_source, max_speed,
                   fixes, start_latitude, start_longitude, end_latitude, end_longitude) FROM STDIN"""
            ) as copy,
        ):
            for t in counted.trips:
                await copy.write_row(
                    (vehicle_id, t.start_time, t.end_time, t.start_time.astimezone(zone).date(), t.distance_km,
                     t.distance_source, t.max_speed, t.fix_count, t.start_latitude, t.start_longitude,
                     t.end_latitude, t.end_longitude)
                )  # fmt: skip
    await conn.execute("DELETE FROM mileage_day WHERE vehicle_id = %s AND day >= %s", (vehicle_id, first_day))
    days = sorted(rests)
    await conn.execute(
        """WITH received AS (
               SELECT (time AT TIME ZONE %(zone)s)::date AS day, count(*) AS fixes, min(time) AS first_fix,
                      max(time) AS last_fix
               FROM position WHERE vehicle_id = %(vehicle)s AND time >= %(from)s GROUP BY 1
           ), travelled AS (
               SELECT day, sum(distance_km) AS km,
                      coalesce(sum(distance_km) FILTER (WHERE distance_source = 'odometer'), 0) AS odometer_km,
                      count(*) AS trips, sum(extract(epoch FROM end_time - start_time)) AS moving_seconds,
                      max(max_speed) AS max_speed
               FROM mileage_trip WHERE vehicle_id = %(vehicle)s AND day >= %(day)s GROUP BY day
           ), rested AS (
               SELECT * FROM unnest(%(days)s::date[], %(firsts)s::timestamptz[], %(lasts)s::timestamptz[])
                   AS r (day, first_rest, last_rest)
           )
           INSERT INTO mileage_day (vehicle_id, day, km, odometer_km, trips, moving_seconds, max_speed, fixes,
                                    first_fix, last_fix, first_rest, last_rest)
           SELECT %(vehicle)s, day, coalesce(t.km, 0), coalesce(t.odometer_km, 0), coalesce(t.trips, 0),
                  coalesce(t.moving_seconds, 0), t.max_speed, coalesce(f.fixes, 0), f.first_fix, f.last_fix,
                  r.first_rest, r.last_rest
           FROM received f FULL JOIN travelled t USING (day) LEFT JOIN rested r USING (day)""",
        {
            "zone": zone.key,
            "vehicle": vehicle_id,
            "from": _midnight(first_day, zone),
            "day": first_day,
            "days": days,
            "firsts": [rests[d][0] for d in days],
            "lasts": [rests[d][1] for d in days],
        },
    )
