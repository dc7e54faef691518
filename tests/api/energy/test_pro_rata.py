"""The key-unit threshold of a period: a year's tce in proportion to the period's days in each calendar year."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from api.energy.indicators import pro_rata
from domain.periods import Period


@pytest.mark.parametrize(
    ("start", "end", "share"),
    [
        (date(2025, 1, 1), date(2026, 1, 1), Decimal(10_000)),  # a calendar year: the yearly figure itself
        (date(2024, 1, 1), date(2025, 1, 1), Decimal(10_000)),  # a leap year too
        (date(2025, 7, 1), date(2026, 7, 1), Decimal(10_000)),  # a year across two calendar years
        (date(2023, 1, 1), date(2026, 1, 1), Decimal(30_000)),  # three years: three times, not once
        (date(2025, 1, 1), date(2025, 2, 1), Decimal("849.3151")),  # 31 of 365 days
    ],
)
def test_a_years_threshold_holds_in_proportion_to_the_periods_days(start: date, end: date, share: Decimal) -> None:
    assert pro_rata(Decimal(10_000), Period(start, end)) == share
