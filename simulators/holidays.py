"""The working year of a Chinese city: weekends, public holidays and school vacations.

Approximate on purpose: the make-up working weekends (调休) and the lunar Dragon Boat and Mid-Autumn
holidays are left out; the Spring Festival, Qingming, Labour Day and National Day weeks are in. That is
enough for consumption and vehicle use to dip where a reader of the charts expects them to.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache

# First day of the lunar year; the holiday runs from its eve for eight days.
SPRING_FESTIVAL: dict[int, date] = {
    2010: date(2010, 2, 14),
    2011: date(2011, 2, 3),
    2012: date(2012, 1, 23),
    2013: date(2013, 2, 10),
    2014: date(2014, 1, 31),
    2015: date(2015, 2, 19),
    2016: date(2016, 2, 8),
    2017: date(2017, 1, 28),
    2018: date(2018, 2, 16),
    2019: date(2019, 2, 5),
    2020: date(2020, 1, 25),
    2021: date(2021, 2, 12),
    2022: date(2022, 2, 1),
    2023: date(2023, 1, 22),
    2024: date(2024, 2, 10),
    2025: date(2025, 1, 29),
    2026: date(2026, 2, 17),
    2027: date(2027, 2, 6),
    2028: date(2028, 1, 26),
    2029: date(2029, 2, 13),
    2030: date(2030, 2, 3),
    2031: date(2031, 1, 23),
    2032: date(2032, 2, 11),
    2033: date(2033, 1, 31),
    2034: date(2034, 2, 19),
    2035: date(2035, 2, 8),
}


def _span(first: date, days: int) -> list[date]:
    return [first + timedelta(days=i) for i in range(days)]


@cache
def holidays(year: int) -> frozenset[date]:
    """The public holidays of a year (without the weekends around them)."""
    days = [date(year, 1, 1), *_span(date(year, 4, 4), 3), *_span(date(year, 5, 1), 5), *_span(date(year, 10, 1), 7)]
    festival = SPRING_FESTIVAL.get(year)
    if festival is not None:
        days += _span(festival - timedelta(days=1), 8)
    return frozenset(days)


def is_rest_day(day: date) -> bool:
    """A weekend or public holiday: offices closed, official vehicles parked unless approved."""
    return day.weekday() >= 5 or day in holidays(day.year)


def is_school_vacation(day: date) -> bool:
    """Summer (5 July - 31 August) or winter (two weeks either side of the Spring Festival)."""
    if (7, 5) <= (day.month, day.day) <= (8, 31):
        return True
    festival = SPRING_FESTIVAL.get(day.year)
    return festival is not None and abs((day - festival).days) <= 14
