"""SQL of tracks: each vehicle's fixes packed an hour at a time (track_hour, track_packed: migration 0018), and
tracks read from them in arrays.

A one-day track is 8,640 rows of `position`, each on its own page among the whole fleet's: reading them as rows
costs a replay more than its 50 ms. Packed, a day is 24 rows of bytes that numpy reads as columns in one step.

- `pack` packs, for every vehicle, the hours that are over (ended `settle` ago) and not packed yet, a batch of
  vehicles per transaction, each batch locked (`track_packed`) while it is packed;
- `unpack_from` is called by the mileage refresher in the transaction that claims a vehicle's mark of new
  positions (mileage_stale, written by the collector with the positions): the hours from the mark's on are to be
  packed again. It waits for a packer holding the vehicle, so a batch stored while an hour was being packed
  either was read by the packer or moves the vehicle's `until` back;
- `read` takes packed hours before the vehicle's `until` and before any mark not yet claimed, and the rest from
  `position`, in one statement (one snapshot): a track holds every fix committed before it was asked.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from domain import track
from domain.track import Columns

# The layout of track_fix (0018, 0030): PostgreSQL's send formats, big-endian; timestamps in microseconds since 2000.
# A figure the terminal did not report is NaN, an ignition not reported 2.
PACKED = np.dtype(
    [
        ("time", ">i8"),
        ("latitude", ">f8"),
        ("longitude", ">f8"),
        ("speed", ">f4"),
        ("heading", ">f4"),
        ("odometer", ">f8"),
        ("ignition", "u1"),  # 0 off, 1 on, 2 none (migration 0030)
        ("received_at", ">i8"),
        ("blind", "?"),
    ]
)
_POSTGRES_EPOCH_US = 946_684_800_000_000  # 2000-01-01 in microseconds since 1970-01-01
_BATCH = 500  # vehicles a transaction packs

_READ = """
WITH cut AS MATERIALIZED (
    SELECT least(coalesce((SELECT until FROM track_packed WHERE vehicle_id = %(vehicle)s), '-infinity'),
                 coalesce((SELECT date_trunc('hour', since, 'UTC') FROM mileage_stale WHERE vehicle_id = %(vehicle)s),
                          'infinity')) AS at
)
(SELECT h.hour AS begins, h.packed FROM track_hour h
 WHERE h.vehicle_id = %(vehicle)s AND h.hour > %(start)s::timestamptz - interval '1 hour' AND h.hour < %(end)s
       AND h.hour < (SELECT at FROM cut))
UNION ALL
(SELECT greatest((SELECT at FROM cut), %(start)s), string_agg(track_fix(p), ''::bytea ORDER BY p.time)
 FROM position p
 WHERE p.vehicle_id = %(vehicle)s AND p.time >= %(start)s AND p.time >= greatest((SELECT at FROM cut), %(start)s)
       AND p.time < %(end)s)
ORDER BY begins
"""
# `p.time >= %(start)s` says nothing the next bound does not, but it is a constant when the statement is planned: the
# cut is known only when it runs, and without it the plan held every chunk of `position` before `end`, so a one-day
# track planned longer the longer the history (bench/growth: 90 ms at 60 days of 4-hour chunks, under 3 ms with it).


async def read(conn: AsyncConnection, vehicle_id: str, start: datetime, end: datetime) -> Columns:
    """The vehicle's fixes with start <= time < end, in time order."""
    async with conn.cursor(binary=True) as cur:
        await cur.execute(_READ, {"vehicle": vehicle_id, "start": start, "end": end})
        parts = [bytes(row[1]) for row in await cur.fetchall() if row[1] is not None]
    fixes = np.frombuffer(b"".join(parts), dtype=PACKED)
    micros = fixes["time"].astype(np.int64) + _POSTGRES_EPOCH_US
    # The first packed hour may begin before `start`, and the last end after `end`.
    inside = (micros >= track.micros(start)) & (micros < track.micros(end))
    return Columns(
        vehicle_id,
        micros,
        fixes["latitude"].astype(np.float64),
        fixes["longitude"].astype(np.float64),
        fixes["speed"].astype(np.float64),
        fixes["heading"].astype(np.float64),
        fixes["odometer"].astype(np.float64),
        np.where(fixes["ignition"] == 2, np.nan, fixes["ignition"]).astype(np.float64),
        fixes["received_at"].astype(np.int64) + _POSTGRES_EPOCH_US,
        fixes["blind"],
    ).take(inside)


