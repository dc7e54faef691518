"""What each institution consumed in a year, per energy or resource type and purpose, from the one source that
counts: the reads the statistics survey and the cost reports are built on.

Today the only source is the meters' roll-up (`consumption_month`). Bills, delivery notes and manual entries, the
declared source per institution, type and year, and vehicle fuel from fuel cards and charging join here, in this one
function, so that no figure is counted twice and every report asks the same question.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal

from psycopg import AsyncConnection, sql

from db import fuel
from db.energy_reports import IN_TOTAL
from domain.measures import to_report_unit

# What a quantity was consumed for: the survey reports vehicle fuel (车辆用油量) apart from other fuel.
Purpose = Literal["building", "vehicle"]


@dataclass(frozen=True, slots=True)
class Declared:
    """One institution's consumption of one type for one purpose in a year.

    `quantity` is in the type's report unit (domain/measures.py REPORT_UNIT), `cost` in yuan; None where nothing
    was reported, never zero. `source` names what the figure came from ("meters", ...).
    """

    institution_id: str
    energy_type: str
    purpose: Purpose
    quantity: Decimal | None
    cost: Decimal | None
    source: str


async def yearly(conn: AsyncConnection, year: int, institution_ids: list[str]) -> list[Declared]:
    """The consumption of these institutions in this calendar year (local months), one row per institution, type
    and purpose that has any; a type with no row had nothing reported."""
    cur = await conn.execute(
        sql.SQL(
            """SELECT m.institution_id, m.energy_type, m.unit, sum(c.amount)
               FROM consumption_month c JOIN meter m ON m.id = c.meter_id
               WHERE m.institution_id = ANY(%s) AND c.month >= %s AND c.month < %s AND {in_total}
               GROUP BY 1, 2, 3"""
        ).format(in_total=IN_TOTAL),
        (institution_ids, date(year, 1, 1), date(year + 1, 1, 1)),
    )
    totals: dict[tuple[str, str], Decimal] = {}
    for institution_id, energy_type, unit, amount in await cur.fetchall():
        key = (institution_id, energy_type)
        totals[key] = totals.get(key, Decimal(0)) + Decimal(amount) * to_report_unit(energy_type, unit)
    return [
        Declared(institution_id, energy_type, "building", quantity, None, "meters")
        for (institution_id, energy_type), quantity in sorted(totals.items())
    ] + await fuel.yearly(conn, year, institution_ids)
