"""What `yiwang drill` reads back of the stream it published: rows stored per device, and how far the supervisor
judged each vehicle."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import NamedTuple

from psycopg import AsyncConnection


class Stored(NamedTuple):
    """Rows of the drill's devices in its window: all of them, and their distinct keys (device, time)."""

    rows: int
    keys: int


async def stored(
    conn: AsyncConnection, meters: Collection[str], vehicles: Collection[str], since: datetime, until: datetime
) -> Stored:
    """Readings and positions of these devices timed within [since, until]."""
    cur = await conn.execute(
        """SELECT count(*), count(DISTINCT (meter_id, time)) FROM reading
            WHERE meter_id = ANY(%(meters)s) AND time BETWEEN %(since)s AND %(until)s
           UNION ALL
           SELECT count(*), count(DISTINCT (vehicle_id, time)) FROM position
            WHERE vehicle_id = ANY(%(vehicles)s) AND time BETWEEN %(since)s AND %(until)s""",
        {"meters": list(meters), "vehicles": list(vehicles), "since": since, "until": until},
    )
    found = await cur.fetchall()
    return Stored(sum(r[0] for r in found), sum(r[1] for r in found))


async def newest_stored(conn: AsyncConnection, meters: Collection[str], vehicles: Collection[str]) -> datetime | None:
    """The latest time stored for any of these devices (a drill's stream starts after it, so it counts only its own
    rows)."""
    cur = await conn.execute(
        """SELECT greatest((SELECT max(time) FROM reading WHERE meter_id = ANY(%(meters)s)),
                           (SELECT max(time) FROM position WHERE vehicle_id = ANY(%(vehicles)s)))""",
        {"meters": list(meters), "vehicles": list(vehicles)},
    )
    row = await cur.fetchone()
    return None if row is None else row[0]


async def judged_until(conn: AsyncConnection, vehicles: Collection[str]) -> dict[str, datetime]:
    """Each of these vehicles' newest fix the supervisor has judged and committed (supervisor_watch)."""
    cur = await conn.execute(
        """SELECT vehicle_id, (state->>'newest')::timestamptz FROM supervisor_watch
            WHERE vehicle_id = ANY(%s) AND state->>'newest' IS NOT NULL""",
        (list(vehicles),),
    )
    return {vehicle: newest for vehicle, newest in await cur.fetchall()}
