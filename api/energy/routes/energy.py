"""Energy statistics: indicators, rankings, consumption series and data quality of the institutions you may see."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from psycopg import AsyncConnection
from pydantic import BaseModel, Field, model_validator

from api.deps import ReadsDep, ScopeDep, SettingsDep, require
from api.energy import anomalies, quality, series
from api.energy.indicators import IndicatorReport
from api.energy.rankings import UNITS, Ranking, RankingQuery, rank
from api.energy.reports import FilterQuery, IndicatorQuery, chosen_factors, indicator_report, quality_report
from api.errors import NotFound, responses
from api.fields import Text
from api.queries import PeriodQuery
from api.reads import read_responses
from db import energy_reports
from domain.periods import Step

router = APIRouter(prefix="/energy", tags=["energy"])


@router.get(
    "/indicators",
    dependencies=[Depends(require("indicators:read"))],
    responses=read_responses(responses(401, 403, 422)),
)
async def get_indicators(
    reads: ReadsDep, scope: ScopeDep, settings: SettingsDep, query: Annotated[IndicatorQuery, Query()]
) -> IndicatorReport:
    """Consumption, comprehensive energy, the assessed indicators, carbon, changes and quota status for a
    period, per institution or group, with the factor versions used. A figure without data is null with its reason;
    one whose meters' readings do not cover the period whole is shown and named in `incomplete` (not final). Key
    energy-using units: the registry's flag beside those proposed by the consumption threshold."""

    async def work(conn: AsyncConnection) -> IndicatorReport:
        return await indicator_report(conn, scope, settings, query, await chosen_factors(conn, query))

    return await reads.read(work)


@router.get(
    "/rankings",
    dependencies=[Depends(require("indicators:read"))],
    responses=read_responses(responses(401, 403, 422)),
)
async def get_rankings(
    reads: ReadsDep, scope: ScopeDep, settings: SettingsDep, query: Annotated[RankingQuery, Query()]
) -> Ranking:
    """Institutions ranked by one assessed indicator (one ranking each), lowest first, within the institutions
    selected (a category's when one is given): equal values share a rank (1, 2, 2, 4); those without the figure, or
    whose figure rests on readings that do not cover the period (incomplete_period), come after, unranked, with the
    reason. In the per-capita ranking an institution without a headcount says its rank by floor area."""
    per_institution = query.model_copy(update={"group": "institution"})

    async def work(conn: AsyncConnection) -> IndicatorReport:
        return await indicator_report(conn, scope, settings, per_institution, await chosen_factors(conn, query))

    result = await reads.read(work)
    return Ranking(
        indicator=query.indicator,
        unit=UNITS[query.indicator],
        start=query.start,
        end=query.end,
        category=query.category,
        items=rank(result, query.indicator),
    )


class SeriesQuery(PeriodQuery):
    institution_id: Text | None = None
    meter_id: Text | None = None
    step: Step = "day"

    @model_validator(mode="after")
    def _one_subject(self) -> SeriesQuery:
        if (self.institution_id is None) == (self.meter_id is None):
            raise ValueError("give institution_id or meter_id, one of them")
        if self.step == "hour" and self.end - self.start > timedelta(days=92):
            raise ValueError("hourly series cover at most 92 days")
        return self


@router.get(
    "/consumption",
    dependencies=[Depends(require("readings:read"))],
    responses=read_responses(responses(401, 403, 404, 422)),
)
async def get_consumption(
    reads: ReadsDep, scope: ScopeDep, settings: SettingsDep, query: Annotated[SeriesQuery, Query()]
) -> series.ConsumptionSeries:
    """Consumption of an institution or a meter per local hour, day, month or year, per energy type and
    electricity sub-item, in report units (kWh, m³, MJ, kg). 404 when it is not among those you may see."""
    found = await reads.read(
        lambda conn: series.consumption(
            conn,
            scope,
            institution_id=query.institution_id,
            meter_id=query.meter_id,
            start=query.start,
            end=query.end,
            step=query.step,
            zone=settings.zone,
        )
    )
    if found is None:
        subject = f"institution {query.institution_id}" if query.institution_id else f"meter {query.meter_id}"
        raise NotFound(f"no {subject}")
    return found


