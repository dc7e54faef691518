"""What an energy file's provenance says of its figures (api/files/provenance.py builds the block): the factor
versions applied, and the data-quality summary of the report's meters."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from api.energy.factor_sheet import AppliedFactor

# The one rule of completeness, that of each meter and institution of the quality report.
from api.energy.quality import FlaggedDelta, QualityReport
from api.energy.quality import _completeness as completeness
from api.files.provenance import FactorUsed, QualitySummary


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


def quality_summary(report: QualityReport, flagged: Sequence[FlaggedDelta]) -> QualitySummary:
    """The meters of `report` summed, with the gaps of `flagged` still held (GET /energy/quality and
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
        held_gaps=sum(f.change == "gap" for f in flagged),
        implausible=sum(m.implausible for m in meters),
        conflicts=sum(m.conflicts for m in meters),
    )
