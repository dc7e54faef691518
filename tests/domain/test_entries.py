"""A bill's quantity shared between months by days, exactly; the declared source's default rule; entry units."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from domain.entries import by_month, counting_source, counts_twice, share, unit_problem


def test_a_bill_across_two_months_is_shared_by_days_and_the_shares_sum_to_it() -> None:
    # 15 January to 14 February: 17 days of January, 14 of February, 31 days in all.
    months = by_month(Decimal(310), date(2025, 1, 15), date(2025, 2, 15), date(2025, 1, 1), date(2026, 1, 1))
    assert months == {date(2025, 1, 1): Decimal(170), date(2025, 2, 1): Decimal(140)}
    assert str(months[date(2025, 1, 1)]) == "170"  # as stated, not 170.000000


def test_shares_that_do_not_divide_evenly_still_sum_to_the_amount_at_every_cut() -> None:
    amount, start, end = Decimal(100), date(2025, 11, 20), date(2026, 3, 7)  # a heating season over a new year
    months = by_month(amount, start, end, date(2000, 1, 1), date(2100, 1, 1))
    assert sum(months.values()) == amount
    assert len(months) == 5
    # What falls on 2025 and on 2026 adds up to the amount too, and each year is the sum of its months.
    in_2025 = share(amount, start, end, date(2025, 1, 1), date(2026, 1, 1))
    in_2026 = share(amount, start, end, date(2026, 1, 1), date(2027, 1, 1))
    assert in_2025 + in_2026 == amount
    assert in_2025 == sum(v for m, v in months.items() if m.year == 2025)
    assert in_2025 == Decimal("39.252336")  # 42 of 107 days


def test_a_range_that_cuts_a_month_keeps_only_its_days() -> None:
    months = by_month(Decimal(31), date(2025, 1, 1), date(2025, 2, 1), date(2025, 1, 11), date(2025, 1, 21))
    assert months == {date(2025, 1, 1): Decimal(10)}
    assert by_month(Decimal(31), date(2025, 1, 1), date(2025, 2, 1), date(2025, 3, 1), date(2025, 4, 1)) == {}


def test_an_empty_period_is_refused() -> None:
    with pytest.raises(ValueError, match="ends after it starts"):
        share(Decimal(1), date(2025, 2, 1), date(2025, 2, 1), date(2025, 1, 1), date(2026, 1, 1))


def test_the_declared_source_wins_else_meters_with_data_else_entries() -> None:
    assert counting_source("entries", metered=True, entered=True) == "entries"
    assert counting_source("meters", metered=False, entered=True) == "meters"
    assert counting_source(None, metered=True, entered=True) == "meters"
    assert counting_source(None, metered=False, entered=True) == "entries"
    assert counting_source(None, metered=False, entered=False) is None


def test_sub_item_meters_alone_give_way_to_entries_by_default() -> None:
    # A sub-item meter measures part of the building: a whole-building bill beside it counts.
    assert counting_source(None, metered=True, entered=True, sub_items_only=True) == "entries"
    assert counting_source(None, metered=True, entered=False, sub_items_only=True) == "meters"
    assert counting_source("meters", metered=True, entered=True, sub_items_only=True) == "meters"


def test_entries_are_in_a_unit_of_their_type_and_other_energy_in_standard_coal() -> None:
    assert unit_problem("natural_gas", "m3") is None
    assert unit_problem("other", "kgce") is None
    assert unit_problem("other", "kWh") == "other is entered in one of kgce, tce, not 'kWh'"
    assert unit_problem("heat", "kWh") == "heat is entered in one of GJ, MJ, not 'kWh'"
    assert unit_problem("steam", "t") is not None


def test_entries_count_twice_when_their_days_meet_and_both_state_a_quantity_or_a_cost() -> None:
    jan, feb, mar, apr = date(2025, 1, 1), date(2025, 2, 1), date(2025, 3, 1), date(2025, 4, 1)
    assert counts_twice((jan, feb, True, True), (jan, apr, True, False))  # a month inside a quarter
    assert counts_twice((jan, feb, False, True), (jan, feb, True, True))  # both state the cost
    assert not counts_twice((jan, feb, True, True), (feb, mar, True, True))  # the end is exclusive: adjacent
    assert not counts_twice((feb, mar, True, False), (feb, mar, False, True))  # a note's quantity, an invoice's cost
