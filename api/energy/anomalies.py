"""Anomalies that energy staff act on, from the roll-up's local hours, judged by domain/anomalies.py (the rule the
notifier's energy watch raises night_base_load and night_water_flow alerts by): night base load and weekend load of
electricity against working hours, and night water flow (a leak). Workdays are the working calendar's
(domain/calendar.py, the one supervision uses): the usual workdays of the week (YIWANG_WORKDAYS), a holiday (节假日)
not one, a make-up workday (调休, a Saturday worked) one.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from psycopg import AsyncConnection
from pydantic import BaseModel, Field

from db import calendar as db_calendar
from db import energy_reports
from db.energy_reports import Filters
from db.scope import Scope
from domain.anomalies import HOURLY, AnomalyKind, gather, mean_flow, night_run
from domain.calendar import WorkCalendar


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
    rows = await energy_reports.hourly_days(conn, scope, filters, start=start, end=end, hourly=HOURLY)
    calendar: WorkCalendar = await db_calendar.work_calendar(conn, workdays, start, end)
    hours = gather(rows, calendar.workday)
    found = [
        Anomaly(kind=kind, institution_id=i, institution_name=hours.names[i], meter_id=None, value=ratio,
                threshold=threshold, days=len(load.days))
        for i, load in sorted(hours.loads.items())
        for kind, ratio, threshold in load.ratios(night_ratio, weekend_ratio)
    ]  # fmt: skip
    for (institution_id, meter_id), series in sorted(hours.nights.items()):
        run = night_run(series)
        if len(run) >= leak_nights:
            found.append(
                Anomaly(
                    kind="night_water_flow",
                    institution_id=institution_id,
                    institution_name=hours.names[institution_id],
                    meter_id=meter_id,
                    value=mean_flow(run),
                    threshold=Decimal(0),
                    days=len(run),
                )
            )
    return AnomalyReport(start=start, end=end, anomalies=found)
