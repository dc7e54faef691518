"""Consumption entered from bills, delivery notes and by hand: what an entry may be, and how its quantity or cost over
its period is shared between calendar months.

A bill's period need not be a calendar month (a gas bill from the 15th to the 14th, a heating season from November
to March): its amount is shared in proportion to days, [start, end) as local days, by cumulative rounding to the
millionth, so that the months' shares sum to the amount exactly and a share of part of a period (a year, a report's
days) is the difference of two cumulative figures: nothing is lost or counted twice at any boundary.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Final, Literal, get_args

from domain.measures import REPORT_UNIT, UNITS_BY_ENERGY
from domain.periods import next_month

# What entries may be of: the meters' types and "other" (其他能源, in standard coal).
EntryType = Literal["electricity", "water", "natural_gas", "heat", "raw_coal", "lpg", "gasoline", "diesel", "other"]
ENTRY_TYPES: Final[tuple[EntryType, ...]] = get_args(EntryType)
# Where an entry comes from: a supplier's bill, a delivery note (coal, LPG), or staff's own figure.
EntrySource = Literal["bill", "delivery_note", "manual"]
# What it was consumed for: the survey's heating form (采暖) reports heating apart.
EntryPurpose = Literal["general", "heating"]
# Which source counts for an institution's type in a year.
CountingSource = Literal["meters", "entries"]

MICRO: Final = Decimal("0.000001")


def unit_problem(energy_type: str, unit: str) -> str | None:
    """What is wrong with an entry of this type in this unit, or None."""
    allowed = UNITS_BY_ENERGY.get(energy_type)
    if allowed is None or energy_type not in ENTRY_TYPES:
        return f"unknown energy type {energy_type!r}: one of {', '.join(ENTRY_TYPES)}"
    if unit not in allowed:
        return f"{energy_type} is entered in one of {', '.join(sorted(allowed))}, not {unit!r}"
    return None


def report_unit(energy_type: str) -> str:
    """The unit an entry's quantity is reported in (that of the meters' figures of the type)."""
    return REPORT_UNIT[energy_type]


def share(amount: Decimal, start: date, end: date, lo: date, hi: date) -> Decimal:
    """The part of `amount` over [start, end) that falls on the days [lo, hi), by days, to the millionth.

    Shares of adjacent ranges add up exactly: each is the difference of the cumulative figure at its two ends.

    Raises:
        ValueError: an empty or inverted period.
    """
    if end <= start:
        raise ValueError(f"a period ends after it starts, not {start.isoformat()} to {end.isoformat()}")
    return _cumulative(amount, start, end, min(max(hi, lo), end)) - _cumulative(amount, start, end, lo)


def counts_twice(
    a: tuple[date, date, bool, bool],
    b: tuple[date, date, bool, bool],
) -> bool:
    """Whether two entries of the same institution, type and purpose would count something twice: their periods
    [start, end) share a day and both state a quantity, or both a cost. Each is (start, end, has quantity, has cost):
    a delivery note's quantity and a separate invoice's cost for the same days count nothing twice."""
    a_start, a_end, a_quantity, a_cost = a
    b_start, b_end, b_quantity, b_cost = b
    return a_start < b_end and b_start < a_end and ((a_quantity and b_quantity) or (a_cost and b_cost))


def by_month(amount: Decimal, start: date, end: date, lo: date, hi: date) -> dict[date, Decimal]:
    """The part of `amount` over [start, end) on the days [lo, hi), per calendar month (keyed by its first day);
    months without a day of both are absent."""
    first, last = max(start, lo), min(end, hi)
    out: dict[date, Decimal] = {}
    month = first.replace(day=1)
    while month < last:
        following = next_month(month)
        out[month] = share(amount, start, end, max(month, first), min(following, last))
        month = following
    return out


def _cumulative(amount: Decimal, start: date, end: date, at: date) -> Decimal:
    """The amount of [start, end) counted up to the day `at` (clipped to the period), rounded to the millionth."""
    days = min(max((at - start).days, 0), (end - start).days)
    exact = amount * days / (end - start).days
    # Rounded only where it has more places than the millionth: an even share stays as it is (4700, not 4700.000000).
    if int(exact.as_tuple().exponent) >= -6:
        return exact
    return exact.quantize(MICRO, rounding=ROUND_HALF_EVEN)


def counting_source(
    declared: CountingSource | None, metered: bool, entered: bool, *, sub_items_only: bool = False
) -> CountingSource | None:
    """Which source counts for an institution's energy type in a year: the one staff declared; else, by default,
    the meters where a main meter of the type has data that year (they are read every 15 minutes, bills are typed),
    else the entries where there are any, else the meters' sub-items; None where neither has anything.

    `sub_items_only`: the meters' data is of sub-item meters only (air conditioning, lighting...): they measure part
    of the building, and a whole-building bill beside them is the fuller figure, not to be dropped."""
    if declared is not None:
        return declared
    if metered and not sub_items_only:
        return "meters"
    if entered:
        return "entries"
    if metered:
        return "meters"
    return None


# Why a cost figure is null: no entry stated a cost, or the year states no floor area or headcount.
NoCost = Literal["no_cost", "no_floor_area", "no_headcount"]
