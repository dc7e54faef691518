"""The working calendar: whether a local day is a workday, the one rule that supervision's working hours and energy's
working-hours baseline both ask.

A day is a workday when it is a make-up workday (调休: a weekend day worked in exchange for a holiday), or when its
day of the week is a usual workday and it is not a holiday. The usual workdays of the week are a setting
(YIWANG_WORKDAYS); the dated days, holidays and make-up workdays, are data that admins keep (the calendar_day
table, /calendar/days), since each year's come from the State Council's notice (国务院办公厅关于部分节假日安排的通知).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
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

    @classmethod
    def of(cls, workdays: frozenset[int], days: Iterable[tuple[date, DayKind]]) -> WorkCalendar:
        """The calendar of these usual workdays and these dated days (as the calendar_day table holds them)."""
        listed = list(days)
        return cls(
            workdays=workdays,
            holidays=frozenset(day for day, kind in listed if kind == "holiday"),
            extra_workdays=frozenset(day for day, kind in listed if kind == "workday"),
        )

    def workday(self, day: date) -> bool:
        """Whether people work on this local day."""
        if day in self.extra_workdays:
            return True
        return day.weekday() in self.workdays and day not in self.holidays


def iso_workdays(text: str) -> frozenset[int]:
    """Days of the week as the settings write them, ISO numbers with Monday 1 ("1,2,3,4,5"), as date.weekday()'s."""
    return frozenset(int(part) - 1 for part in text.split(",") if part.strip())
