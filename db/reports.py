"""The queries behind the dispatch reports: per vehicle (its days of mileage_day, its dispatched trip requests), per
unit (its dispatches, its alerts by kind), and the units' names. Each reads several table families at once, so they
live here together, by report, rather than with one family.

A period is local days [start, end) and the local midnights that bound it (`moments`); a report of one unit names it
(`organisation_id`), else every unit in the scope.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from psycopg import AsyncConnection, sql
from psycopg.rows import dict_row

from db.scope import Scope
from domain.trip_requests import DONE_STATES


def _organisation(column: str, organisation_id: str | None) -> sql.Composable:
    if organisation_id is None:
        return sql.SQL("TRUE")
    return sql.SQL("{} = {}").format(sql.Identifier(*column.split(".")), sql.Literal(organisation_id))


async def vehicles(
    conn: AsyncConnection,
    scope: Scope,
    days: tuple[date, date],
    moments: tuple[datetime, datetime],
    organisation_id: str | None = None,
) -> list[dict[str, Any]]:
    """Per vehicle in the scope (and of one unit, if given), in unit and vehicle order: its registry facts, the sums
    of its days (km, odometer_km, trips, days_used, days_reporting, moving_seconds, max_speed; derived: what its
    days derived from motion, comma-separated, repeats included) and of the requests dispatched to it (dispatches,
    dispatch_km). Retired vehicles only if they drove in the period."""
    query = sql.SQL(
        """SELECT v.id, v.plate, v.organisation_id, o.name, v.energy, v.vehicle_type, v.lifecycle, v.in_service_on,
                  coalesce(d.km, 0) AS km, coalesce(d.odometer_km, 0) AS odometer_km, coalesce(d.trips, 0) AS trips,
                  coalesce(d.days_used, 0) AS days_used, coalesce(d.days_reporting, 0) AS days_reporting,
                  coalesce(d.moving_seconds, 0) AS moving_seconds, d.max_speed, coalesce(d.derived, '') AS derived,
                  coalesce(r.dispatches, 0) AS dispatches, coalesce(r.dispatch_km, 0) AS dispatch_km
           FROM vehicle v
           JOIN organisation o ON o.id = v.organisation_id
           LEFT JOIN (
               SELECT m.vehicle_id, sum(m.km) AS km, sum(m.odometer_km) AS odometer_km, sum(m.trips) AS trips,
                      count(*) FILTER (WHERE m.trips > 0) AS days_used,
                      count(*) FILTER (WHERE m.fixes > 0) AS days_reporting,
                      sum(m.moving_seconds) AS moving_seconds, max(m.max_speed) AS max_speed,
                      string_agg(array_to_string(m.derived, ','), ',') AS derived
               FROM mileage_day m JOIN vehicle mv ON mv.id = m.vehicle_id
               WHERE m.day >= %(start)s AND m.day < %(end)s AND {scope_m} AND {unit_m}
               GROUP BY m.vehicle_id
           ) d ON d.vehicle_id = v.id
           LEFT JOIN (
               SELECT r.vehicle_id, count(*) AS dispatches,
                      sum(r.return_odometer_km - r.departure_odometer_km)
                          FILTER (WHERE r.state = ANY(%(done)s)) AS dispatch_km
               FROM trip_request r
               WHERE r.dispatched_at >= %(from)s AND r.dispatched_at < %(to)s AND {scope_r}
               GROUP BY r.vehicle_id
           ) r ON r.vehicle_id = v.id
           WHERE {scope_v} AND {unit_v} AND (v.lifecycle <> 'retired' OR d.trips > 0)
           ORDER BY v.organisation_id, v.id"""
    ).format(
        scope_m=scope.condition("mv.organisation_id"),
        unit_m=_organisation("mv.organisation_id", organisation_id),
        scope_r=scope.condition("r.organisation_id"),
        scope_v=scope.condition("v.organisation_id"),
        unit_v=_organisation("v.organisation_id", organisation_id),
    )
    params = {"start": days[0], "end": days[1], "from": moments[0], "to": moments[1], "done": sorted(DONE_STATES)}
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(query, params)
        return await cur.fetchall()


async def dispatches(
    conn: AsyncConnection, scope: Scope, moments: tuple[datetime, datetime], organisation_id: str | None
) -> list[tuple[str, int, int, int, float, int]]:
    """Per unit, its trip requests dispatched in the period: (unit, dispatches, completed, cancelled after the
    dispatch, odometer km of the completed ones, completed ones missing an odometer reading)."""
    query = sql.SQL(
        """SELECT r.organisation_id, count(*),
                  count(*) FILTER (WHERE r.state = ANY(%(done)s)),
                  count(*) FILTER (WHERE r.state = 'cancelled'),
                  coalesce(sum(r.return_odometer_km - r.departure_odometer_km) FILTER (WHERE r.state = ANY(%(done)s)),
                           0),
                  count(*) FILTER (WHERE r.state = ANY(%(done)s)
                                   AND (r.return_odometer_km IS NULL OR r.departure_odometer_km IS NULL))
           FROM trip_request r
           WHERE r.dispatched_at >= %(from)s AND r.dispatched_at < %(to)s AND {scope} AND {unit}
           GROUP BY r.organisation_id"""
    ).format(scope=scope.condition("r.organisation_id"), unit=_organisation("r.organisation_id", organisation_id))
    cur = await conn.execute(query, {"from": moments[0], "to": moments[1], "done": sorted(DONE_STATES)})
    return [
        (org, int(count), int(done), int(cancelled), float(km), int(missing))
        for org, count, done, cancelled, km, missing in await cur.fetchall()
    ]


async def alerts(
    conn: AsyncConnection, scope: Scope, moments: tuple[datetime, datetime], organisation_id: str | None
) -> list[dict[str, Any]]:
    """Per unit and kind, its vehicles' alerts (energy events are not dispatch's) with a fix time in the period:
    organisation_id, kind, yellow, red, unacknowledged."""
    query = sql.SQL(
        """SELECT a.organisation_id, a.kind, count(*) FILTER (WHERE a.level = 'yellow') AS yellow,
                  count(*) FILTER (WHERE a.level = 'red') AS red,
                  count(*) FILTER (WHERE a.acknowledged_at IS NULL) AS unacknowledged
           FROM alert a
           WHERE a.time >= %(from)s AND a.time < %(to)s AND a.vehicle_id IS NOT NULL AND {scope} AND {unit}
           GROUP BY a.organisation_id, a.kind ORDER BY a.organisation_id, a.kind"""
    ).format(scope=scope.condition("a.organisation_id"), unit=_organisation("a.organisation_id", organisation_id))
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(query, {"from": moments[0], "to": moments[1]})
        return await cur.fetchall()


async def organisations(conn: AsyncConnection, ids: Sequence[str]) -> dict[str, tuple[str, str]]:
    """The name and kind of each of these organisations."""
    cur = await conn.execute("SELECT id, name, kind FROM organisation WHERE id = ANY(%s)", (list(ids),))
    return {org: (name, kind) for org, name, kind in await cur.fetchall()}
