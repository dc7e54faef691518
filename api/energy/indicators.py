"""The assessed indicators of institutions and their groups for a period, from the consumption roll-up.

For a period of local days [start, end):
- consumption per energy type in its report unit (domain/measures.py), electricity per sub-item, and what
  implausible deltas would have added (excluded, shown so that nothing is dropped silently);
- comprehensive energy (综合能耗): each energy times its standard-coal factor, in kgce and tce; water
  is a resource, not energy, and counts in water only;
- water per capita (m³/person), comprehensive energy per capita (kgce/person), per floor area
  (kgce/m²) and electricity per floor area (kWh/m²), with the headcount and floor area of the year the
  period starts in; a group's ratio is the sum of its institutions' numerators over the sum of their
  denominators, counting only institutions that have readings of the numerator and state the denominator;
- missing is not zero: a figure without readings in the period (no consumption counted of its energy), without
  the year's floor area or headcount is null, and `reasons` says why (domain/energy.py's NoFigure);
- a figure whose meters' readings do not cover the period whole (domain/coverage.py: the period is not over, a
  meter's readings stop before its end or start after its start, a gap is held for staff) is shown but named in
  `incomplete` (incomplete_period): too low for now, not final, never ranked;
- key energy-using units proposed from comprehensive energy against a threshold (a setting) beside the registry's
  flag;
- carbon (tCO2) from the carbon factors chosen for the period (api/energy/factors.py);
- staff's corrections of meters' days (api/energy/corrections.py) are in every figure, which says how many
  corrected meter-days it holds (`corrected_days`);
- consumption entered from bills, delivery notes and by hand (api/energy/entries.py) counts where entries are the
  institution's source for the type and year (db/declared.py): the meters' figure of that type and year is then
  left out, never added to it; each amount says which source it is from (`source`); other energy (其他能源) is
  entered in kgce and counts in comprehensive energy as it is;
- the fuel and charging of the institution's vehicles from fuel-card and charging statements (db/fuel.py) counts
  always, beside meters and entries (`source` fuel_statements): gasoline and diesel in kg, charging in kWh;
- the same figures for the same period last year and for the previous period, and the changes;
- quota status for each assessed indicator against the year's quota, pro rata for a shorter period.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Literal, cast
from zoneinfo import ZoneInfo

from psycopg import AsyncConnection
from pydantic import BaseModel, Field

from api.energy.factors import Factors, FactorsUsed
from db import declared, energy_reports
from db import quotas as quotas_db
from db.energy_reports import Filters
from db.scope import Scope
from domain import coverage
from domain.coverage import MeterSpan
from domain.energy import INDICATORS, Indicator, NoFigure, QuotaStatus
from domain.entries import CountingSource
from domain.measures import REPORT_UNIT, to_report_unit
from domain.periods import Period

Group = Literal["institution", "category", "district", "city"]
Comparison = Literal["current", "last_year", "previous"]

_KG = Decimal("0.001")
_MICRO = Decimal("0.000001")
_RATIO = Decimal("0.0001")


class EnergyAmount(BaseModel):
    energy_type: str
    unit: str
    amount: Decimal
    excluded: Decimal = Field(description="what implausible deltas would have added: flagged, not counted")
    incomplete: bool = Field(
        default=False, description="its meters' readings do not cover the period whole (incomplete_period): not final"
    )
    corrected_days: int = Field(
        default=0,
        description="meter-days in `amount` whose figure is staff's correction, not what the readings counted "
        "(GET /energy/corrections); 0: none",
    )
    source: str = Field(
        default="meters",
        description="where `amount` comes from: meters, entries (bills, delivery notes, manual: GET /energy/entries), "
        "fuel_statements (the fuel-card and charging statements of the institution's vehicles: GET /fuel/report), or "
        "several joined by ' and ' in name order (entries and meters: a group, or a period over years of different "
        "sources; fuel_statements and meters: metered electricity and the vehicles' charging, each counted once); "
        "GET /energy/sources says why meters or entries",
    )


class Figures(BaseModel):
    consumption: list[EnergyAmount] = Field(description="the energy types with readings in the period; others absent")
    electricity_sub_items: dict[str, Decimal] = Field(description="kWh per sub-item (分项); unmetered ones absent")
    energy_kgce: Decimal | None = Field(description="null when no energy (water aside) has readings in the period")
    energy_tce: Decimal | None
    carbon_tco2: Decimal | None
    floor_area_m2: Decimal | None
    headcount: int | None
    water_per_capita: Decimal | None = Field(description="m³ per person")
    energy_per_capita: Decimal | None = Field(description="kgce per person")
    energy_per_area: Decimal | None = Field(description="kgce per m²")
    electricity_per_area: Decimal | None = Field(description="kWh per m²")
    reasons: dict[str, NoFigure] = Field(
        default_factory=dict,
        description="why each null figure above has no value (no_readings, no_floor_area, no_headcount), keyed by "
        "the figure's name; never a zero in its place",
    )
    incomplete: list[str] = Field(
        default_factory=list,
        description="the figures above that are shown but rest on readings that do not cover the period whole "
        "(incomplete_period): the period is not over, a meter counted in them has no reading at or after its end, "
        "none at or before its start (connected before it), or a gap held for staff; too low for now, not final",
    )
    corrected_days: int = Field(
        default=0,
        description="meter-days among those these figures sum (sub-items included) whose figure is staff's "
        "correction; every figure derived from them (kgce, carbon, ratios, quotas) holds the corrections",
    )


class Changes(BaseModel):
    """Relative change against a comparison period (0.05: 5% more); null where the base is zero or unknown."""

    energy_kgce: Decimal | None
    water_m3: Decimal | None
    electricity_kwh: Decimal | None
    carbon_tco2: Decimal | None
    water_per_capita: Decimal | None
    energy_per_capita: Decimal | None
    energy_per_area: Decimal | None
    reasons: dict[str, NoFigure] = Field(
        default_factory=dict, description="why a change is null where either period has no figure"
    )
    incomplete: list[str] = Field(
        default_factory=list, description="the changes above from a figure of either period that is incomplete"
    )


class QuotaCheck(BaseModel):
    indicator: Indicator
    limit: Decimal = Field(description="the year's quota, pro rata for a shorter period")
    value: Decimal | None
    status: QuotaStatus | None = Field(description="null when the value cannot be computed")
    reason: NoFigure | None = Field(
        default=None,
        description="why the value is null; incomplete_period: the value is shown but its readings do not cover the "
        "period whole, so the status is not final",
    )


class IndicatorRow(BaseModel):
    institution_id: str | None = None
    institution_name: str | None = None
    organisation_id: str | None = None
    category: str | None = None
    district: str | None = None
    key_energy_unit: bool | None = Field(default=None, description="the registry's flag: a key energy-using unit")
    key_energy_unit_proposed: bool | None = Field(
        default=None,
        description="an institution's comprehensive energy of the period is at least the key-unit threshold "
        "(key_unit_threshold_tce); null without a figure, or when an incomplete figure is still below it",
    )
    institutions: int
    current: Figures
    last_year: Figures
    previous: Figures
    change_last_year: Changes
    change_previous: Changes
    quotas: list[QuotaCheck]


class IndicatorReport(BaseModel):
    start: date
    end: date = Field(description="exclusive")
    group: Group
    zone: str
    factors: FactorsUsed
    key_unit_threshold_tce: Decimal = Field(
        description="YIWANG_ENERGY_KEY_UNIT_THRESHOLD_TCE, a year's tce, pro rata for a shorter period"
    )
    rows: list[IndicatorRow]


@dataclass(slots=True)
class _Totals:
    """One institution's or group's sums for one period, before ratios."""

    amounts: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    excluded: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    sub_items: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    # corrected meter-days: of the meters in each energy type's total, and of sub-item meters outside it
    corrected: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    corrected_sub_items: int = 0
    # the stated denominators, shown as they are
    headcount: int = 0
    floor_area: Decimal = Decimal(0)
    has_headcount: bool = False
    has_area: bool = False
    # each ratio's numerator and denominator, counted only for institutions that have readings of the numerator
    # and state the denominator
    numerators: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    denominators: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    # the energy types with a meter whose readings do not cover the period whole
    incomplete: set[str] = field(default_factory=set)
    # the sources each energy type's amount comes from ("meters", "entries", "fuel_statements")
    sources: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))

    def add(self, other: _Totals) -> None:
        for mine, theirs in (
            (self.amounts, other.amounts),
            (self.excluded, other.excluded),
            (self.sub_items, other.sub_items),
        ):
            for key, value in theirs.items():
                mine[key] += value
        for key, days in other.corrected.items():
            self.corrected[key] += days
        self.corrected_sub_items += other.corrected_sub_items
        self.headcount += other.headcount
        self.floor_area += other.floor_area
        self.has_headcount |= other.has_headcount
        self.has_area |= other.has_area
        self.incomplete |= other.incomplete
        for key, names in other.sources.items():
            self.sources[key] |= names
        for ratio, value in other.numerators.items():
            self.numerators[ratio] += value
            self.denominators[ratio] += other.denominators[ratio]


@dataclass(frozen=True, slots=True)
class _Institution:
    id: str
    name: str
    organisation_id: str
    category: str
    district: str | None
    key_energy_unit: bool


# Each ratio: the energy type its numerator needs readings of (None: any energy, water aside), and its denominator.
_RATIOS: dict[str, tuple[str | None, Literal["headcount", "floor_area"]]] = {
    "water_per_capita": ("water", "headcount"),
    "energy_per_capita": (None, "headcount"),
    "energy_per_area": (None, "floor_area"),
    "electricity_per_area": ("electricity", "floor_area"),
}
_NO_DENOMINATOR: dict[str, NoFigure] = {"headcount": "no_headcount", "floor_area": "no_floor_area"}


def kgce(totals: _Totals, factors: Factors) -> Decimal | None:
    """Comprehensive energy in kgce; None when no energy with a standard-coal factor has readings."""
    counted = [amount * coal for e, amount in totals.amounts.items() if (coal := factors.kgce_per_unit(e)) is not None]
    return sum(counted, Decimal(0)) if counted else None


def _carbon_kg(totals: _Totals, factors: Factors) -> Decimal | None:
    if not any(factors.kgce_per_unit(e) is not None for e in totals.amounts):
        return None
    return sum(
        (amount * factors.carbon[e][1] for e, amount in totals.amounts.items() if e in factors.carbon), Decimal(0)
    )


async def report(
    conn: AsyncConnection,
    scope: Scope,
    *,
    period: Period,
    group: Group,
    factors: Factors,
    filters: Filters,
    zone: str,
    near: Decimal,
    key_unit_tce: Decimal,
    comparisons: bool = True,
) -> IndicatorReport:
    """The indicator rows of a period, one per institution or group, in name order (institutions) or key order.

    `key_unit_tce` is a year's comprehensive energy from which an institution is proposed as a key energy-using unit.
    `comparisons` False: the period only (the quota watch's path, api/energy/quota_watch.py): last year's and the
    previous period's figures are neither read nor known (empty), nor their changes.
    """
    periods: dict[Comparison, Period] = {"current": period}
    if comparisons:
        periods["last_year"], periods["previous"] = period.last_year(), period.previous()
    institutions = await _institutions(conn, scope, filters)
    years = {p.start.year for p in periods.values()}
    denominators = await _denominators(conn, [i.id for i in institutions], years)
    ids = [i.id for i in institutions]
    counting = await declared.counting_sources(
        conn, ids, [y for p in periods.values() for y in range(p.start.year, p.end.year + 1)]
    )
    sums = await _sums(conn, scope, filters, periods, counting)
    await _add_declared(conn, ids, periods, sums, counting)
    local = ZoneInfo(zone)
    spans = await _spans(conn, scope, filters, local)
    now = datetime.now(UTC)
    per: dict[tuple[str, Comparison], _Totals] = {}
    for inst in institutions:
        for label, p in periods.items():
            totals = sums.get((inst.id, label), _Totals())
            begin, stop = p.moments(local)
            totals.incomplete = {
                energy_type
                for energy_type, meter in spans.get(inst.id, [])
                if coverage.in_period(meter, begin, stop)
                and not coverage.covers(meter, begin, stop, now)
                and counting.get((inst.id, energy_type, p.start.year)) != "entries"  # its meters do not count
            }
            area, heads = denominators.get((inst.id, p.start.year), (None, None))
            if heads:
                totals.has_headcount, totals.headcount = True, heads
            if area:
                totals.has_area, totals.floor_area = True, area
            stated = {"headcount": Decimal(heads or 0), "floor_area": area or Decimal(0)}
            energy = kgce(totals, factors)
            for ratio, (energy_type, denominator) in _RATIOS.items():
                numerator = energy if energy_type is None else totals.amounts.get(energy_type)
                if numerator is not None and stated[denominator]:
                    totals.numerators[ratio] = numerator
                    totals.denominators[ratio] = stated[denominator]
            per[(inst.id, label)] = totals
    quotas = await _quotas(conn, period.start.year)
    threshold = pro_rata(key_unit_tce, period)
    rows = [
        _row(key, members, per=per, factors=factors, quotas=quotas, period=period, near=near, key_unit_tce=threshold)
        for key, members in _grouped(institutions, group).items()
    ]
    used = FactorsUsed(
        standard_coal=factors.coal_version,
        carbon=factors.carbon_version,
        carbon_region=factors.region,
        electricity_carbon_year=factors.electricity_year,
        carbon_missing=sorted(
            {e for (_, label), t in per.items() if label == "current" for e, a in t.amounts.items() if a}
            - set(factors.carbon)
            - {"water"}
        ),
    )
    return IndicatorReport(
        start=period.start,
        end=period.end,
        group=group,
        zone=zone,
        factors=used,
        key_unit_threshold_tce=threshold,
        rows=rows,
    )


def pro_rata(yearly: Decimal, period: Period) -> Decimal:
    """A year's figure for a period, in proportion to its days in each calendar year it spans: a whole year holds it
    once, the first half of one about half of it, three whole years three times."""
    share = Fraction(0)
    for year in range(period.start.year, period.end.year + 1):
        first, end = max(period.start, date(year, 1, 1)), min(period.end, date(year + 1, 1, 1))
        if end > first:
            share += Fraction((end - first).days, 366 if calendar.isleap(year) else 365)
    return (yearly * share.numerator / share.denominator).quantize(_RATIO)


def _proposed(figures: Figures, threshold: Decimal) -> bool | None:
    """Whether the period's comprehensive energy proposes a key energy-using unit; None when it has no figure, or an
    incomplete one still below the threshold (the missing readings could lift it over)."""
    if figures.energy_tce is None:
        return None
    if figures.energy_tce >= threshold:
        return True
    return None if "energy_tce" in figures.incomplete else False


def _grouped(institutions: list[_Institution], group: Group) -> dict[tuple[str | None, ...], list[_Institution]]:
    out: dict[tuple[str | None, ...], list[_Institution]] = {}
    for inst in sorted(institutions, key=lambda i: (i.name, i.id)):
        if group == "institution":
            key: tuple[str | None, ...] = (inst.id,)
        elif group == "category":
            key = (inst.category,)
        elif group == "district":
            key = (inst.district,)
        else:
            key = ()
        out.setdefault(key, []).append(inst)
    if group != "institution":
        return dict(sorted(out.items(), key=lambda kv: tuple(k or "" for k in kv[0])))
    return out


def _row(
    key: tuple[str | None, ...],
    members: list[_Institution],
    *,
    per: dict[tuple[str, Comparison], _Totals],
    factors: Factors,
    quotas: dict[tuple[str, str], Decimal],
    period: Period,
    near: Decimal,
    key_unit_tce: Decimal,
) -> IndicatorRow:
    figures: dict[Comparison, Figures] = {}
    for label in ("current", "last_year", "previous"):
        totals = _Totals()
        for inst in members:
            totals.add(per.get((inst.id, label), _Totals()))  # none: a comparison not asked for
        figures[label] = _figures(totals, factors)
    first = members[0]
    row = IndicatorRow(
        institutions=len(members),
        current=figures["current"],
        last_year=figures["last_year"],
        previous=figures["previous"],
        change_last_year=_changes(figures["current"], figures["last_year"]),
        change_previous=_changes(figures["current"], figures["previous"]),
        quotas=[],
    )
    if len(key) == 1 and key[0] == first.id:
        row.institution_id, row.institution_name, row.organisation_id = first.id, first.name, first.organisation_id
        row.category, row.district, row.key_energy_unit = first.category, first.district, first.key_energy_unit
        row.key_energy_unit_proposed = _proposed(figures["current"], key_unit_tce)
        row.quotas = _quota_checks(
            figures["current"], quotas, (f"institution:{first.id}", f"category:{first.category}"), period, near
        )
    elif all(m.category == first.category for m in members) and key == (first.category,):
        row.category = first.category
        row.quotas = _quota_checks(figures["current"], quotas, (f"category:{first.category}",), period, near)
    elif key and all(m.district == first.district for m in members):
        row.district = first.district
    return row


def _figures(totals: _Totals, factors: Factors) -> Figures:
    energy = kgce(totals, factors)
    carbon = _carbon_kg(totals, factors)
    units = {e: REPORT_UNIT[e] for e in totals.amounts}
    ratios = {ratio: _ratio(totals.numerators[ratio], totals.denominators[ratio]) for ratio in _RATIOS}
    reasons: dict[str, NoFigure] = {}
    if energy is None:
        reasons |= dict.fromkeys(("energy_kgce", "energy_tce", "carbon_tco2"), "no_readings")
    if not totals.has_area:
        reasons["floor_area_m2"] = "no_floor_area"
    if not totals.has_headcount:
        reasons["headcount"] = "no_headcount"
    for ratio, (energy_type, denominator) in _RATIOS.items():
        if ratios[ratio] is None:
            has_numerator = energy is not None if energy_type is None else energy_type in totals.amounts
            reasons[ratio] = "no_readings" if not has_numerator else _NO_DENOMINATOR[denominator]
    # Flagged, not hidden: a figure shown that rests on a meter whose readings do not cover the period.
    energy_incomplete = bool(totals.incomplete - {"water"})
    flagged = {
        "energy_kgce": energy_incomplete,
        "energy_tce": energy_incomplete,
        "carbon_tco2": energy_incomplete,
        **{ratio: (energy_incomplete if t is None else t in totals.incomplete) for ratio, (t, _) in _RATIOS.items()},
    }
    return Figures(
        consumption=[
            EnergyAmount(
                energy_type=e,
                unit=units[e],
                amount=totals.amounts[e],
                excluded=totals.excluded.get(e, Decimal(0)),
                incomplete=e in totals.incomplete,
                corrected_days=totals.corrected.get(e, 0),
                source=" and ".join(sorted(totals.sources.get(e) or {"meters"})),
            )
            for e in sorted(totals.amounts)
        ],
        electricity_sub_items=dict(sorted(totals.sub_items.items())),
        energy_kgce=energy.quantize(_KG) if energy is not None else None,
        energy_tce=(energy / 1000).quantize(_MICRO) if energy is not None else None,
        carbon_tco2=(carbon / 1000).quantize(_MICRO) if carbon is not None else None,
        floor_area_m2=totals.floor_area if totals.has_area else None,
        headcount=totals.headcount if totals.has_headcount else None,
        water_per_capita=ratios["water_per_capita"],
        energy_per_capita=ratios["energy_per_capita"],
        energy_per_area=ratios["energy_per_area"],
        electricity_per_area=ratios["electricity_per_area"],
        reasons=reasons,
        incomplete=[name for name, yes in flagged.items() if yes and name not in reasons],
        corrected_days=sum(totals.corrected.values()) + totals.corrected_sub_items,
    )


def _ratio(numerator: Decimal, denominator: Decimal | int) -> Decimal | None:
    return (numerator / denominator).quantize(_RATIO) if denominator else None


def _amount(figures: Figures, energy_type: str) -> Decimal | None:
    """An energy type's amount; None when it has no readings in the period (not zero)."""
    return next((c.amount for c in figures.consumption if c.energy_type == energy_type), None)


def _change(now: Decimal | None, then: Decimal | None) -> Decimal | None:
    if now is None or then is None or then == 0:
        return None
    return ((now - then) / then).quantize(_RATIO)


def _changes(now: Figures, then: Figures) -> Changes:
    pairs = {
        "energy_kgce": (now.energy_kgce, then.energy_kgce),
        "water_m3": (_amount(now, "water"), _amount(then, "water")),
        "electricity_kwh": (_amount(now, "electricity"), _amount(then, "electricity")),
        "carbon_tco2": (now.carbon_tco2, then.carbon_tco2),
        "water_per_capita": (now.water_per_capita, then.water_per_capita),
        "energy_per_capita": (now.energy_per_capita, then.energy_per_capita),
        "energy_per_area": (now.energy_per_area, then.energy_per_area),
    }
    reasons: dict[str, NoFigure] = {}
    for name, (a, b) in pairs.items():
        if a is None or b is None:
            # The figure of the period that has none says why; an absent energy type has no readings.
            figures = now if a is None else then
            reasons[name] = figures.reasons.get(name, "no_readings")
    incomplete = [
        name for name in pairs if name not in reasons and any(_is_incomplete(figures, name) for figures in (now, then))
    ]
    return Changes(**{name: _change(a, b) for name, (a, b) in pairs.items()}, reasons=reasons, incomplete=incomplete)


_CHANGE_AMOUNTS = {"water_m3": "water", "electricity_kwh": "electricity"}


def _is_incomplete(figures: Figures, name: str) -> bool:
    """Whether a figure (or a change's amount of an energy type) is flagged incomplete."""
    if name in _CHANGE_AMOUNTS:
        return any(c.incomplete for c in figures.consumption if c.energy_type == _CHANGE_AMOUNTS[name])
    return name in figures.incomplete


def _quota_checks(
    figures: Figures, quotas: dict[tuple[str, str], Decimal], holders: tuple[str, ...], period: Period, near: Decimal
) -> list[QuotaCheck]:
    """Each indicator against the first quota found for the holders (the institution before its category)."""
    share = Decimal(period.days) / Decimal(366 if calendar.isleap(period.start.year) else 365)
    out = []
    for indicator in INDICATORS:
        limit = next((quotas[(h, indicator)] for h in holders if (h, indicator) in quotas), None)
        if limit is None:
            continue
        if period.days < 365:
            limit = (limit * share).quantize(_RATIO)
        value: Decimal | None = getattr(figures, indicator)
        status: QuotaStatus | None = None
        if value is not None:
            status = "over" if value > limit else "near" if value >= limit * near else "ok"
        reason: NoFigure | None = figures.reasons.get(indicator) if value is None else None
        if value is not None and indicator in figures.incomplete:
            reason = "incomplete_period"
        out.append(QuotaCheck(indicator=indicator, limit=limit, value=value, status=status, reason=reason))
    return out


async def _institutions(conn: AsyncConnection, scope: Scope, filters: Filters) -> list[_Institution]:
    return [_Institution(*row) for row in await energy_reports.institutions(conn, scope, filters)]


async def _denominators(
    conn: AsyncConnection, ids: list[str], years: Iterable[int]
) -> dict[tuple[str, int], tuple[Decimal | None, int | None]]:
    return {(i, y): (area, heads) for i, y, area, heads in await energy_reports.denominators(conn, ids, years)}


def _by_year(periods: dict[Comparison, Period]) -> list[tuple[str, Period]]:
    """Each period cut at the new years it spans, labelled "<label> <year>": which source counts is per year."""
    out = []
    for label, p in periods.items():
        for year in range(p.start.year, p.end.year + 1):
            first, end = max(p.start, date(year, 1, 1)), min(p.end, date(year + 1, 1, 1))
            if first < end:
                out.append((f"{label} {year}", Period(first, end)))
    return out


async def _sums(
    conn: AsyncConnection,
    scope: Scope,
    filters: Filters,
    periods: dict[Comparison, Period],
    counting: dict[tuple[str, str, int], CountingSource],
) -> dict[tuple[str, Comparison], _Totals]:
    """The meters' sums per institution and period, in one pass over the roll-up, leaving out an institution's type in
    a year where entries count instead."""
    rows = await energy_reports.sums(conn, scope, filters, _by_year(periods))
    out: dict[tuple[str, Comparison], _Totals] = {}
    for institution_id, piece, energy_type, sub_item, unit, in_total, amount, excluded, corrected in rows:
        label, year = piece.split(" ")
        totals = out.setdefault((institution_id, cast(Comparison, label)), _Totals())
        scale = to_report_unit(energy_type, unit)
        if in_total and counting.get((institution_id, energy_type, int(year))) == "entries":
            continue  # the entries count for this type and year: the meters' figure is shown beside, never added
        if in_total:
            totals.sources[energy_type].add("meters")
            totals.amounts[energy_type] += amount * scale
            totals.excluded[energy_type] += excluded * scale
            totals.corrected[energy_type] += corrected
        else:
            totals.corrected_sub_items += corrected
        if sub_item is not None:
            totals.sub_items[sub_item] += amount * scale
    return out


async def _add_declared(
    conn: AsyncConnection,
    ids: list[str],
    periods: dict[Comparison, Period],
    sums: dict[tuple[str, Comparison], _Totals],
    counting: dict[tuple[str, str, int], CountingSource],
) -> None:
    """Add to the sums what counts beside the meters (db/declared.py's `monthly`): the entries where they are the
    counting source, the vehicles' fuel statements always, each labelled with its source."""
    for label, p in periods.items():
        for row in await declared.monthly(conn, ids, p.start, p.end, counting=counting):
            totals = sums.setdefault((row.institution_id, label), _Totals())
            totals.amounts[row.energy_type] += row.quantity
            totals.sources[row.energy_type].add(row.source)


async def _spans(
    conn: AsyncConnection, scope: Scope, filters: Filters, zone: ZoneInfo
) -> dict[str, list[tuple[str, MeterSpan]]]:
    """Per institution, its meters that count in its totals: (energy type, what is known of its readings)."""
    out: dict[str, list[tuple[str, MeterSpan]]] = {}
    for (
        institution_id,
        energy_type,
        installed,
        replaced,
        earliest,
        latest,
        starts,
        ends,
    ) in await energy_reports.meter_spans(conn, scope, filters):
        span = MeterSpan(
            connected=_midnight(installed, zone),
            replaced=_midnight(replaced, zone),
            earliest=earliest,
            latest=latest,
            held=tuple(zip(starts, ends, strict=True)),
        )
        out.setdefault(institution_id, []).append((energy_type, span))
    return out


def _midnight(day: date | None, zone: ZoneInfo) -> datetime | None:
    return datetime(day.year, day.month, day.day, tzinfo=zone) if day is not None else None


async def _quotas(conn: AsyncConnection, year: int) -> dict[tuple[str, str], Decimal]:
    """The year's quotas keyed by ('institution:<id>' or 'category:<category>', indicator)."""
    return {(holder, indicator): limit for holder, indicator, limit in await quotas_db.limits(conn, year)}