class DataExtent(BaseModel):
    """The days that hold consumption data: where a view of the data should open."""

    first_day: date | None = Field(description="the first local day counted for any meter you may see")
    last_day: date | None = Field(description="the last (today's, while meters report); null: no data yet")


@router.get(
    "/extent", dependencies=[Depends(require("indicators:read"))], responses=read_responses(responses(401, 403))
)
async def get_extent(reads: ReadsDep, scope: ScopeDep) -> DataExtent:
    """The first and last local days with consumption of the meters you may see: the dashboard opens on the latest
    whole period they cover rather than on a year mostly without data."""
    first, last = await reads.read(lambda conn: energy_reports.extent(conn, scope))
    return DataExtent(first_day=first, last_day=last)


@router.get(
    "/quality",
    dependencies=[Depends(require("readings:read"))],
    responses=read_responses(responses(401, 403, 422)),
)
async def get_quality(
    reads: ReadsDep, scope: ScopeDep, settings: SettingsDep, query: Annotated[FilterQuery, Query()]
) -> quality.QualityReport:
    """Per meter: completeness at its own reading interval from its connection, silence, rollovers, resets, jitter,
    implausible deltas and conflicting resends in the period."""
    return await reads.read(lambda conn: quality_report(conn, scope, settings, query))


@router.get(
    "/anomalies",
    dependencies=[Depends(require("indicators:read"))],
    responses=read_responses(responses(401, 403, 422)),
)
async def get_anomalies(
    reads: ReadsDep, scope: ScopeDep, settings: SettingsDep, query: Annotated[FilterQuery, Query()]
) -> anomalies.AnomalyReport:
    """High night or weekend base load against working hours, and water meters whose night flow never stops
    (a leak), from days read at least hourly; thresholds are settings (YIWANG_ENERGY_*). Working hours are those of
    workdays as the working calendar has them (/calendar/days: a holiday is not one, a make-up Saturday is); the
    weekend load is that of the other days."""
    return await reads.read(
        lambda conn: anomalies.report(
            conn,
            scope,
            query.filters,
            start=query.start,
            end=query.end,
            night_ratio=Decimal(str(settings.energy_night_load_ratio)),
            weekend_ratio=Decimal(str(settings.energy_weekend_load_ratio)),
            leak_nights=settings.energy_leak_nights,
            workdays=settings.week_workdays,
        )
    )


class FlaggedQuery(FilterQuery):
    meter_id: Text | None = None


@router.get(
    "/flagged",
    dependencies=[Depends(require("readings:read"))],
    responses=read_responses(responses(401, 403, 422)),
)
async def get_flagged(
    reads: ReadsDep, scope: ScopeDep, settings: SettingsDep, query: Annotated[FlaggedQuery, Query()]
) -> list[quality.FlaggedDelta]:
    """The deltas that were not plain rises (rollovers, jitter, resets and replacements, implausible ones), each
    with its registers and the rule that applied: what data quality counts, one by one."""
    return await reads.read(
        lambda conn: quality.flagged(
            conn, scope, query.filters, meter_id=query.meter_id, period=query.period, zone=settings.zone
        )
    )


@router.get(
    "/conflicts",
    dependencies=[Depends(require("readings:read"))],
    responses=read_responses(responses(401, 403, 422)),
)
async def get_conflicts(
    reads: ReadsDep, scope: ScopeDep, settings: SettingsDep, query: Annotated[FlaggedQuery, Query()]
) -> list[quality.ConflictingResend]:
    """Readings resent for a time already stored with another register: the stored (first) register counts; the
    resent one is kept here, with how often it came, for staff to judge. A resend with the same register leaves
    nothing."""
    return await reads.read(
        lambda conn: quality.conflicts(
            conn, scope, query.filters, meter_id=query.meter_id, period=query.period, zone=settings.zone
        )
    )
