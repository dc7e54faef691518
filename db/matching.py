"""The reads behind matching trips to trip requests (domain/matching.py): the vehicles of a report, the requests that
dispatched them (whichever unit asked), and their trips of the mileage roll-up. The fixes come from db/tracks.py.

Like db/reports.py this module is by report: it reads vehicles, trip requests and mileage_trip together.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection, sql
from psycopg.rows import dict_row

from db.scope import Scope
from domain.trips import Trip


async def vehicles(conn: AsyncConnection, scope: Scope, organisation_id: str | None) -> list[dict[str, Any]]:
    """The vehicles in the scope (of one unit, if given), in unit and vehicle order: id, plate, organisation_id,
    organisation_name, lifecycle."""
    unit = sql.SQL("TRUE") if organisation_id is None else sql.SQL("v.organisation_id = {}").format(organisation_id)
    query = sql.SQL(
        """SELECT v.id, v.plate, v.organisation_id, o.name AS organisation_name, v.lifecycle
           FROM vehicle v JOIN organisation o ON o.id = v.organisation_id
           WHERE {scope} AND {unit} ORDER BY v.organisation_id, v.id"""
    ).format(scope=scope.condition("v.organisation_id"), unit=unit)
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(query)
        return await cur.fetchall()


async def holds(
    conn: AsyncConnection, vehicle_ids: Sequence[str], start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """The requests that held these vehicles at some moment of [start, end): dispatched before `end` and not
    returned or cancelled before `start`, whichever unit asked (a vehicle lent to another unit's request drove on
    a dispatch all the same). Each: id, organisation_id, vehicle_id, purpose, origin, destination, their
    coordinates, wanted_start, wanted_end, state, dispatched_at, departed_at, released_at (returned or cancelled)."""
    if not vehicle_ids:
        return []
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            """SELECT r.id, r.organisation_id, r.vehicle_id, r.purpose, r.origin, r.origin_latitude,
                      r.origin_longitude, r.destination, r.destination_latitude, r.destination_longitude,
                      r.wanted_start, r.wanted_end, r.state, r.dispatched_at, r.departed_at,
                      coalesce(r.returned_at, r.cancelled_at) AS released_at
               FROM trip_request r
               WHERE r.vehicle_id = ANY(%s) AND r.dispatched_at IS NOT NULL AND r.dispatched_at < %s
                 AND coalesce(r.returned_at, r.cancelled_at, 'infinity') > %s
               ORDER BY r.vehicle_id, r.dispatched_at""",
            (list(vehicle_ids), end, start),
        )
        return await cur.fetchall()


async def trips(
    conn: AsyncConnection, vehicle_ids: Sequence[str], start: datetime, end: datetime
) -> dict[str, list[Trip]]:
    """The counted trips (mileage_trip) of these vehicles that started in [start, end), by vehicle, in time order."""
    found: dict[str, list[Trip]] = {}
    if not vehicle_ids:
        return found
    cur = await conn.execute(
        """SELECT vehicle_id, start_time, end_time, start_latitude, start_longitude, end_latitude, end_longitude,
                  distance_km, distance_source, max_speed, fixes, derived
           FROM mileage_trip WHERE vehicle_id = ANY(%s) AND start_time >= %s AND start_time < %s
           ORDER BY vehicle_id, start_time""",
        (list(vehicle_ids), start, end),
    )
    for row in await cur.fetchall():
        found.setdefault(row[0], []).append(
            Trip(
                start_time=row[1], end_time=row[2], start_latitude=row[3], start_longitude=row[4],
                end_latitude=row[5], end_longitude=row[6], distance_km=row[7], distance_source=row[8],
                max_speed=row[9], fix_count=row[10], derived=tuple(row[11]),
            )
        )  # fmt: skip
    return found
