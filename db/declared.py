"""What each institution consumed in a year, per energy or resource type and purpose, from the one source that
counts: the reads the statistics survey, the cost reports and the energy statistics are built on.

Two sources may know an institution's type in a year: the meters' roll-up (`consumption_month`, main meters, as every
energy report counts them: db/energy_reports.py's IN_TOTAL) and entries from bills, delivery notes and manual figures
(`consumption_entry`, shared between months by days: domain/entries.py). Exactly one counts (`counting_source`): the
one staff declared (`declared_source`, PUT /energy/sources), else by default the meters where a main meter of the type
has data that year, else the entries, else sub-item meters (a sub-item meter alone measures part of the building, so
a whole-building bill beside it counts). The other is shown beside it (`compare`, GET /energy/sources), never added, so
nothing is counted twice.

Cost: meters know no prices, so a figure's cost is always that of the entries (bills) of the type in the year,
whichever source counts its quantity: staff may enter cost-only bills beside metered consumption. None where no entry
stated a cost, never zero.

Vehicle fuel from fuel cards and charging joins here too (purpose "vehicle"), in these functions, so that every
report asks the same question.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import cast

from psycopg import AsyncConnection, sql

from db import entries as entries_db
from db import fuel
from db.declared_rows import Declared, Monthly, Purpose, Source
from db.energy_reports import IN_TOTAL
from domain.entries import CountingSource, by_month, counting_source, share
from domain.measures import to_report_unit

# The row types live in db/declared_rows.py (db/fuel.py makes them too); they are named here as every caller knows them.
__all__ = [
    "Compared",
    "Declared",
    "Monthly",
    "Purpose",
    "Source",
    "compare",
    "costs",
    "counting_sources",
    "monthly",
    "yearly",
]


@dataclass(frozen=True, slots=True)
class Compared:
    """Both sources of an institution's type in a year, and which counts: `metered` and `entered` in the report unit
    (None: that source has nothing), `difference` entered minus metered (None unless both have a figure)."""

    institution_id: str
    energy_type: str
    metered: Decimal | None
    entered: Decimal | None
    cost: Decimal | None
    heating_entered: Decimal | None
    heating_cost: Decimal | None
    source: CountingSource | None
    source_declared: bool
    declared_reason: str | None
    main_metered: bool = True  # a main meter of the type has data that year (False: sub-item meters only, or none)

    @property
    def difference(self) -> Decimal | None:
        if self.metered is None or self.entered is None:
            return None
        return self.entered - self.metered


async def yearly(conn: AsyncConnection, year: int, institution_ids: list[str]) -> list[Declared]:
    """The consumption of these institutions in this calendar year (local months), one row per institution, type
    and purpose that has any; a type with no row had nothing reported."""
    out = []
    for c in await compare(conn, year, institution_ids):
        quantity = c.metered if c.source == "meters" else c.entered
        if c.source is None or (quantity is None and c.cost is None):
            continue  # a source declared for a type that nothing reported: no row, never a zero
        heating = c.heating_entered if c.source == "entries" else None
        out.append(
            Declared(
                c.institution_id,
                c.energy_type,
                "building",
                quantity,
                c.cost,
                c.source,
                c.source_declared,
                heating,
                c.heating_cost,
            )
        )
    # Vehicle fuel and charging bought on statements: no meter or bill of the institution measures it.
    return out + await fuel.yearly(conn, year, institution_ids)


async def compare(conn: AsyncConnection, year: int, institution_ids: list[str]) -> list[Compared]:
    """Both sources of each institution's type in the year that either knows, and the one that counts, in
    institution and type order."""
    start, end = date(year, 1, 1), date(year + 1, 1, 1)
    metered, mains = await _metered(conn, institution_ids, start, end)
    entered: dict[tuple[str, str], dict[str, Decimal | None]] = defaultdict(
        lambda: dict.fromkeys(("quantity", "cost", "heating_quantity", "heating_cost"))
    )
    for institution_id, energy_type, purpose, first, stop, quantity, unit, cost in await entries_db.counted_between(
        conn, institution_ids, start, end
    ):
        sums = entered[(institution_id, energy_type)]
        parts: list[tuple[str, Decimal | None]] = [
            ("quantity", None if quantity is None or unit is None else quantity * to_report_unit(energy_type, unit)),
            ("cost", cost),
        ]
        if purpose == "heating":
            parts += [("heating_quantity", parts[0][1]), ("heating_cost", cost)]
        for name, amount in parts:
            if amount is not None:
                sums[name] = (sums[name] or Decimal(0)) + share(amount, first, stop, start, end)
    declared = {
        (i, e): (source, reason)
        for i, e, _, source, reason, _, _ in await entries_db.declared_sources(conn, institution_ids, [year])
    }
    out = []
    for key in sorted(set(metered) | set(entered) | set(declared)):
        sums = entered.get(key, {})
        chosen, reason = declared.get(key, (None, None))
        # declared_source's CHECK holds it to 'meters' or 'entries'.
        source = counting_source(
            cast(CountingSource | None, chosen), key in metered, key in entered, sub_items_only=key not in mains
        )
        out.append(
            Compared(
                *key,
                metered=metered.get(key),
                entered=sums.get("quantity"),
                cost=sums.get("cost"),
                heating_entered=sums.get("heating_quantity"),
                heating_cost=sums.get("heating_cost"),
                source=source,
                source_declared=chosen is not None,
                declared_reason=reason,
                main_metered=key in mains,
            )
        )
    return out


async def counting_sources(
    conn: AsyncConnection, institution_ids: list[str], years: list[int]
) -> dict[tuple[str, str, int], CountingSource]:
    """Which source counts for each institution's type in each year that either source knows."""
    out: dict[tuple[str, str, int], CountingSource] = {}
    for year in sorted(set(years)):
        for c in await compare(conn, year, institution_ids):
            if c.source is not None:
                out[(c.institution_id, c.energy_type, year)] = c.source
    return out


