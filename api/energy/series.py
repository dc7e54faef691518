"""Consumption over time of one institution or meter, per local hour, day, month or year, from the roll-up."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from psycopg import AsyncConnection
from pydantic import BaseModel, Field

from api.energy.factors import Factors
from db import declared, energy_reports
from db.energy_reports import Filters
from db.scope import Scope
from domain.measures import REPORT_UNIT, to_report_unit
from domain.periods import Step


class Point(BaseModel):
    start: datetime = Field(description="local start of the hour, day, month or year")
    amount: Decimal
    corrected_days: int = Field(
        default=0,
        description="meter-days in the point whose figure is staff's correction (GET /energy/corrections); 0: none",
    )


class Series(BaseModel):
    energy_type: str
    sub_item: str | None = Field(description="an electricity sub-item; null: the energy type's total")
    unit: str
    source: str = Field(
        default="meters",
        description="where the points come from: meters, entries (bills...: an institution's series by month or year "
        "where entries count for the type), fuel_statements (its vehicles' fuel-card and charging statements, by "
        "month or year), or several joined by ' and ' in name order, each counted once",
    )
    points: list[Point]


class ConsumptionSeries(BaseModel):
    institution_id: str | None
    meter_id: str | None
    step: Step
    zone: str
    start: date
    end: date = Field(description="exclusive")
    series: list[Series]


def _bucket(day: date, step: Step) -> date:
    if step == "month":
        return day.replace(day=1)
    if step == "year":
        return day.replace(month=1, day=1)
    return day


async def consumption(
    conn: AsyncConnection,
    scope: Scope,
    *,
    institution_id: str | None,
    meter_id: str | None,
    start: date,
    end: date,
    step: Step,
    zone: ZoneInfo,
) -> ConsumptionSeries | None:
    """The series per energy type (and electricity sub-item); None when the institution or meter is not
    among those the scope may see. Buckets without consumption are absent.

    An institution's monthly and yearly series count its entries (bills...) in place of its meters for a type and
    year where entries are the counting source (db/declared.py), as every energy report does, and its vehicles' fuel
    and charging from statements beside them; hourly and daily series are what the meters measured (a bill says
    nothing of its days)."""
    if not await energy_reports.visible(conn, scope, institution_id=institution_id, meter_id=meter_id):
        return None
    rows = await energy_reports.days(
        conn, scope, institution_id=institution_id, meter_id=meter_id, start=start, end=end
    )
    sums: dict[tuple[str, str | None], dict[datetime, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    marked: dict[tuple[str, str | None], dict[datetime, int]] = defaultdict(lambda: defaultdict(int))
    sources: dict[tuple[str, str | None], set[str]] = defaultdict(set)
    # An institution's series by month or year: what counts beside its meters (db/declared.py's `monthly`: entries
    # where they count, its vehicles' fuel statements always) joins them, whatever entries it has.
    by_month = institution_id is not None and meter_id is None and step in ("month", "year")
    counting = (
        await declared.counting_sources(conn, [institution_id], list(range(start.year, end.year + 1)))
        if by_month and institution_id is not None
        else {}
    )
    for energy_type, sub_item, unit, day, amount, hours, in_total, corrected in rows:
        scale = to_report_unit(energy_type, unit)
        # One meter's series is its own total; an institution's total leaves out sub-items its main meter has, and
        # (by month or year) the meters of a type and year where its entries count.
        by_entries = counting.get((institution_id or "", energy_type, day.year)) == "entries"
        keys: list[tuple[str, str | None]] = (
            [(energy_type, None)] if (in_total and not by_entries) or meter_id is not None else []
        )
        keys += [(energy_type, sub_item)] if sub_item is not None else []
        if step == "hour":
            midnight = datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)
            for index, value in enumerate(hours):
                moment = (midnight + timedelta(hours=index)).astimezone(zone)
                for key in keys:
                    sums[key][moment] += value * scale
                    marked[key][moment] += corrected
        else:
            b = _bucket(day, step)
            moment = datetime(b.year, b.month, b.day, tzinfo=zone)
            for key in keys:
                sums[key][moment] += amount * scale
                marked[key][moment] += corrected
        for key in keys:
            sources[key].add("meters")
    if by_month and institution_id is not None:
        for row in await declared.monthly(conn, [institution_id], start, end, counting=counting):
            b = _bucket(row.month, step)
            sums[(row.energy_type, None)][datetime(b.year, b.month, b.day, tzinfo=zone)] += row.quantity
            sources[(row.energy_type, None)].add(row.source)
    series = [
        Series(
            energy_type=energy_type,
            sub_item=sub_item,
            unit=REPORT_UNIT[energy_type],
            source=" and ".join(sorted(sources[(energy_type, sub_item)] or {"meters"})),
            points=[
                Point(start=moment, amount=value, corrected_days=marked[(energy_type, sub_item)][moment])
                for moment, value in sorted(points.items())
            ],
        )
        for (energy_type, sub_item), points in sorted(sums.items(), key=lambda kv: (kv[0][0], kv[0][1] or ""))
    ]
    return ConsumptionSeries(
        institution_id=institution_id,
        meter_id=meter_id,
        step=step,
        zone=zone.key,
        start=start,
        end=end,
        series=series,
    )


async def monthly(
    conn: AsyncConnection, scope: Scope, filters: Filters, *, start: date, end: date, factors: Factors
) -> list[tuple[date, dict[str, Decimal], Decimal | None, int]]:
    """Per local month of [start, end) with consumption: the amounts per energy type (report units) of the
    institutions selected, their comprehensive energy in kgce (None when only water was read), and how many
    meter-days of the month hold staff's correction. Where entries (bills...) are an institution's counting source
    for a type and year (db/declared.py), the month holds the entries' share and not the meters'; the institutions'
    vehicles' fuel and charging from statements count in their months beside both."""
    ids = [row[0] for row in await energy_reports.institutions(conn, scope, filters)]
    counting = await declared.counting_sources(conn, ids, list(range(start.year, end.year + 1)))
    months: dict[date, dict[str, Decimal]] = {}
    marked: dict[date, int] = defaultdict(int)
    rows = await energy_reports.months(conn, scope, filters, start=start, end=end)
    for month, energy_type, unit, amount, corrected, institution_id in rows:
        if counting.get((institution_id, energy_type, month.year)) == "entries":
            continue  # the entries count for this type and year, never both
        amounts = months.setdefault(month, defaultdict(Decimal))
        amounts[energy_type] += amount * to_report_unit(energy_type, unit)
        marked[month] += corrected
    # Entries where they count and the vehicles' fuel statements always, whatever the entries.
    for row in await declared.monthly(conn, ids, start, end, counting=counting):
        months.setdefault(row.month, defaultdict(Decimal))[row.energy_type] += row.quantity
    out: list[tuple[date, dict[str, Decimal], Decimal | None, int]] = []
    for month, amounts in sorted(months.items()):
        counted = [a * coal for e, a in amounts.items() if (coal := factors.kgce_per_unit(e)) is not None]
        # A month with readings of water only has no comprehensive energy: null, not 0.
        kgce = sum(counted, Decimal(0)).quantize(Decimal("0.001")) if counted else None
        out.append((month, dict(amounts), kgce, marked.get(month, 0)))
    return out
