"""Rankings of institutions within a category by an assessed indicator, lowest first; an institution without the
figure (no readings, no floor area, no headcount) is listed apart after the ranked ones, unranked: rank and value
null, and the reason why. Missing is never zero, so never the best."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import BaseModel, Field

from api.energy.indicators import IndicatorReport, IndicatorRow
from api.energy.reports import IndicatorQuery
from domain.energy import Indicator, NoFigure


class RankingQuery(IndicatorQuery):
    indicator: Indicator = "energy_per_capita"


class Ranked(BaseModel):
    rank: int | None = Field(description="1 is the lowest value; null when the value cannot be computed")
    institution_id: str
    institution_name: str
    category: str
    value: Decimal | None
    reason: NoFigure | None = Field(default=None, description="why the value is null and the institution unranked")
    corrected_days: int = Field(default=0, description="meter-days in the value whose figure is staff's correction")


class Ranking(BaseModel):
    indicator: Indicator
    start: date
    end: date
    category: str | None
    items: list[Ranked]


def rank(result: IndicatorReport, indicator: Indicator) -> list[Ranked]:
    """Institution rows ordered by an indicator; equal values share a rank (1, 2, 2, 4)."""
    rows = [(getattr(r.current, indicator), r) for r in result.rows if r.institution_id is not None]
    known = sorted(((v, r) for v, r in rows if v is not None), key=lambda vr: (vr[0], vr[1].institution_id))
    out: list[Ranked] = []
    for position, (value, row) in enumerate(known, start=1):
        shared = out[-1].rank if out and out[-1].value == value else position
        out.append(_ranked(row, shared, value))
    out.extend(_ranked(row, None, None, row.current.reasons.get(indicator)) for value, row in rows if value is None)
    return out


def _ranked(row: IndicatorRow, position: int | None, value: Decimal | None, reason: NoFigure | None = None) -> Ranked:
    return Ranked(
        rank=position,
        institution_id=row.institution_id or "",
        institution_name=row.institution_name or "",
        category=row.category or "",
        value=value,
        reason=reason,
        corrected_days=row.current.corrected_days,
    )
