"""The working calendar: whether a local day is a workday, the one rule that supervision's working hours and energy's
working-hours baseline both ask.

A calendar has working hours too (`start` to `end`, local; the setting YIWANG_SUPERVISION_WORK_HOURS is the default
calendar's until an admin sets them): a moment is working time on a workday within them. Calendars are named data
(the work_calendar table, /calendar/calendars): the default one, and those areas apply by (an area active only in,
or only outside, its calendar's working time). The dated days are the city's, shared by every calendar: they follow
the one State Council notice.

A day is a workday when it is a make-up workday (调休: a weekend day worked in exchange for a holiday), or when its
day of the week is a usual workday and it is not a holiday. The usual workdays of the week are a setting
(YIWANG_WORKDAYS); the dated days, holidays and make-up workdays, are data that admins keep (the calendar_day
table, /calendar/days), since each year's come from the State Council's notice (国务院办公厅关于部分节假日安排的通知).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Final, Literal, get_args

# holiday: a day off (a public holiday, or a weekend day moved into one); workday: a make-up workday (调休).
DayKind = Literal["holiday", "workday"]
DAY_KINDS: Final[tuple[DayKind, ...]] = get_args(DayKind)
MONDAY_TO_FRIDAY: Final[frozenset[int]] = frozenset({0, 1, 2, 3, 4})  # Monday = 0, as date.weekday()


@dataclass(frozen=True, slots=True)
class WorkCalendar:
    """The usual workdays of the week and the dated exceptions to them."""

    workdays: frozenset[int] = MONDAY_TO_FRIDAY  # Monday = 0
    holidays: frozenset[date] = frozenset()
    extra_workdays: frozenset[date] = frozenset()  # 调休: a weekend day worked in exchange for a holiday
    start: time = time(8, 0)  # working hours, local; end exclusive. start > end: hours that span midnight
    end: time = time(18, 0)

    @classmethod
    def of(
        cls,
        workdays: frozenset[int],
        days: Iterable[tuple[date, DayKind]],
        *,
        start: time = time(8, 0),
        end: time = time(18, 0),
    ) -> WorkCalendar:
        """The calendar of these usual workdays, these dated days (as the calendar_day table holds them) and hours."""
        listed = list(days)
        return cls(
            workdays=workdays,
            holidays=frozenset(day for day, kind in listed if kind == "holiday"),
            extra_workdays=frozenset(day for day, kind in listed if kind == "workday"),
            start=start,
            end=end,
        )

    def working(self, local: datetime) -> bool:
        """Whether a local moment is working time: within the hours of a workday (hours that span midnight belong to
        the day they start on)."""
        at = local.time()
        if self.start <= self.end:
            return self.workday(local.date()) and self.start <= at < self.end
        if at >= self.start:
            return self.workday(local.date())
        return at < self.end and self.workday(local.date().fromordinal(local.date().toordinal() - 1))

    def workday(self, day: date) -> bool:
        """Whether people work on this local day."""
        if day in self.extra_workdays:
            return True
        return day.weekday() in self.workdays and day not in self.holidays


def hours(text: str) -> tuple[time, time]:
    """Working hours as the settings write them ("08:00-18:00"): start and end."""
    start, end = (datetime.strptime(part.strip(), "%H:%M").time() for part in text.split("-"))
    return start, end


def iso_workdays(text: str) -> frozenset[int]:
    """Days of the week as the settings write them, ISO numbers with Monday 1 ("1,2,3,4,5"), as date.weekday()'s."""
    return frozenset(int(part) - 1 for part in text.split(",") if part.strip())
