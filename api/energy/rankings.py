"""Rankings of institutions by each assessed indicator (water per capita, comprehensive energy per capita, energy per
floor area), lowest first, by domain/ranking.py's rule: equal values share a rank (1, 2, 2, 4); an institution
without the figure (no readings, no floor area, no headcount) or whose figure rests on readings that do not cover the
period (incomplete_period, value shown) is listed apart after the ranked ones, unranked, with the reason. Missing is
never zero, so never the best.

One ranking per indicator, never a mix: kgce per person and kgce per m² are different measures, and a combined
ranking would set one institution's per-capita figure against another's per-area one. An institution without a
headcount is assessed by floor area: it is ranked in the energy-per-floor-area ranking, and the per-capita ranking
lists it unranked (no_headcount) with `floor_area_rank`, its rank there, so that the fallback is said where it
applies.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Final

from pydantic import BaseModel, Field

from api.energy.indicators import IndicatorReport, IndicatorRow
from api.energy.reports import IndicatorQuery
from domain.energy import Indicator, NoFigure
from domain.ranking import ranked

# The unit of each assessed indicator's value.
UNITS: Final[dict[Indicator, str]] = {
    "water_per_capita": "m³/person",
    "energy_per_capita": "kgce/person",
    "energy_per_area": "kgce/m²",
}
# An indicator whose institutions without a headcount are assessed by another one instead.
FALLBACK: Final[dict[Indicator, Indicator]] = {"energy_per_capita": "energy_per_area"}


class RankingQuery(IndicatorQuery):
    indicator: Indicator = Field(
        default="energy_per_capita", description="the assessed indicator ranked on: one ranking each"
    )


class Ranked(BaseModel):
    rank: int | None = Field(
        description="1 is the lowest value; equal values share a rank (1, 2, 2, 4); null when unranked (`reason`)"
    )
    institution_id: str
    institution_name: str
    category: str
    value: Decimal | None = Field(
        description="the indicator's value; null when it cannot be computed; shown but unranked when incomplete"
    )
    reason: NoFigure | None = Field(
        default=None,
        description="why the institution is unranked: no_readings, no_floor_area, no_headcount (the value is null), "
        "or incomplete_period (the value rests on readings that do not cover the period: too low for now)",
    )
    floor_area_rank: int | None = Field(
        default=None,
        description="in the energy-per-capita ranking, for an institution unranked for want of a headcount: its rank "
        "in the energy-per-floor-area ranking of the same institutions, by which it is assessed instead",
    )
    corrected_days: int = Field(
        default=0,
        description="meter-days whose figure is staff's correction among those the value sums (water's for water per "
        "capita, the other energies' for energy)",
    )


class Ranking(BaseModel):
    indicator: Indicator
    unit: str = Field(description="the unit of the values")
    start: date
    end: date
    category: str | None
    items: list[Ranked] = Field(description="the ranked lowest first, then the unranked with their reasons")


def rank(result: IndicatorReport, indicator: Indicator) -> list[Ranked]:
    """The institution rows of a report ranked by an indicator (see the module's rule)."""
    return rank_rows([r for r in result.rows if r.institution_id is not None], indicator)


def rank_rows(rows: Sequence[IndicatorRow], indicator: Indicator) -> list[Ranked]:
    """Institution rows ranked by an indicator among themselves (see the module's rule)."""
    fallback = FALLBACK.get(indicator)
    by_area = {r.institution_id: r.rank for r in rank_rows(rows, fallback)} if fallback is not None else {}
    out = []
    for row, position in ranked(
        rows,
        value=lambda r: getattr(r.current, indicator),
        rankable=lambda r: indicator not in r.current.incomplete,
        tie=lambda r: r.institution_id or "",
    ):
        value: Decimal | None = getattr(row.current, indicator)
        reason: NoFigure | None = None
        if position is None:
            reason = row.current.reasons.get(indicator, "no_readings") if value is None else "incomplete_period"
        out.append(
            Ranked(
                rank=position,
                institution_id=row.institution_id or "",
                institution_name=row.institution_name or "",
                category=row.category or "",
                value=value,
                reason=reason,
                floor_area_rank=by_area.get(row.institution_id or "") if reason == "no_headcount" else None,
                corrected_days=_corrected_days(row, indicator),
            )
        )
    return out


def _corrected_days(row: IndicatorRow, indicator: Indicator) -> int:
    """The corrected meter-days among those the indicator sums: a water meter's correction is in no energy figure."""
    water = indicator == "water_per_capita"
    return sum(c.corrected_days for c in row.current.consumption if (c.energy_type == "water") == water)
