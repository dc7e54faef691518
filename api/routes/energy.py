"""Energy statistics: indicators, rankings, consumption series and data quality of the institutions you may see."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, status
from psycopg import AsyncConnection
from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.deps import PoolDep, ScopeDep, SettingsDep, require
from api.energy import anomalies, indicators, quality, series
from api.energy import factors as factor_data
from api.energy.factors import Factors
from api.energy.indicators import Filters, Group, Indicator, IndicatorReport, Period
from api.errors import Text, responses

router = APIRouter(tags=["energy"])

Category = Literal["agency", "public_institution", "school", "hospital", "community", "venue"]
_LONGEST = timedelta(days=366 * 10)


class PeriodQuery(BaseModel):
    """Local days [start, end) in the zone of YIWANG_ENERGY_ZONE."""

    model_config = ConfigDict(extra="forbid")

    start: date = Field(description="first local day", examples=["2026-01-01"])
    end: date = Field(description="the day after the last (exclusive)", examples=["2027-01-01"])

    @model_validator(mode="after")
    def _ordered(self) -> PeriodQuery:
        if self.end <= self.start:
            raise ValueError("end must be after start (end is exclusive: a year is 2026-01-01 to 2027-01-01)")
        if self.end - self.start > _LONGEST:
            raise ValueError("a period is at most ten years")
        if self.start.year < 2000 or self.end.year > 2101:
            raise ValueError("periods lie between 2000 and 2100")
        return self

    @property
    def period(self) -> Period:
        return Period(self.start, self.end)


class FilterQuery(PeriodQuery):
    institution_id: Text | None = None
    organisation_id: Text | None = None
    category: Category | None = None
    district: Text | None = None
    key_energy_unit: bool | None = Field(default=None, description="only key energy-using units (重点用能单位)")
    in_assessment: bool | None = Field(default=None, description="only institutions in the online assessment")

    @property
    def filters(self) -> Filters:
        return Filters(
            institution_id=self.institution_id,
            organisation_id=self.organisation_id,
            category=self.category,
            district=self.district,
            key_energy_unit=self.key_energy_unit,
            in_assessment=self.in_assessment,
        )


class IndicatorQuery(FilterQuery):
    group: Group = Field(default="institution", description="one row per institution, category, district, or city")
    coal_version: Text | None = Field(default=None, description="standard-coal factor version (default: newest)")
    carbon_version: Text | None = Field(default=None, description="carbon factor version (default: newest)")
    region: Text = Field(default="national", description="grid region of the electricity carbon factor")


class RankingQuery(IndicatorQuery):
    indicator: Indicator = "energy_per_capita"


class Ranked(BaseModel):
    rank: int | None = Field(description="1 is the lowest value; null when the value cannot be computed")
    institution_id: str
    institution_name: str
    category: str
    value: Decimal | None


class Ranking(BaseModel):
    indicator: Indicator
    start: date
    end: date
    category: str | None
    items: list[Ranked]


async def chosen_factors(conn: AsyncConnection, query: IndicatorQuery) -> Factors:
    """The factors a query names (or the newest); 422 for an unknown version."""
    try:
        return await factor_data.choose(
            conn,
            year=query.start.year,
            coal_version=query.coal_version,
            carbon_version=query.carbon_version,
            region=query.region,
        )
    except factor_data.UnknownFactorVersion as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(exc)) from None


async def indicator_report(
    conn: AsyncConnection, scope: ScopeDep, settings: SettingsDep, query: IndicatorQuery, factors: Factors
) -> IndicatorReport:
    """The report behind the indicator, ranking and export routes."""
    return await indicators.report(
        conn,
        scope,
        period=query.period,
        group=query.group,
        factors=factors,
        filters=query.filters,
        zone=settings.energy_zone,
        near=Decimal(str(settings.energy_quota_near)),
    )


async def quality_report(
    conn: AsyncConnection, scope: ScopeDep, settings: SettingsDep, query: FilterQuery
) -> quality.QualityReport:
    """The data-quality report behind its route and the export's sheet."""
    return await quality.report(
        conn,
        scope,
        query.filters,
        start=query.start,
        end=query.end,
        zone=settings.zone,
        interval_seconds=settings.energy_reading_interval_seconds,
        silent_seconds=settings.energy_silent_seconds,
    )


@router.get(
    "/energy/indicators",
    dependencies=[Depends(require("indicators:read"))],
    responses=responses(401, 403, 422),
)
async def get_indicators(
    pool: PoolDep, scope: ScopeDep, settings: SettingsDep, query: Annotated[IndicatorQuery, Query()]
) -> IndicatorReport:
    """Consumption, comprehensive energy, the assessed indicators, carbon, changes and quota status for a
    period, per institution or group, with the factor versions used."""
    async with pool.connection() as conn:
        return await indicator_report(conn, scope, settings, query, await chosen_factors(conn, query))


