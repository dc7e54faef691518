"""How an energy export's figures were made, as far as factors go: each factor applied, with its version's method,
source, publication date, intended use and what in it is unconfirmed (docs/factors.md).

Kept apart from api/energy/workbook.py: the export appends this sheet to the report's sheets, and a CSV gets it
as its own view.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Final

from psycopg import AsyncConnection

from api.energy.factors import Factors, FactorVersion
from api.files.table import Column, Sheet
from db import factors as factors_db
from domain.labels import Language

VIEW: Final = "factors"  # the CSV view of this sheet

_KIND = {"standard_coal": "折标准煤系数", "carbon": "碳排放因子"}

_COLUMNS = (
    Column("kind", "因子类别", "Kind"),
    Column("version", "因子版本", "Version"),
    Column("title", "名称与方法", "Title and method"),
    Column("energy_type", "能源品种", "Energy type"),
    Column("unit", "计量单位", "Unit"),
    Column("factor", "系数", "Factor", "decimal", decimals=5),
    Column("factor_unit", "系数单位", "Factor unit"),
    Column("region", "地区", "Region"),
    Column("year", "因子年份", "Factor year", "integer"),
    Column("source", "来源", "Source"),
    Column("published_on", "发布日期", "Published on", "date"),
    Column("intended_use", "适用范围", "Intended use"),
    Column("unconfirmed", "未经核实", "Unconfirmed"),
)


@dataclass(frozen=True, slots=True)
class AppliedFactor:
    """One factor a report applied, with the version it belongs to."""

    version: FactorVersion
    energy_type: str
    unit: str
    factor: Decimal
    region: str | None  # carbon: the region asked for (a fuel without a regional factor uses its national one)
    year: int | None  # electricity's carbon factor: the year it is published for


async def applied(conn: AsyncConnection, factors: Factors) -> list[AppliedFactor]:
    """The factors of `factors` with their versions, standard coal first, each by energy type."""
    coal = await factors_db.version(conn, FactorVersion, factors.coal_version)
    carbon = await factors_db.version(conn, FactorVersion, factors.carbon_version)
    # Both were chosen from the database a moment ago, and versions are never removed.
    assert coal is not None
    assert carbon is not None
    rows = [AppliedFactor(coal, e, unit, f, None, None) for e, (unit, f) in sorted(factors.coal.items())]
    rows += [
        AppliedFactor(
            carbon,
            e,
            unit,
            f,
            factors.region,
            factors.electricity_year if e == "electricity" else None,
        )
        for e, (unit, f) in sorted(factors.carbon.items())
    ]
    return rows


def sheet(rows: list[AppliedFactor], language: Language) -> Sheet:
    """The sheet of the factors applied."""
    zh = language == "zh"

    def cells(r: AppliedFactor) -> tuple[str | Decimal | int | date | None, ...]:
        per = "kgce" if r.version.kind == "standard_coal" else "kgCO2"
        return (
            _KIND[r.version.kind] if zh else r.version.kind,
            r.version.version,
            r.version.title,
            r.energy_type,
            r.unit,
            r.factor,
            f"{per}/{r.unit}",
            r.region,
            r.year,
            r.version.source,
            r.version.published_on,
            r.version.intended_use,
            r.version.unconfirmed,
        )

    return Sheet(VIEW, "计算因子", "Factors", _COLUMNS, (cells(r) for r in rows))
