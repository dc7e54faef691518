"""SQL of trip requests (trip_request) and their history (trip_request_event), and of the vehicles and drivers a
request holds: at most one open request each (db/migrations/0010_dispatch.sql keeps it so).

Rows come back as dicts of their columns; the API makes its answers of them.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any, Final, Literal

from psycopg import AsyncConnection, sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from db.scope import Scope
from db.table import Table, some
from domain.trip_requests import OPEN_STATES, Action, State

# The column that records when each action was taken.
TAKEN_AT: Final[dict[Action, str]] = {
    "submit": "submitted_at",
    "approve": "approved_at",
    "reject": "rejected_at",
    "dispatch": "dispatched_at",
    "depart": "departed_at",
    "return": "returned_at",
    "cancel": "cancelled_at",
    "evaluate": "evaluated_at",
}

TRIP_REQUESTS = Table(
    sql.SQL(
        """SELECT r.id, r.organisation_id, o.name AS organisation_name, r.requested_by, u.name AS requested_by_name,
              r.purpose, r.passengers,
              r.origin, r.origin_latitude, r.origin_longitude,
              r.destination, r.destination_latitude, r.destination_longitude, r.wanted_start, r.wanted_end,
              r.state, r.vehicle_id, v.plate AS vehicle_plate, r.driver_id, d.name AS driver_name,
              d.phone AS driver_phone, r.submitted_at, r.approved_at, r.rejected_at, r.dispatched_at,
              r.departed_at, r.returned_at, r.cancelled_at, r.evaluated_at, r.departure_odometer_km,
              r.return_odometer_km, r.evaluation_score, r.evaluation_note
       FROM trip_request r
       JOIN organisation o ON o.id = r.organisation_id
       JOIN app_user u ON u.id = r.requested_by
       LEFT JOIN vehicle v ON v.id = r.vehicle_id
       LEFT JOIN driver d ON d.id = r.driver_id"""
    ),
    "r.id",
    "r.organisation_id",
)


async def request(conn: AsyncConnection, scope: Scope, request_id: int) -> dict[str, Any] | None:
    """One request in the scope, or None."""
    found: list[dict[str, Any]] = await some(conn, TRIP_REQUESTS, scope, dict, [request_id])
    return found[0] if found else None


async def history(conn: AsyncConnection, request_id: int) -> list[dict[str, Any]]:
    """A request's events, oldest first, with the name of who took each step."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            """SELECT e.id, e.action, e.from_state, e.to_state, e.user_id, u.name AS user_name, e.at, e.note,
                      e.details
               FROM trip_request_event e JOIN app_user u ON u.id = e.user_id
               WHERE e.request_id = %s ORDER BY e.id""",
            [request_id],
        )
        return await cur.fetchall()


async def insert(
    conn: AsyncConnection, scope: Scope, organisation_id: str, columns: Mapping[str, object]
) -> int | None:
    """A new request of an organisation in the scope with these columns; its id, or None when there is no such
    organisation in the scope."""
    names = list(columns)
    query = sql.SQL(
        """INSERT INTO trip_request (organisation_id, {names})
           SELECT o.id, {values} FROM organisation o WHERE o.id = %s AND {scope}
           RETURNING id"""
    ).format(
        names=sql.SQL(", ").join(map(sql.Identifier, names)),
        values=sql.SQL(", ").join(sql.Placeholder() * len(names)),
        scope=scope.condition("o.id"),
    )
    cur = await conn.execute(query, [*columns.values(), organisation_id])
    row = await cur.fetchone()
    return None if row is None else int(row[0])


async def lock(conn: AsyncConnection, scope: Scope, request_id: int) -> dict[str, Any] | None:
    """The request's id, state, passengers and departure odometer, locked until the transaction ends (steps on one
    request take turns); None when there is none in the scope."""
    query = sql.SQL(
        """SELECT id, state, passengers, departure_odometer_km FROM trip_request r
           WHERE r.id = %s AND {scope} FOR UPDATE"""
    ).format(scope=scope.condition("r.organisation_id"))
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(query, [request_id])
        return await cur.fetchone()


async def advance(
    conn: AsyncConnection, request_id: int, action: Action, state: State, changes: Mapping[str, object]
) -> None:
    """Set the request's state, the time of the action (now()) and the columns the step changes."""
    assignments = [
        sql.SQL("state = %s"),
        sql.SQL("{} = now()").format(sql.Identifier(TAKEN_AT[action])),
        *(sql.SQL("{} = %s").format(sql.Identifier(column)) for column in changes),
    ]
    query = sql.SQL("UPDATE trip_request SET {} WHERE id = %s").format(sql.SQL(", ").join(assignments))
    await conn.execute(query, [state, *changes.values(), request_id])