@router.get(
    "/energy/rankings",
    dependencies=[Depends(require("indicators:read"))],
    responses=responses(401, 403, 422),
)
async def get_rankings(
    pool: PoolDep, scope: ScopeDep, settings: SettingsDep, query: Annotated[RankingQuery, Query()]
) -> Ranking:
    """Institutions ranked by an indicator, lowest first (within a category when one is given)."""
    async with pool.connection() as conn:
        per_institution = query.model_copy(update={"group": "institution"})
        result = await indicator_report(conn, scope, settings, per_institution, await chosen_factors(conn, query))
    return Ranking(
        indicator=query.indicator,
        start=query.start,
        end=query.end,
        category=query.category,
        items=rank(result, query.indicator),
    )


def rank(result: IndicatorReport, indicator: Indicator) -> list[Ranked]:
    """Institution rows ordered by an indicator; equal values share a rank (1, 2, 2, 4)."""
    rows = [(getattr(r.current, indicator), r) for r in result.rows if r.institution_id is not None]
    known = sorted(((v, r) for v, r in rows if v is not None), key=lambda vr: (vr[0], vr[1].institution_id))
    out: list[Ranked] = []
    for position, (value, row) in enumerate(known, start=1):
        shared = out[-1].rank if out and out[-1].value == value else position
        out.append(_ranked(row, shared, value))
    out.extend(_ranked(row, None, None) for value, row in rows if value is None)
    return out


def _ranked(row: indicators.IndicatorRow, position: int | None, value: Decimal | None) -> Ranked:
    return Ranked(
        rank=position,
        institution_id=row.institution_id or "",
        institution_name=row.institution_name or "",
        category=row.category or "",
        value=value,
    )


class SeriesQuery(PeriodQuery):
    institution_id: Text | None = None
    meter_id: Text | None = None
    step: series.Step = "day"

    @model_validator(mode="after")
    def _one_subject(self) -> SeriesQuery:
        if (self.institution_id is None) == (self.meter_id is None):
            raise ValueError("give institution_id or meter_id, one of them")
        if self.step == "hour" and self.end - self.start > timedelta(days=92):
            raise ValueError("hourly series cover at most 92 days")
        return self


@router.get(
    "/energy/consumption",
    dependencies=[Depends(require("readings:read"))],
    responses=responses(401, 403, 404, 422),
)
async def get_consumption(
    pool: PoolDep, scope: ScopeDep, settings: SettingsDep, query: Annotated[SeriesQuery, Query()]
) -> series.ConsumptionSeries:
    """Consumption of an institution or a meter per local hour, day, month or year, per energy type and
    electricity sub-item, in report units (kWh, m³, MJ, kg). 404 when it is not among those you may see."""
    async with pool.connection() as conn:
        found = await series.consumption(
            conn,
            scope,
            institution_id=query.institution_id,
            meter_id=query.meter_id,
            start=query.start,
            end=query.end,
            step=query.step,
            zone=settings.zone,
        )
    if found is None:
        subject = f"institution {query.institution_id}" if query.institution_id else f"meter {query.meter_id}"
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no {subject}")
    return found


@router.get(
    "/energy/quality",
    dependencies=[Depends(require("readings:read"))],
    responses=responses(401, 403, 422),
)
async def get_quality(
    pool: PoolDep, scope: ScopeDep, settings: SettingsDep, query: Annotated[FilterQuery, Query()]
) -> quality.QualityReport:
    """Per meter: completeness, silence, rollovers, resets, jitter and implausible deltas in the period."""
    async with pool.connection() as conn:
        return await quality_report(conn, scope, settings, query)


@router.get(
    "/energy/anomalies",
    dependencies=[Depends(require("indicators:read"))],
    responses=responses(401, 403, 422),
)
async def get_anomalies(
    pool: PoolDep, scope: ScopeDep, settings: SettingsDep, query: Annotated[FilterQuery, Query()]
) -> anomalies.AnomalyReport:
    """High night or weekend base load against working hours, and water meters whose night flow never stops
    (a leak), from days read at least hourly; thresholds are settings (YIWANG_ENERGY_*)."""
    async with pool.connection() as conn:
        return await anomalies.report(
            conn,
            scope,
            query.filters,
            start=query.start,
            end=query.end,
            night_ratio=Decimal(str(settings.energy_night_load_ratio)),
            weekend_ratio=Decimal(str(settings.energy_weekend_load_ratio)),
            leak_nights=settings.energy_leak_nights,
        )


class FlaggedQuery(FilterQuery):
    meter_id: Text | None = None


@router.get(
    "/energy/flagged",
    dependencies=[Depends(require("readings:read"))],
    responses=responses(401, 403, 422),
)
async def get_flagged(
    pool: PoolDep, scope: ScopeDep, settings: SettingsDep, query: Annotated[FlaggedQuery, Query()]
) -> list[quality.FlaggedDelta]:
    """The deltas that were not plain rises (rollovers, jitter, resets and replacements, implausible ones), each
    with its registers and the rule that applied: what data quality counts, one by one."""
    zone = settings.zone
    async with pool.connection() as conn:
        return await quality.flagged(
            conn,
            scope,
            query.filters,
            meter_id=query.meter_id,
            start=datetime(query.start.year, query.start.month, query.start.day, tzinfo=zone),
            end=datetime(query.end.year, query.end.month, query.end.day, tzinfo=zone),
        )