async def pack(pool: AsyncConnectionPool[AsyncConnection], settle: timedelta, *, now: datetime | None = None) -> int:
    """Pack every vehicle's hours that ended `settle` ago or earlier and are not packed; returns the hours packed.

    `settle` should outlast the mileage refresher's turn: an hour whose last live fixes are still marked would be
    packed, then moved back by the refresher's claim and packed again.
    """
    packable = _hour(((now or datetime.now(UTC)) - settle).astimezone(UTC))
    packed = 0
    async with pool.connection() as conn:
        # Vehicles new to the registry (a turn's anti-join, not an attempt per vehicle of the fleet).
        await conn.execute(
            """INSERT INTO track_packed (vehicle_id, until)
               SELECT id, '-infinity' FROM vehicle v
               WHERE NOT EXISTS (SELECT FROM track_packed t WHERE t.vehicle_id = v.id)
               ON CONFLICT DO NOTHING"""
        )
        await conn.commit()
        while True:
            async with conn.transaction():
                cur = await conn.execute(
                    """SELECT vehicle_id, nullif(until, '-infinity') FROM track_packed WHERE until < %s
                       ORDER BY vehicle_id LIMIT %s
                       FOR NO KEY UPDATE SKIP LOCKED""",
                    (packable, _BATCH),
                )
                listed = await cur.fetchall()
                if not listed:
                    return packed
                vehicles = [vehicle_id for vehicle_id, _ in listed]
                untils = [until for _, until in listed]  # None: never packed (-infinity, which Python cannot hold)
                # A statement of its own, so its snapshot holds every position committed before the locks were
                # taken, and `until` as a claim of a mark may have moved it back meanwhile. The locking read returned
                # each `until` as the lock found it, and no claim moves it while the lock is held: the earliest of
                # them bounds every fix to pack. As a constant of the statement it lets TimescaleDB leave the chunks
                # before it out of the plan; with `c.until` alone, every turn scanned every chunk of `position`, the
                # whole history, with nothing to pack (bench/growth: 4 s at 60 days of 100 vehicles).
                cur = await conn.execute(
                    """INSERT INTO track_hour (vehicle_id, hour, fixes, packed)
                       SELECT p.vehicle_id, date_trunc('hour', p.time, 'UTC'), count(*),
                              string_agg(track_fix(p), ''::bytea ORDER BY p.time)
                       FROM track_packed c
                       JOIN position p ON p.vehicle_id = c.vehicle_id AND p.time >= c.until AND p.time < %s
                                          AND p.time >= coalesce(%s::timestamptz, '-infinity')
                       WHERE c.vehicle_id = ANY(%s)
                       GROUP BY 1, 2
                       ON CONFLICT (vehicle_id, hour) DO UPDATE SET fixes = EXCLUDED.fixes, packed = EXCLUDED.packed""",
                    (packable, None if None in untils else min(untils), vehicles),
                )
                packed += cur.rowcount
                await conn.execute(
                    "UPDATE track_packed SET until = %s WHERE vehicle_id = ANY(%s)", (packable, vehicles)
                )


async def unpack_from(conn: AsyncConnection, vehicle_id: str, since: datetime) -> None:
    """In the transaction claiming the vehicle's mark of positions from `since` on: its hours from then on are to be
    packed again. Waits for a packer holding the vehicle, then reads what it left."""
    cur = await conn.execute("SELECT until FROM track_packed WHERE vehicle_id = %s FOR NO KEY UPDATE", (vehicle_id,))
    if await cur.fetchone() is not None:
        # A statement after the lock: it sees the `until` of a packer that held it.
        await conn.execute(
            """UPDATE track_packed SET until = date_trunc('hour', %(since)s::timestamptz, 'UTC')
               WHERE vehicle_id = %(vehicle)s AND until > date_trunc('hour', %(since)s::timestamptz, 'UTC')""",
            {"vehicle": vehicle_id, "since": since},
        )


def _hour(at: datetime) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0)
