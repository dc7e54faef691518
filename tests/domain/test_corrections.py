"""A corrected day's hours: they sum to the corrected amount exactly, in the counted hours' proportions."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.corrections import corrected_hours


def test_a_spike_corrected_keeps_the_days_shape_and_sums_exactly() -> None:
    # 24 hours of 1 kWh and a spike of 5,000 kWh in hour 14 (millionths); staff say the day used 24 kWh.
    counted = [1_000_000] * 24
    counted[14] = 5_000_000_000
    hours = corrected_hours(counted, 24_000_000)
    assert sum(hours) == 24_000_000
    assert hours.index(max(hours)) == 14  # the shape is the readings', scaled: staff correct the amount


def test_a_day_that_counted_nothing_shares_its_correction_evenly() -> None:
    assert corrected_hours([0] * 23, 23_000_000) == [1_000_000] * 23  # a 23-hour day (spring forward)
    assert sum(corrected_hours([0] * 25, 10)) == 10


@pytest.mark.parametrize(("counted", "amount"), [([], 1), ([1, -1], 1), ([1, 2], -1)])
def test_no_hours_or_negative_consumption_is_refused(counted: list[int], amount: int) -> None:
    with pytest.raises(ValueError, match=r"hours|negative"):
        corrected_hours(counted, amount)


@given(
    st.lists(st.integers(min_value=0, max_value=10**15), min_size=23, max_size=25),
    st.integers(min_value=0, max_value=10**15),
)
def test_the_shares_sum_to_the_amount_and_never_go_negative(counted: list[int], amount: int) -> None:
    hours = corrected_hours(counted, amount)
    assert sum(hours) == amount
    assert len(hours) == len(counted)
    assert all(h >= 0 for h in hours)
    if sum(counted) > 0:
        assert all(h == 0 for h, c in zip(hours, counted, strict=True) if c == 0)
