"""Periods of local days, as reports count them: [start, end) in the city's zone, a day being a local day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Final, Literal
from zoneinfo import ZoneInfo

# The steps a series of consumption is counted in.
Step = Literal["hour", "day", "month", "year"]

# The years the platform keeps figures of: institutions' yearly figures, quotas, factors.
FIRST_YEAR: Final = 2000
LAST_YEAR: Final = 2100


@dataclass(frozen=True, slots=True)
class Period:
    """Local days [start, end)."""

    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def moments(self, zone: ZoneInfo) -> tuple[datetime, datetime]:
        """The local midnights in `zone` that bound the period."""
        return datetime.combine(self.start, time(0), zone), datetime.combine(self.end, time(0), zone)

    def last_year(self) -> Period:
        """The same days a year before (同比); 29 February is the 28th then."""
        return Period(_years_before(self.start, 1), _years_before(self.end, 1))

    def previous(self) -> Period:
        """The period just before (环比): as many whole months when it is whole months, else as many days."""
        if self.start.day == 1 and self.end.day == 1:
            months = (self.end.year - self.start.year) * 12 + self.end.month - self.start.month
            return Period(_months_before(self.start, months), self.start)
        return Period(self.start - timedelta(days=self.days), self.start)


def next_month(day: date) -> date:
    """The first day of the month after the day's."""
    return _months_before(day.replace(day=1), -1)


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _months_before(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)
