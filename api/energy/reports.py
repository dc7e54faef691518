"""The energy reports as the routes and exports ask for them: the query of a period, its institutions and the
factor versions, and the indicator and data-quality reports it gives, with the thresholds of the settings."""

from __future__ import annotations

from decimal import Decimal

from psycopg import AsyncConnection
from pydantic import Field

from api.energy import factors as factor_data
from api.energy import indicators, quality
from api.energy.factors import CoalMethod, Factors
from api.energy.indicators import Group, IndicatorReport
from api.fields import Text
from api.queries import PeriodQuery
from db.energy_reports import Filters
from db.scope import Scope
from domain.energy import Category
from yiwang.settings import Settings


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
    coal_version: Text | None = Field(
        default=None, description="standard-coal factor version (default: the newest of coal_method)"
    )
    coal_method: CoalMethod | None = Field(
        default=None,
        description="standard-coal method: calorific_equivalent (当量值, the default: the public-institution "
        "statistics') or equivalent_value (等价值); with coal_version, that version must be of it",
    )
    carbon_version: Text | None = Field(default=None, description="carbon factor version (default: newest)")
    region: Text = Field(
        default="national",
        description="region of the electricity carbon factor: national, a grid region or a province (docs/factors.md)",
    )


async def chosen_factors(conn: AsyncConnection, query: IndicatorQuery) -> Factors:
    """The factors a query names (or the newest).

    Raises:
        UnknownFactorVersion: the query names a version there is none of (422).
        MethodMismatch: the query names a standard-coal version of another method than it names (422).
    """
    return await factor_data.choose(
        conn,
        year=query.start.year,
        coal_version=query.coal_version,
        carbon_version=query.carbon_version,
        region=query.region,
        coal_method=query.coal_method,
    )


async def indicator_report(
    conn: AsyncConnection, scope: Scope, settings: Settings, query: IndicatorQuery, factors: Factors
) -> IndicatorReport:
    """The report behind the indicator, ranking and export routes."""
    return await indicators.report(
        conn,
        scope,
        period=query.period,
        group=query.group,
        factors=factors,
        filters=query.filters,
        zone=settings.time_zone,
        near=Decimal(str(settings.energy_quota_near)),
        key_unit_tce=Decimal(str(settings.energy_key_unit_threshold_tce)),
    )


async def quality_report(
    conn: AsyncConnection, scope: Scope, settings: Settings, query: FilterQuery
) -> quality.QualityReport:
    """The data-quality report behind its route and the export's sheet."""
    return await quality.report(
        conn,
        scope,
        query.filters,
        start=query.start,
        end=query.end,
        zone=settings.zone,
        silent_seconds=settings.energy_silent_seconds,
    )
