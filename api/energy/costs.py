"""What institutions paid for energy and water over a period: the costs stated on bills and delivery notes, per type,
in total, per m² of floor area and per person, against the same period last year.

Costs come from the entries that count (api/energy/entries.py), shared between periods by days as their quantities
are, whichever source counts the quantity (db/declared.py): meters know no prices. Gasoline, diesel and electricity
also count the amounts of the home institution's vehicles' fuel-card and charging statements on the period's days
(db/fuel_costs.py; withdrawn and reversed purchases left out), as the survey's vehicle rows do: `vehicle_costs` says
how much of each type's cost they are. The total is every type's cost,
water included (the survey asks each energy's and water's cost). Missing is not zero: a figure without a stated cost,
floor area or headcount is null and `reasons` says why. A group's ratio is the sum of its institutions' costs over
the sum of their denominators, counting only institutions that state both.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import date
from decimal import Decimal
from typing import Literal

from psycopg import AsyncConnection
from pydantic import BaseModel, Field

from api.energy.indicators import Group
from api.files.table import Column, Sheet
from db import declared, energy_reports, fuel_costs
from db.energy_reports import Filters
from db.scope import Scope
from domain import labels
from domain.entries import ENTRY_TYPES, NoCost
from domain.periods import Period

_YUAN = Decimal("0.01")
_RATIO = Decimal("0.0001")


class CostAmount(BaseModel):
    energy_type: str
    cost: Decimal = Field(description="yuan")


class CostFigures(BaseModel):
    costs: list[CostAmount] = Field(
        description="the types with a stated cost (bills' and the vehicles' statements'); others absent, never zero"
    )
    vehicle_costs: list[CostAmount] = Field(
        default_factory=list,
        description="of `costs`, the amounts of the home institution's vehicles' fuel-card and charging statements "
        "(车辆加油、充电; source fuel_statements)",
    )
    total_cost: Decimal | None = Field(description="yuan, every type's cost, water included")
    floor_area_m2: Decimal | None
    headcount: int | None
    cost_per_area: Decimal | None = Field(description="yuan per m²")
    cost_per_capita: Decimal | None = Field(description="yuan per person")
    reasons: dict[str, NoCost] = Field(
        default_factory=dict, description="why each null figure has no value (no_cost, no_floor_area, no_headcount)"
    )


class CostRow(BaseModel):
    institution_id: str | None = None
    institution_name: str | None = None
    organisation_id: str | None = None
    category: str | None = None
    district: str | None = None
    institutions: int
    current: CostFigures
    last_year: CostFigures
    change_last_year: Decimal | None = Field(description="relative change of the total cost (0.05: 5% more)")
    change_reason: NoCost | None = Field(description="why the change is null: a period without a stated cost")


class CostReport(BaseModel):
    start: date
    end: date = Field(description="exclusive")
    group: Group
    rows: list[CostRow]


class _Sums:
    """An institution's or a group's costs and denominators in one period."""

    def __init__(self) -> None:
        self.costs: dict[str, Decimal] = defaultdict(Decimal)
        self.vehicle_costs: dict[str, Decimal] = defaultdict(Decimal)  # of `costs`: the vehicles' statements
        self.area, self.heads = Decimal(0), 0
        self.has_area = self.has_heads = False
        self.ratios: dict[str, tuple[Decimal, Decimal]] = {}

    def add(self, other: _Sums) -> None:
        for energy_type, cost in other.costs.items():
            self.costs[energy_type] += cost
        for energy_type, cost in other.vehicle_costs.items():
            self.vehicle_costs[energy_type] += cost
        self.area += other.area
        self.heads += other.heads
        self.has_area |= other.has_area
        self.has_heads |= other.has_heads
        for name, (numerator, denominator) in other.ratios.items():
            n, d = self.ratios.get(name, (Decimal(0), Decimal(0)))
            self.ratios[name] = (n + numerator, d + denominator)

    def figures(self) -> CostFigures:
        total = sum(self.costs.values(), Decimal(0)) if self.costs else None
        ratios = {
            name: (n / d).quantize(_RATIO) if d else None
            for name in ("cost_per_area", "cost_per_capita")
            for n, d in [self.ratios.get(name, (Decimal(0), Decimal(0)))]
        }
        reasons: dict[str, NoCost] = {}
        if total is None:
            reasons |= dict.fromkeys(("total_cost", "cost_per_area", "cost_per_capita"), "no_cost")
        if not self.has_area:
            reasons["floor_area_m2"] = "no_floor_area"
            reasons.setdefault("cost_per_area", "no_floor_area")
        if not self.has_heads:
            reasons["headcount"] = "no_headcount"
            reasons.setdefault("cost_per_capita", "no_headcount")
        # A group whose members state a cost or a denominator, but none both.
        if ratios["cost_per_area"] is None:
            reasons.setdefault("cost_per_area", "no_floor_area")
        if ratios["cost_per_capita"] is None:
            reasons.setdefault("cost_per_capita", "no_headcount")
        return CostFigures(
            costs=[CostAmount(energy_type=e, cost=c.quantize(_YUAN)) for e, c in sorted(self.costs.items())],
            vehicle_costs=[
                CostAmount(energy_type=e, cost=c.quantize(_YUAN)) for e, c in sorted(self.vehicle_costs.items())
            ],
            total_cost=total.quantize(_YUAN) if total is not None else None,
            floor_area_m2=self.area if self.has_area else None,
            headcount=self.heads if self.has_heads else None,
            cost_per_area=ratios["cost_per_area"],
            cost_per_capita=ratios["cost_per_capita"],
            reasons=reasons,
        )


async def report(conn: AsyncConnection, scope: Scope, *, period: Period, group: Group, filters: Filters) -> CostReport:
    """The cost rows of a period, one per institution (in name order) or group (in key order)."""
    institutions = await energy_reports.institutions(conn, scope, filters)
    ids = [row[0] for row in institutions]
    periods = {"current": period, "last_year": period.last_year()}
    stated = {
        (i, y): (area, heads)
        for i, y, area, heads in await energy_reports.denominators(conn, ids, {p.start.year for p in periods.values()})
    }
    per: dict[tuple[str, str], _Sums] = {}
    for label, p in periods.items():
        paid = await declared.costs(conn, ids, p.start, p.end)
        by_vehicles = await fuel_costs.costs(conn, ids, p.start, p.end)
        for institution_id in ids:
            sums = per[(institution_id, label)] = _Sums()
            for (i, energy_type), cost in paid.items():
                if i == institution_id:
                    sums.costs[energy_type] += cost
            for (i, energy_type), cost in by_vehicles.items():
                if i == institution_id:
                    sums.costs[energy_type] += cost
                    sums.vehicle_costs[energy_type] += cost
            area, heads = stated.get((institution_id, p.start.year), (None, None))
            sums.has_area, sums.area = bool(area), area or Decimal(0)
            sums.has_heads, sums.heads = bool(heads), heads or 0
            total = sum(sums.costs.values(), Decimal(0))
            if sums.costs and area:
                sums.ratios["cost_per_area"] = (total, area)
            if sums.costs and heads:
                sums.ratios["cost_per_capita"] = (total, Decimal(heads))
    groups: dict[tuple[str | None, ...], list[tuple[str, str, str, str, str | None, bool]]] = {}
    for row in institutions:
        groups.setdefault(_key(row, group), []).append(row)
    keys = list(groups) if group == "institution" else sorted(groups, key=lambda k: tuple(x or "" for x in k))
    return CostReport(start=period.start, end=period.end, group=group, rows=[_row(groups[k], group, per) for k in keys])


def _key(row: tuple[str, str, str, str, str | None, bool], group: Group) -> tuple[str | None, ...]:
    institution_id, _, _, category, district, _ = row
    return {"institution": (institution_id,), "category": (category,), "district": (district,), "city": ()}[group]


def _row(
    members: list[tuple[str, str, str, str, str | None, bool]], group: Group, per: dict[tuple[str, str], _Sums]
) -> CostRow:
    figures = {}
    for label in ("current", "last_year"):
        sums = _Sums()
        for member in members:
            sums.add(per[(member[0], label)])
        figures[label] = sums.figures()
    now, then = figures["current"].total_cost, figures["last_year"].total_cost
    row = CostRow(
        institutions=len(members),
        current=figures["current"],
        last_year=figures["last_year"],
        change_last_year=((now - then) / then).quantize(_RATIO) if now is not None and then else None,
        change_reason="no_cost" if now is None or then is None else None,
    )
    first = members[0]
    if group == "institution":
        row.institution_id, row.institution_name, row.organisation_id = first[0], first[1], first[2]
        row.category, row.district = first[3], first[4]
    elif group == "category":
        row.category = first[3]
    elif group == "district":
        row.district = first[4]
    return row


_ENGLISH = {"lpg": "LPG", "other": "Other energy"}
_TYPE_COLUMNS = tuple(
    Column(
        f"{e}_yuan",
        f"{labels.ENERGY_TYPE.get(e, e)}费用（元）",
        f"{_ENGLISH.get(e, e.replace('_', ' ').capitalize())} cost (yuan)",
        "decimal",
    )
    for e in ENTRY_TYPES
)
COLUMNS = (
    Column("institution_id", "单位编号", "Institution id"),
    Column("institution", "单位名称", "Institution"),
    Column("category", "类别", "Category"),
    Column("district", "区县", "District"),
    *_TYPE_COLUMNS,
    Column("vehicle_fuel_yuan", "其中车辆加油充电费用（元）", "Of which vehicle fuel and charging (yuan)", "decimal"),
    Column("total_yuan", "费用合计（元）", "Total cost (yuan)", "decimal"),
    Column("floor_area_m2", "建筑面积（m²）", "Floor area (m²)", "decimal", decimals=1),
    Column("headcount", "用能人数", "Energy-using headcount", "integer"),
    Column("cost_per_area", "单位建筑面积费用（元/m²）", "Cost per floor area (yuan/m²)", "decimal", decimals=4),
    Column("cost_per_capita", "人均费用（元/人）", "Cost per capita (yuan/person)", "decimal", decimals=4),
    Column("last_year_total_yuan", "去年同期费用合计（元）", "Total cost last year (yuan)", "decimal"),
    Column("change_last_year", "费用同比", "Cost vs last year", "percent"),
    Column("missing", "缺数原因", "Why figures are missing", "text"),
)
_NO_COST_ZH: dict[str, str] = {"no_cost": "无费用", "no_floor_area": "无建筑面积", "no_headcount": "无用能人数"}


def sheet(result: CostReport, language: Literal["zh", "en"]) -> Sheet:
    """The cost report as one sheet: a row per institution or group, empty cells where there is no figure."""
    return Sheet("costs", "能源费用", "Energy costs", COLUMNS, _rows(result.rows, language == "zh"))


def _rows(rows: Iterable[CostRow], zh: bool) -> Iterator[tuple[object, ...]]:
    for row in rows:
        now = row.current
        paid = {c.energy_type: c.cost for c in now.costs}
        category = labels.CATEGORY.get(row.category or "", row.category) if zh else row.category
        missing = "; ".join(
            f"{_NO_COST_ZH[reason] if zh else reason}: {name}" for name, reason in sorted(now.reasons.items())
        )
        yield (
            row.institution_id,
            row.institution_name,
            category,
            row.district,
            *(paid.get(e) for e in ENTRY_TYPES),
            sum((c.cost for c in now.vehicle_costs), Decimal(0)) if now.vehicle_costs else None,
            now.total_cost,
            now.floor_area_m2,
            now.headcount,
            now.cost_per_area,
            now.cost_per_capita,
            row.last_year.total_cost,
            row.change_last_year,
            missing or None,
        )
