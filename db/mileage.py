"""SQL of the mileage roll-up: `mileage_trip` (every trip of a vehicle, on the local day it started), `mileage_day`
(per vehicle and local day: kilometres, trips, time on the move, fixes received, the day's first and last rest
point, what of its trips was derived from motion) and `mileage_basis` (the zone and rules they were counted with).
worker/mileage.py keeps them up to date.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, time
from typing import cast
from zoneinfo import ZoneInfo

from psycopg import AsyncConnection

from db.marks import BEFORE_ALL
from domain.position import Position
from domain.trips import Trip


async def stored_basis(conn: AsyncConnection, zone: str, rules: str) -> tuple[str, str]:
    """The zone and rules the roll-up is counted with; these, stored, when none was yet."""
    cur = await conn.execute(
        """INSERT INTO mileage_basis (zone, rules) VALUES (%s, %s) ON CONFLICT (only_row) DO UPDATE
           SET zone = mileage_basis.zone RETURNING zone, rules""",
        (zone, rules),
    )
    row = await cur.fetchone()
    assert row is not None  # inserted or updated: returned either way
    return row[0], row[1]


async def set_basis(conn: AsyncConnection, zone: str, rules: str) -> None:
    """Count the roll-up with this zone and these rules from now on (a rebuild)."""
    await conn.execute(
        """INSERT INTO mileage_basis (zone, rules) VALUES (%s, %s)
           ON CONFLICT (only_row) DO UPDATE SET zone = EXCLUDED.zone, rules = EXCLUDED.rules""",
        (zone, rules),
    )


async def forget(conn: AsyncConnection, vehicle_id: str) -> None:
    """Delete whatever is counted of a vehicle (no longer registered)."""
    await conn.execute("DELETE FROM mileage_trip WHERE vehicle_id = %s", (vehicle_id,))
    await conn.execute("DELETE FROM mileage_day WHERE vehicle_id = %s", (vehicle_id,))


async def last_rest(conn: AsyncConnection, vehicle_id: str, before: datetime) -> tuple[datetime, datetime] | None:
    """The first and last stored rest point of the last day with a rest point before `before`."""
    cur = await conn.execute(
        """SELECT first_rest, last_rest FROM mileage_day
           WHERE vehicle_id = %s AND first_rest < %s ORDER BY day DESC LIMIT 1""",
        (vehicle_id, before),
    )
    row = await cur.fetchone()
    return None if row is None else (row[0], row[1])


async def counted_through(conn: AsyncConnection, vehicle_id: str, day: date) -> bool:
    """Whether the vehicle has a counted day on or before `day`."""
    cur = await conn.execute(
        "SELECT EXISTS (SELECT 1 FROM mileage_day WHERE vehicle_id = %s AND day <= %s)", (vehicle_id, day)
    )
    row = await cur.fetchone()
    return bool(row and row[0])


async def first_rest_after(conn: AsyncConnection, vehicle_id: str, day: date) -> datetime | None:
    """The first stored rest point of the vehicle's first day after `day` that has one."""
    cur = await conn.execute(
        """SELECT first_rest FROM mileage_day WHERE vehicle_id = %s AND day > %s AND first_rest IS NOT NULL
           ORDER BY day LIMIT 1""",
        (vehicle_id, day),
    )
    row = await cur.fetchone()
    return None if row is None else cast("datetime", row[0])


async def fixes(conn: AsyncConnection, vehicle_id: str, start: datetime | None, limit: int) -> list[Position]:
    """Up to `limit` of the vehicle's positions from `start` on (None: its first), in time order, with what tracks
    and trips read of them."""
    # Binary results: timestamps and floats arrive as numbers to copy, not text to parse.
    async with conn.cursor(binary=True) as cur:
        await cur.execute(
            """SELECT time, received_at, latitude, longitude, speed, heading, ignition, odometer, blind
               FROM position WHERE vehicle_id = %s AND time >= %s ORDER BY time LIMIT %s""",
            (vehicle_id, start if start is not None else BEFORE_ALL, limit),
        )
        return [Position(vehicle_id, *row) for row in await cur.fetchall()]


async def replace(
    conn: AsyncConnection,
    zone: ZoneInfo,
    vehicle_id: str,
    *,
    start: datetime,
    trips: Sequence[Trip],
    rests: Mapping[date, tuple[datetime, datetime]],
) -> None:
    """Replace the vehicle's trips from `start` on with `trips`, and its days from `start`'s local day on with their
    sums and these rest points (each day's first and last)."""
    first_day = start.astimezone(zone).date()
    # Trips before the oldest stored position (dropped by a retention policy) stay as counted.
    await conn.execute("DELETE FROM mileage_trip WHERE vehicle_id = %s AND start_time >= %s", (vehicle_id, start))
    if trips:
        async with (
            conn.cursor() as cur,
            cur.copy(
                """COPY mileage_trip (vehicle_id, start_time, end_time, day, distance_km, distance_source, max_speed,
                   fixes, start_latitude, start_longitude, end_latitude, end_longitude, derived) FROM STDIN"""
            ) as copy,
        ):
            for t in trips:
                await copy.write_row(
                    (vehicle_id, t.start_time, t.end_time, t.start_time.astimezone(zone).date(), t.distance_km,
                     t.distance_source, t.max_speed, t.fix_count, t.start_latitude, t.start_longitude,
                     t.end_latitude, t.end_longitude, list(t.derived))
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
           ), derived AS (
               SELECT t.day, array_agg(DISTINCT d) AS derived
               FROM mileage_trip t CROSS JOIN LATERAL unnest(t.derived) AS d
               WHERE t.vehicle_id = %(vehicle)s AND t.day >= %(day)s GROUP BY t.day
           ), rested AS (
               SELECT * FROM unnest(%(days)s::date[], %(firsts)s::timestamptz[], %(lasts)s::timestamptz[])
                   AS r (day, first_rest, last_rest)
           )
           INSERT INTO mileage_day (vehicle_id, day, km, odometer_km, trips, moving_seconds, max_speed, fixes,
                                    first_fix, last_fix, first_rest, last_rest, derived)
           SELECT %(vehicle)s, day, coalesce(t.km, 0), coalesce(t.odometer_km, 0), coalesce(t.trips, 0),
                  coalesce(t.moving_seconds, 0), t.max_speed, coalesce(f.fixes, 0), f.first_fix, f.last_fix,
                  r.first_rest, r.last_rest, coalesce(x.derived, '{}')
           FROM received f FULL JOIN travelled t USING (day) LEFT JOIN rested r USING (day)
                LEFT JOIN derived x USING (day)""",
        {
            "zone": zone.key,
            "vehicle": vehicle_id,
            "from": datetime.combine(first_day, time(0), tzinfo=zone),
            "day": first_day,
            "days": days,
            "firsts": [rests[d][0] for d in days],
            "lasts": [rests[d][1] for d in days],
        },
    )