async def monthly(
    conn: AsyncConnection,
    institution_ids: list[str],
    start: date,
    end: date,
    *,
    counting: dict[tuple[str, str, int], CountingSource] | None = None,
) -> list[Monthly]:
    """Consumption beside the meters on the days [start, end), per institution, type, local month (the first and last
    month holding only their days in the range) and source, in report units: from entries where entries are the
    counting source of the institution's type in that year, and from the fuel-card and charging statements of its
    vehicles always (`source` "fuel_statements": no meter or bill of the institution measures them). What the meters
    count is the energy reports' own (they leave out the institution's type and year where entries count). Every
    caller adds every row: a type may have rows of both sources in a month, each counted once. `counting`: the
    `counting_sources` of these institutions and years, when the caller has them already."""
    if end <= start:
        return []
    if counting is None:
        counting = await counting_sources(conn, institution_ids, list(range(start.year, end.year + 1)))
    sums: dict[tuple[str, str, date, Source], Decimal] = defaultdict(Decimal)
    for institution_id, energy_type, _, first, stop, quantity, unit, _ in await entries_db.counted_between(
        conn, institution_ids, start, end
    ):
        if quantity is None or unit is None:
            continue
        amount = quantity * to_report_unit(energy_type, unit)
        for month, part in by_month(amount, first, stop, start, end).items():
            if counting.get((institution_id, energy_type, month.year)) == "entries":
                sums[(institution_id, energy_type, month, "entries")] += part
    out = [Monthly(i, e, month, quantity, source) for (i, e, month, source), quantity in sorted(sums.items())]
    # The home institution's vehicles' fuel and charging from statements counts whatever the source of its meters or
    # entries: a fuel-card purchase (车辆用油) is not a bill's fuel (其他用油), so both count, apart.
    out += await fuel.monthly(conn, institution_ids, start, end)
    return sorted(out, key=lambda m: (m.institution_id, m.energy_type, m.month, m.source))


async def costs(
    conn: AsyncConnection, institution_ids: list[str], start: date, end: date
) -> dict[tuple[str, str], Decimal]:
    """What the entries that count state these institutions paid per type for the days [start, end) (their costs
    shared by days, as their quantities), whichever source counts the quantity; a type without a stated cost is
    absent, never zero."""
    out: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for institution_id, energy_type, _, first, stop, _, _, cost in await entries_db.counted_between(
        conn, institution_ids, start, end
    ):
        if cost is not None:
            out[(institution_id, energy_type)] += share(cost, first, stop, start, end)
    return dict(out)


async def _metered(
    conn: AsyncConnection, institution_ids: list[str], start: date, end: date
) -> tuple[dict[tuple[str, str], Decimal], set[tuple[str, str]]]:
    """The meters' consumption as every energy report counts it (IN_TOTAL: main meters, or the sub-items where a type
    has no main meter), and the institution's types where a main meter has data: only those choose the meters by
    default (a sub-item meter alone measures part of the building)."""
    cur = await conn.execute(
        sql.SQL(
            """SELECT m.institution_id, m.energy_type, m.unit, sum(c.amount), bool_or(m.sub_item IS NULL)
               FROM consumption_month c JOIN meter m ON m.id = c.meter_id
               WHERE m.institution_id = ANY(%s) AND c.month >= %s AND c.month < %s AND {in_total}
               GROUP BY 1, 2, 3"""
        ).format(in_total=IN_TOTAL),
        (institution_ids, start, end),
    )
    totals: dict[tuple[str, str], Decimal] = {}
    mains: set[tuple[str, str]] = set()
    for institution_id, energy_type, unit, amount, main in await cur.fetchall():
        key = (institution_id, energy_type)
        totals[key] = totals.get(key, Decimal(0)) + Decimal(amount) * to_report_unit(energy_type, unit)
        if main:
            mains.add(key)
    return totals, mains
