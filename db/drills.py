"""What `yiwang drill` reads back of the stream it published (the keys stored per device, the readings resent with
another register), how far the supervisor judged each vehicle, and its devices taken out of service."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime

from psycopg import AsyncConnection

# A reading's or position's key: the device and its time.
Key = tuple[str, datetime]


async def stored(
    conn: AsyncConnection, meters: Collection[str], vehicles: Collection[str], since: datetime, until: datetime
) -> set[Key]:
    """The keys (device, time) of these devices' readings and positions timed within [since, until]."""
    cur = await conn.execute(
        """SELECT meter_id, time FROM reading
            WHERE meter_id = ANY(%(meters)s) AND time BETWEEN %(since)s AND %(until)s
           UNION ALL
           SELECT vehicle_id, time FROM position
            WHERE vehicle_id = ANY(%(vehicles)s) AND time BETWEEN %(since)s AND %(until)s""",
        {"meters": list(meters), "vehicles": list(vehicles), "since": since, "until": until},
    )
    return {(device, time) for device, time in await cur.fetchall()}


async def conflicts(conn: AsyncConnection, meters: Collection[str], since: datetime, until: datetime) -> int:
    """Readings of these meters timed within [since, until] received again with another register than the one
    stored (reading_conflict: the first copy stays, the other is recorded); copies with the same register are
    redeliveries that the key absorbs and leave nothing."""
    cur = await conn.execute(
        """SELECT count(*) FROM reading_conflict
            WHERE meter_id = ANY(%(meters)s) AND time BETWEEN %(since)s AND %(until)s""",
        {"meters": list(meters), "since": since, "until": until},
    )
    row = await cur.fetchone()
    return 0 if row is None else int(row[0])


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


async def out_of_service(conn: AsyncConnection, meters: Collection[str], vehicles: Collection[str], day: date) -> None:
    """These meters replaced and these vehicles retired (scrapped) on `day`, unless they were already: the energy
    watch does not watch a replaced meter (db/energy_events.py meters_in_service), nor the supervisor a retired
    vehicle's silence, so devices that report only now and then raise nothing while they are quiet. Their reports
    are still stored and judged (ingest and the supervisor's rules do not ask about either)."""
    await conn.execute(
        "UPDATE meter SET replaced_on = %s WHERE id = ANY(%s) AND (replaced_on IS NULL OR replaced_on > %s)",
        (day, list(meters), day),
    )
    await conn.execute(
        """UPDATE vehicle SET lifecycle = 'retired', retired_on = %s, retired_how = 'scrapped'
            WHERE id = ANY(%s) AND lifecycle <> 'retired'""",
        (day, list(vehicles)),
    )