async def record(
    conn: AsyncConnection,
    *,
    request_id: int,
    action: Action,
    from_state: State | None,
    to_state: State,
    user_id: int,
    note: str | None,
    details: Mapping[str, object],
) -> None:
    """Append a step to the request's history (at the transaction's now(), as the step's time)."""
    await conn.execute(
        """INSERT INTO trip_request_event (request_id, action, from_state, to_state, user_id, note, details)
           VALUES (%s, %s, %s, %s, %s, %s, %s)""",
        [request_id, action, from_state, to_state, user_id, note, Jsonb(dict(details))],
    )


async def lock_vehicle(conn: AsyncConnection, scope: Scope, vehicle_id: str) -> tuple[str, str, int | None] | None:
    """A vehicle in the scope about to be dispatched, locked (two dispatches of it take turns): its plate, lifecycle
    and seats; None when there is none."""
    query = sql.SQL(
        "SELECT v.plate, v.lifecycle, v.seats FROM vehicle v WHERE v.id = %s AND {scope} FOR NO KEY UPDATE"
    ).format(scope=scope.condition("v.organisation_id"))
    row = await (await conn.execute(query, [vehicle_id])).fetchone()
    return None if row is None else (row[0], row[1], row[2])


async def lock_driver(conn: AsyncConnection, scope: Scope, driver_id: int) -> tuple[str, bool] | None:
    """A driver in the scope about to be dispatched, locked: their name and whether they are active."""
    query = sql.SQL("SELECT d.name, d.active FROM driver d WHERE d.id = %s AND {scope} FOR NO KEY UPDATE").format(
        scope=scope.condition("d.organisation_id")
    )
    row = await (await conn.execute(query, [driver_id])).fetchone()
    return None if row is None else (row[0], row[1])


async def open_requests(
    conn: AsyncConnection, column: Literal["vehicle_id", "driver_id"], ids: Collection[Any]
) -> dict[Any, tuple[int, str]]:
    """The open trip request (dispatched or under way) of each of these vehicles (`vehicle_id`) or drivers
    (`driver_id`) that has one: its id and state, by vehicle or driver.

    Lock the vehicles or drivers first, and ask in a statement of its own: a dispatch locks its vehicle and driver
    before it opens the request, and under READ COMMITTED a statement that waited for a lock would still read with
    the snapshot taken before it waited."""
    if not ids:
        return {}
    query = sql.SQL("SELECT {}, id, state FROM trip_request WHERE {} = ANY(%s) AND state = ANY(%s)").format(
        sql.Identifier(column), sql.Identifier(column)
    )
    cur = await conn.execute(query, [sorted(set(ids)), sorted(OPEN_STATES)])
    return {row[0]: (int(row[1]), row[2]) for row in await cur.fetchall()}


async def free_vehicles(
    conn: AsyncConnection, scope: Scope, vehicle_ids: Collection[str]
) -> list[tuple[str, int | None, str]]:
    """Those of these vehicles in the scope that could be sent now: active and on no open request, as the database
    holds them this moment (a dispatch committed a moment ago counts). (id, seats, energy) each."""
    cur = await conn.execute(
        sql.SQL(
            """SELECT v.id, v.seats, v.energy FROM vehicle v
               WHERE v.id = ANY(%s) AND v.lifecycle = 'active' AND {}
                 AND NOT EXISTS (SELECT 1 FROM trip_request r WHERE r.vehicle_id = v.id AND r.state = ANY(%s))"""
        ).format(scope.condition("v.organisation_id")),
        [list(vehicle_ids), sorted(OPEN_STATES)],
    )
    return [(row[0], row[1], row[2]) for row in await cur.fetchall()]
