"""Anomalies that energy staff act on, from the roll-up's local hours.

- night base load: an institution's mean electricity per hour at night (00:00-06:00) against its mean per
  working hour (09:00-17:00 of workdays); offices that switch off at night stay well under half;
- weekend load: mean electricity per daytime hour (09:00-17:00) of the days that are not workdays against working
  hours.

Workdays are the working calendar's (domain/calendar.py, the one supervision uses): the usual workdays of the week
(YIWANG_WORKDAYS), a holiday (节假日) not one, a make-up workday (调休, a Saturday worked) one. A holiday's
daytime load is weekend load, and a make-up Saturday's is working-hours load.
- night water flow (a leak): a water meter whose smallest hourly flow between 01:00 and 05:00 stayed above
  zero on each of the last nights of the period, for at least `leak_nights` nights in a row.

Only days read at least hourly count (consumption_day.readings >= 24): a register read once a day is
shared evenly over the hours, which would look like a flat load and a leak.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Literal

from psycopg import AsyncConnection
from pydantic import BaseModel, Field

from db import calendar as db_calendar
from db import energy_reports
from db.energy_reports import Filters
from db.scope import Scope
from domain.calendar import WorkCalendar
from domain.measures import to_report_unit

AnomalyKind = Literal["night_base_load", "weekend_load", "night_water_flow"]
_NIGHT = range(0, 6)
_WORK = range(9, 17)
_LEAK_HOURS = range(1, 5)
_HOURLY = 24  # readings a day from which hours are measured, not shared out
_RATIO = Decimal("0.01")


class Anomaly(BaseModel):
    kind: AnomalyKind
    institution_id: str
    institution_name: str
    meter_id: str | None = Field(description="the water meter of a night flow; null for an institution's load")
    value: Decimal = Field(description="the ratio (loads) or the mean smallest night flow in m³/h (water)")
    threshold: Decimal
    days: int = Field(description="the days (or, for water, consecutive nights) the value is measured over")


class AnomalyReport(BaseModel):
    start: date
    end: date = Field(description="exclusive")
    anomalies: list[Anomaly]


@dataclass(slots=True)
class _Load:
    night: Decimal = Decimal(0)
    night_hours: int = 0
    work: Decimal = Decimal(0)
    work_hours: int = 0
    weekend: Decimal = Decimal(0)
    weekend_hours: int = 0
    days: set[date] = field(default_factory=set)

    def add(self, day: date, hours: list[Decimal], *, workday: bool) -> None:
        self.days.add(day)
        for hour, value in enumerate(hours):
            if hour in _NIGHT:
                self.night += value
                self.night_hours += 1
            elif hour in _WORK and workday:
                self.work += value
                self.work_hours += 1
            elif hour in _WORK:
                self.weekend += value
                self.weekend_hours += 1

    def ratios(self, night: Decimal, weekend: Decimal) -> list[tuple[AnomalyKind, Decimal, Decimal]]:
        """The loads at or above their thresholds, as shares of the load per working hour."""
        if not self.work_hours or not self.work:
            return []
        per_work_hour = self.work / self.work_hours
        out: list[tuple[AnomalyKind, Decimal, Decimal]] = []
        checks: tuple[tuple[AnomalyKind, Decimal, int, Decimal], ...] = (
            ("night_base_load", self.night, self.night_hours, night),
            ("weekend_load", self.weekend, self.weekend_hours, weekend),
        )
        for kind, total, count, threshold in checks:
            if count:
                ratio = (total / count / per_work_hour).quantize(_RATIO)
                if ratio >= threshold:
                    out.append((kind, ratio, threshold))
        return out


async def report(
    conn: AsyncConnection,
    scope: Scope,
    filters: Filters,
    *,
    start: date,
    end: date,
    night_ratio: Decimal,
    weekend_ratio: Decimal,
    leak_nights: int,
    workdays: frozenset[int],
) -> AnomalyReport:
    """`workdays`: the usual workdays of the week (Monday = 0); the period's holidays and make-up workdays are read
    from the calendar."""
    rows = await energy_reports.hourly_days(conn, scope, filters, start=start, end=end, hourly=_HOURLY)
    calendar: WorkCalendar = await db_calendar.work_calendar(conn, workdays, start, end)
    names: dict[str, str] = {}
    loads: dict[str, _Load] = defaultdict(_Load)
    nights: dict[tuple[str, str], list[tuple[date, Decimal]]] = defaultdict(list)
    for institution_id, name, meter_id, energy_type, unit, day, hours in rows:
        names[institution_id] = name
        scale = to_report_unit(energy_type, unit)
        if energy_type == "water":
            if len(hours) > max(_LEAK_HOURS):
                nights[(institution_id, meter_id)].append((day, min(hours[h] for h in _LEAK_HOURS) * scale))
        else:
            loads[institution_id].add(day, [h * scale for h in hours], workday=calendar.workday(day))
    found = [
        Anomaly(kind=kind, institution_id=i, institution_name=names[i], meter_id=None, value=ratio,
                threshold=threshold, days=len(load.days))
        for i, load in sorted(loads.items())
        for kind, ratio, threshold in load.ratios(night_ratio, weekend_ratio)
    ]  # fmt: skip
    for (institution_id, meter_id), series in sorted(nights.items()):
        run = _last_run(series)
        if len(run) >= leak_nights:
            found.append(
                Anomaly(
                    kind="night_water_flow",
                    institution_id=institution_id,
                    institution_name=names[institution_id],
                    meter_id=meter_id,
                    value=(sum(run, Decimal(0)) / len(run)).quantize(Decimal("0.001")),
                    threshold=Decimal(0),
                    days=len(run),
                )
            )
    return AnomalyReport(start=start, end=end, anomalies=found)


def _last_run(series: list[tuple[date, Decimal]]) -> list[Decimal]:
    """The smallest night flows of the consecutive nights, ending with the last night, that never reached zero."""
    run: list[Decimal] = []
    previous: date | None = None
    for day, smallest in series:
        if smallest <= 0 or (previous is not None and (day - previous).days != 1):
            run = []
        if smallest > 0:
            run.append(smallest)
        previous = day
    return run
