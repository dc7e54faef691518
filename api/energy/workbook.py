"""The energy report as sheets: institutions x indicators, monthly breakdown, a ranking per assessed indicator, key
units, data quality.

Headers are Chinese by default and English on request (api/files); every sheet is built from the
same reports the API returns, so a figure in the file is the figure of the API.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date
from decimal import Decimal
from typing import Literal, get_args

from api.energy.indicators import Figures, IndicatorReport, IndicatorRow
from api.energy.quality import QualityReport
from api.energy.rankings import FALLBACK, rank_rows
from api.files.table import Chart, Column, Sheet
from domain import labels
from domain.energy import NO_FIGURE_REASONS, Indicator, NoFigure

View = Literal[
    "institutions",
    "monthly",
    "rankings_energy_per_capita",
    "rankings_energy_per_area",
    "rankings_water_per_capita",
    "key_units",
    "quality",
]
VIEWS: tuple[View, ...] = get_args(View)

_INSTITUTION = (
    Column("institution_id", "单位编号", "Institution id"),
    Column("institution", "单位名称", "Institution"),
    Column("category", "类别", "Category"),
    Column("district", "区县", "District"),
)
_ENERGY = (
    Column("electricity_kwh", "用电量（kWh）", "Electricity (kWh)", "decimal"),
    Column("water_m3", "用水量（m³）", "Water (m³)", "decimal"),
    Column("natural_gas_m3", "天然气（m³）", "Natural gas (m³)", "decimal"),
    Column("heat_mj", "热力（MJ）", "Heat (MJ)", "decimal"),
    Column("energy_kgce", "综合能耗（kgce）", "Comprehensive energy (kgce)", "decimal", decimals=3),
    Column("energy_tce", "综合能耗（tce）", "Comprehensive energy (tce)", "decimal", decimals=3),
)
_INDICATORS = (
    Column("floor_area_m2", "建筑面积（m²）", "Floor area (m²)", "decimal", decimals=1),
    Column("headcount", "用能人数", "Energy-using headcount", "integer"),
    Column("water_per_capita", "人均用水量（m³/人）", "Water per capita (m³/person)", "decimal", decimals=4),
    Column("energy_per_capita", "人均综合能耗（kgce/人）", "Energy per capita (kgce/person)", "decimal", decimals=4),
    Column("energy_per_area", "单位建筑面积能耗（kgce/m²）", "Energy per floor area (kgce/m²)", "decimal", decimals=4),
    Column("electricity_per_area", "单位面积电耗（kWh/m²）", "Electricity per floor area (kWh/m²)", "decimal"),
    Column("carbon_tco2", "碳排放（tCO2）", "Carbon (tCO2)", "decimal", decimals=3),
    Column("change_energy", "综合能耗同比", "Energy vs last year", "percent"),
    Column("change_water", "用水量同比", "Water vs last year", "percent"),
    Column("quota_energy_per_capita", "人均综合能耗定额", "Energy per capita quota", "text"),
    # Missing is not zero: an empty figure says why here, in words (codes in English files and CSV).
    Column("missing", "缺数原因", "Why figures are missing", "text"),
)
# Staff's corrections of meters' days (api/energy/corrections.py) are in the figures: a row says how many it holds.
_CORRECTED = Column("corrected_days", "人工修正（表·日）", "Corrected meter-days", "integer")

_COLUMNS = {c.key: c for c in (*_ENERGY, *_INDICATORS)}
# The energy amounts' columns by energy type: an amount may be incomplete.
_AMOUNT_KEYS = {
    "electricity": "electricity_kwh",
    "water": "water_m3",
    "natural_gas": "natural_gas_m3",
    "heat": "heat_mj",
}
# The figures of a row that may be missing or incomplete, in the order of the sheet's columns.
_FIGURE_KEYS = [
    c.key for c in (*_ENERGY, *_INDICATORS) if c.key in Figures.model_fields or c.key in _AMOUNT_KEYS.values()
]
# Each assessed indicator's ranking sheet: its view, sheet names, and the numerator and denominator shown beside it.
_RANKINGS: dict[Indicator, tuple[View, str, str, str, str]] = {
    "energy_per_capita": ("rankings_energy_per_capita", "人均综合能耗排名", "Ranking energy per capita", "energy_kgce",
                          "headcount"),
    "energy_per_area": ("rankings_energy_per_area", "单位建筑面积能耗排名", "Ranking energy per area", "energy_kgce",
                        "floor_area_m2"),
    "water_per_capita": ("rankings_water_per_capita", "人均用水量排名", "Ranking water per capita", "water_m3",
                         "headcount"),
}  # fmt: skip


def sheets(
    result: IndicatorReport,
    monthly: Sequence[tuple[date, dict[str, Decimal], Decimal | None, int]],
    quality: QualityReport,
    language: Literal["zh", "en"],
    only: View | None = None,
) -> list[Sheet]:
    """The report's sheets (or one of them).

    Args:
        result: the per-institution indicator report of the period.
        monthly: per local month, the amounts per energy type in report units, the kgce and the corrected
            meter-days.
        quality: the data-quality report of the period.
        language: the language of texts inside cells (categories, quota status).
        only: one view, for a CSV.
    """
    zh = language == "zh"
    built: dict[View, Sheet] = {
        "institutions": Sheet(
            "institutions",
            "单位能耗指标",
            "Institutions",
            (*_INSTITUTION, *_ENERGY, *_INDICATORS, _CORRECTED),
            (_institution_row(r, zh) for r in result.rows),
        ),
        "monthly": Sheet(
            "monthly",
            "逐月能耗",
            "By month",
            (Column("month", "月份", "Month", "month"), *_ENERGY, _CORRECTED),
            ((month, *_energy_cells(amounts, kgce), corrected) for month, amounts, kgce, corrected in monthly),
            Chart("bar", "month", ["energy_tce"], "逐月综合能耗（tce）", "Comprehensive energy by month (tce)"),
        ),
        **{view: _ranking_sheet(indicator, result.rows, zh) for indicator, (view, *_) in _RANKINGS.items()},
        "key_units": Sheet(
            "key_units",
            "重点用能单位能耗公示",
            "Key energy-using units",
            (
                *_INSTITUTION,
                *_ENERGY,
                Column("change_energy", "综合能耗同比", "Energy vs last year", "percent"),
                Column("key_energy_unit", "名录标记为重点用能单位", "Key unit in the registry"),
                Column("key_energy_unit_proposed", "按能耗阈值建议", "Proposed by the threshold"),
                Column("key_unit_threshold_tce", "建议阈值（tce）", "Threshold (tce)", "decimal", decimals=3),
                _COLUMNS["missing"],
                _CORRECTED,
            ),
            (
                (
                    *_institution_cells(r, zh),
                    *_figures_energy(r),
                    r.change_last_year.energy_kgce,
                    _yes_no(r.key_energy_unit, zh),
                    _yes_no(r.key_energy_unit_proposed, zh),
                    result.key_unit_threshold_tce,
                    _missing(_flags(r.current), zh),
                    r.current.corrected_days,
                )
                for r in result.rows
                if r.key_energy_unit or r.key_energy_unit_proposed
            ),
        ),
        "quality": Sheet(
            "quality",
            "数据质量",
            "Data quality",
            (
                Column("meter_id", "计量表编号", "Meter"),
                Column("institution_id", "单位编号", "Institution id"),
                Column("energy_type", "能源品种", "Energy type"),
                Column("reading_interval_seconds", "上报间隔（秒）", "Reading interval (s)", "integer"),
                Column("readings", "实收读数", "Readings", "integer"),
                Column("expected", "应收读数", "Expected", "integer"),
                Column("completeness", "完整率", "Completeness", "percent"),
                Column("silent", "离线", "Silent"),
                Column("rollovers", "翻转", "Rollovers", "integer"),
                Column("resets", "清零或换表", "Resets or replacements", "integer"),
                Column("implausible", "异常增量", "Implausible deltas", "integer"),
                Column("excluded", "剔除量", "Excluded", "decimal"),
                Column("conflicts", "重发不一致", "Conflicting resends", "integer"),
            ),
            (
                (
                    m.meter_id,
                    m.institution_id,
                    labels.label(labels.ENERGY_TYPE, m.energy_type, "zh" if zh else "en"),
                    m.reading_interval_seconds,
                    m.readings,
                    m.expected,
                    m.completeness,
                    ("是" if m.silent else "否") if zh else ("yes" if m.silent else "no"),
                    m.rollovers,
                    m.resets,
                    m.implausible,
                    m.excluded,
                    m.conflicts,
                )
                for m in quality.meters
            ),
        ),
    }
    return [built[only]] if only is not None else [built[v] for v in VIEWS]


def _yes_no(flag: bool | None, zh: bool) -> str | None:
    """是/否 (yes/no); empty when it cannot be told."""
    if flag is None:
        return None
    return ("是" if flag else "否") if zh else ("yes" if flag else "no")


def _flags(figures: Figures) -> dict[str, NoFigure]:
    """Why each figure of a row is missing, or incomplete (incomplete_period: shown, but not final)."""
    incomplete = [*figures.incomplete, *(_AMOUNT_KEYS[c.energy_type] for c in figures.consumption if c.incomplete)]
    return {**dict.fromkeys(incomplete, "incomplete_period"), **figures.reasons}


def _amounts(row: IndicatorRow) -> dict[str, Decimal]:
    return {c.energy_type: c.amount for c in row.current.consumption}


def _energy_cells(amounts: dict[str, Decimal], kgce: Decimal | None) -> tuple[object, ...]:
    """An energy without readings is an empty cell, never 0."""
    return (
        amounts.get("electricity"),
        amounts.get("water"),
        amounts.get("natural_gas"),
        amounts.get("heat"),
        kgce,
        kgce / 1000 if kgce is not None else None,
    )


def _reason(reason: NoFigure | None, zh: bool) -> str | None:
    if reason is None:
        return None
    return labels.label(labels.NO_FIGURE, reason, "zh" if zh else "en")


def _missing(reasons: dict[str, NoFigure], zh: bool) -> str | None:
    """Which of a row's figures are missing (or incomplete) and why, reason by reason in the vocabulary's order:
    "无读数：人均用水量" (in English files and CSV the codes: "no_readings: water_per_capita")."""
    parts = []
    for reason in NO_FIGURE_REASONS:
        keys = [k for k in _FIGURE_KEYS if reasons.get(k) == reason]
        if zh:
            # The column's name without its unit: kgce and tce are one figure to a reader.
            names = list(dict.fromkeys(_COLUMNS[k].zh.split("（")[0] for k in keys))
            parts += [f"{_reason(reason, zh)}：{'、'.join(names)}"] if names else []
        elif keys:
            parts.append(f"{reason}: {', '.join(keys)}")
    return ("；" if zh else "; ").join(parts) or None


def _figures_energy(row: IndicatorRow) -> tuple[object, ...]:
    return _energy_cells(_amounts(row), row.current.energy_kgce)


def _institution_cells(row: IndicatorRow, zh: bool) -> tuple[object, ...]:
    category = labels.CATEGORY.get(row.category or "", row.category) if zh else row.category
    return (row.institution_id, row.institution_name, category, row.district)


def _institution_row(row: IndicatorRow, zh: bool) -> tuple[object, ...]:
    now = row.current
    quota = next((q for q in row.quotas if q.indicator == "energy_per_capita"), None)
    status = None
    if quota is not None and quota.status is not None:
        status = labels.QUOTA_STATUS[quota.status] if zh else quota.status
    return (
        *_institution_cells(row, zh),
        *_figures_energy(row),
        now.floor_area_m2,
        now.headcount,
        now.water_per_capita,
        now.energy_per_capita,
        now.energy_per_area,
        now.electricity_per_area,
        now.carbon_tco2,
        row.change_last_year.energy_kgce,
        row.change_last_year.water_m3,
        status,
        _missing(_flags(now), zh),
        now.corrected_days,
    )


def _ranking_sheet(indicator: Indicator, rows: Sequence[IndicatorRow], zh: bool) -> Sheet:
    """One assessed indicator's ranking within each category, by the API's rule (api/energy/rankings.py)."""
    view, zh_name, en_name, numerator, denominator = _RANKINGS[indicator]
    value = _COLUMNS[indicator]
    columns = [
        Column("category", "类别", "Category"),
        Column("rank", "排名", "Rank", "integer"),
        *_INSTITUTION[:2],
        value,
        _COLUMNS[numerator],
        _COLUMNS[denominator],
        Column("unranked", "未排名原因", "Unranked because", "text"),
    ]
    if indicator in FALLBACK:
        # By floor area when headcount is missing: said beside the per-capita ranking's unranked.
        columns.append(Column("floor_area_rank", "按建筑面积能耗排名", "Rank by energy per floor area", "integer"))
    return Sheet(view, zh_name, en_name, tuple(columns), _ranking_rows(indicator, rows, zh))


def _ranking_rows(indicator: Indicator, rows: Sequence[IndicatorRow], zh: bool) -> Iterator[tuple[object, ...]]:
    by_category: dict[str, list[IndicatorRow]] = {}
    for row in rows:
        if row.institution_id is not None:
            by_category.setdefault(row.category or "", []).append(row)
    _, _, _, numerator, denominator = _RANKINGS[indicator]
    for category in sorted(by_category):
        members = {r.institution_id: r for r in by_category[category]}
        for item in rank_rows(by_category[category], indicator):
            figures = members[item.institution_id].current
            amounts = {
                _AMOUNT_KEYS[c.energy_type]: c.amount for c in figures.consumption if c.energy_type in _AMOUNT_KEYS
            }
            cells = (
                labels.CATEGORY.get(category, category) if zh else category,
                item.rank,
                item.institution_id,
                item.institution_name,
                item.value,
                amounts.get(numerator, getattr(figures, numerator, None)),
                getattr(figures, denominator),
                _reason(item.reason, zh),
            )
            yield (*cells, item.floor_area_rank) if indicator in FALLBACK else cells
