"""SQL of the statistics survey's reads: what the survey of a year needs of the institutions in a scope (their
identity and that year's facts, departments, data-centre rooms, vehicles by home institution) and their consumption
through `db.declared.yearly`, the one place that says what an institution consumed. Nothing here reads a consumption
table itself: bills and fuel cards join inside `declared.yearly`."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from psycopg import AsyncConnection, sql

from db import declared
from db.scope import Scope
from domain.survey import FACT_COLUMNS, ROOM_COLUMNS, Department, Figure, Inputs, Institution, Room
from domain.vehicles import NEW_ENERGY

_FACTS = sorted(FACT_COLUMNS)
_ROOM = sorted(ROOM_COLUMNS)


async def inputs(
    conn: AsyncConnection,
    scope: Scope,
    year: int,
    *,
    organisation_id: str | None = None,
    institution_id: str | None = None,
) -> Inputs:
    """Everything the survey of `year` reads for the institutions of the scope (of one organisation, or the one
    institution, when named). Every institution comes back, in the survey or not: `domain.survey.surveyed`
    decides."""
    condition = scope.condition("i.organisation_id")
    params: list[object] = [year]
    for column, value in (("organisation_id", organisation_id), ("id", institution_id)):
        if value is not None:
            # A parameter, not a literal: a '%' in a literal of a query with parameters reads as a placeholder.
            condition = sql.SQL("{} AND {} = %s").format(condition, sql.Identifier("i", column))
            params.append(value)
    cur = await conn.execute(
        sql.SQL(
            """SELECT i.id, i.name, i.organisation_id, y.in_survey, y.credit_code, y.department_id, y.division_code,
                      y.survey_category, {facts}
               FROM institution i LEFT JOIN institution_year y ON y.institution_id = i.id AND y.year = %s
               WHERE {condition} ORDER BY i.id"""
        ).format(facts=sql.SQL(", ").join(sql.Identifier("y", c) for c in _FACTS), condition=condition),
        params,
    )
    institutions = [
        Institution(
            id=r[0],
            name=r[1],
            organisation_id=r[2],
            in_survey=r[3],
            credit_code=r[4],
            department_id=r[5],
            division_code=r[6],
            category=r[7],
            facts={c: _decimal(v) for c, v in zip(_FACTS, r[8:], strict=True)},
        )
        for r in await cur.fetchall()
    ]
    # Consumption, rooms and vehicles only of those in the year's survey: domain.survey.surveyed decides again, and
    # the rest of a city's institutions cost no reads.
    ids = [i.id for i in institutions if i.in_survey is True]
    return Inputs(
        year=year,
        institutions=institutions,
        rooms=await _rooms(conn, year, ids),
        figures=[
            Figure(
                d.institution_id,
                d.energy_type,
                d.purpose,
                d.quantity,
                d.cost,
                d.source,
                d.heating_quantity,
                d.heating_cost,
            )
            for d in await declared.yearly(conn, year, ids)
        ],
        vehicles=await _vehicles(conn, year, ids),
        departments=await departments(conn),
    )


async def departments(conn: AsyncConnection) -> list[Department]:
    """Every supervising department (主管部门), with its parent: the hierarchy is no unit's data."""
    cur = await conn.execute("SELECT id, name, parent_id FROM department ORDER BY id")
    return [Department(*r) for r in await cur.fetchall()]


async def _rooms(conn: AsyncConnection, year: int, institution_ids: list[str]) -> list[Room]:
    cur = await conn.execute(
        sql.SQL(
            """SELECT institution_id, name, {columns} FROM data_centre_room
               WHERE institution_id = ANY(%s) AND year = %s ORDER BY institution_id, name"""
        ).format(columns=sql.SQL(", ").join(sql.Identifier(c) for c in _ROOM)),
        (institution_ids, year),
    )
    return [Room(r[0], r[1], {c: _decimal(v) for c, v in zip(_ROOM, r[2:], strict=True)}) for r in await cur.fetchall()]


async def _vehicles(conn: AsyncConnection, year: int, institution_ids: list[str]) -> dict[str, dict[str, int]]:
    """Vehicles held at the year's end by their home institution: in service by then (or with no date) and not yet
    retired, by energy; new energy as the purchase rules count it (domain/vehicles.py NEW_ENERGY)."""
    end = date(year, 12, 31)
    cur = await conn.execute(
        """SELECT home_institution_id, energy, count(*) FROM vehicle
           WHERE home_institution_id = ANY(%s) AND (in_service_on IS NULL OR in_service_on <= %s)
             AND (retired_on IS NULL OR retired_on > %s)
           GROUP BY 1, 2""",
        (institution_ids, end, end),
    )
    counts: dict[str, dict[str, int]] = {}
    for institution_id, energy, n in await cur.fetchall():
        own = counts.setdefault(institution_id, {"total": 0, "gasoline": 0, "diesel": 0, "new_energy": 0})
        own["total"] += n
        if energy in ("gasoline", "diesel"):
            own[energy] += n
        if energy in NEW_ENERGY:
            own["new_energy"] += n
    return counts


def _decimal(value: object) -> Decimal | None:
    # Floats (double precision) by their shortest text, so 1234.5 m² stays 1234.5, not its binary neighbour.
    if value is None:
        return None
    if isinstance(value, Decimal):
        return value
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value))
