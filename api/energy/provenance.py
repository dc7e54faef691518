"""What an energy file's provenance says of its figures (api/files/provenance.py builds the block): the factor
versions applied, and the data-quality summary of the report's meters."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from zoneinfo import ZoneInfo

from psycopg import AsyncConnection

from api.energy.factor_sheet import AppliedFactor
from api.energy.quality import (
    QualityReport,
    completeness,  # the quality report's own rule, one for all
)
from api.files.provenance import FactorUsed, QualitySummary
from db import energy_reports
from db.energy_reports import Filters
from db.scope import Scope
from domain.periods import Period


def factors_used(applied: Sequence[AppliedFactor]) -> list[FactorUsed]:
    """The versions of the factors applied, each once, standard coal first (the order `factor_sheet.applied` has);
    carbon's with the region asked for and the year of the electricity factor applied."""
    used: dict[str, FactorUsed] = {}
    for row in applied:
        version = row.version
        carbon = version.kind == "carbon"
        found = used.setdefault(
            version.kind,
            FactorUsed(
                kind=version.kind,
                version=version.version,
                title=version.title,
                source=version.source,
                published_on=version.published_on,
                intended_use=version.intended_use,
                region=row.region if carbon else None,
            ),
        )
        if carbon and row.energy_type == "electricity":
            used[version.kind] = replace(found, electricity_year=row.year)
    return list(used.values())


async def held_gaps(conn: AsyncConnection, scope: Scope, filters: Filters, *, period: Period, zone: ZoneInfo) -> int:
    """The gaps held in the period's local days (by their end), as GET /energy/flagged lists them as `gap`."""
    start, end = period.moments(zone)
    return await energy_reports.held_gaps(conn, scope, filters, start=start, end=end)


def quality_summary(report: QualityReport, held_gaps: int) -> QualitySummary:
    """The meters of `report` summed, with the count of held gaps (GET /energy/quality, and the `gap`s of
    GET /energy/flagged of the same query)."""
    meters = report.meters
    readings, expected = sum(m.readings for m in meters), sum(m.expected for m in meters)
    return QualitySummary(
        meters=len(meters),
        meters_reporting=sum(m.readings > 0 for m in meters),
        readings=readings,
        expected=expected,
        completeness=completeness(readings, expected),
        silent_meters=sum(m.silent for m in meters),
        held_gaps=held_gaps,
        implausible=sum(m.implausible for m in meters),
        conflicts=sum(m.conflicts for m in meters),
    )
