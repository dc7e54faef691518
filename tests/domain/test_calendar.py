"""The working calendar's one rule: holidays are off, make-up workdays (调休) on, the rest by the day of the week."""

from __future__ import annotations

from datetime import date, timedelta

from domain.calendar import MONDAY_TO_FRIDAY, WorkCalendar, iso_workdays

# The 2026 National Day week as the State Council set it: 1-7 October off, Saturday 10 October worked.
NATIONAL_DAY = WorkCalendar.of(
    MONDAY_TO_FRIDAY,
    [*((date(2026, 10, d), "holiday") for d in range(1, 8)), (date(2026, 9, 20), "workday"),
     (date(2026, 10, 10), "workday")],
)  # fmt: skip


def test_a_holiday_is_off_and_a_make_up_saturday_is_worked() -> None:
    assert not NATIONAL_DAY.workday(date(2026, 10, 1))  # Thursday, 国庆节
    assert not NATIONAL_DAY.workday(date(2026, 10, 5))  # Monday in the break
    assert NATIONAL_DAY.workday(date(2026, 10, 10))  # Saturday, 调休
    assert NATIONAL_DAY.workday(date(2026, 9, 20))  # Sunday, 调休
    assert not NATIONAL_DAY.workday(date(2026, 10, 11))  # an ordinary Sunday
    assert NATIONAL_DAY.workday(date(2026, 10, 9))  # an ordinary Friday


def test_without_dated_days_the_week_decides() -> None:
    monday = date(2026, 3, 2)
    week = [WorkCalendar().workday(monday + timedelta(days=n)) for n in range(7)]
    assert week == [True, True, True, True, True, False, False]
    six_days = WorkCalendar(workdays=iso_workdays("1,2,3,4,5,6"))
    assert [six_days.workday(monday + timedelta(days=n)) for n in range(7)] == [*[True] * 6, False]
