"""The working calendar's dated days, as the API serves and changes them: each a holiday (off) or a make-up workday
(调休, on) with its name; a year's days are replaced at once from the State Council's notice."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from typing import Annotated

from psycopg import AsyncConnection
from pydantic import BaseModel, ConfigDict, Field

from api.errors import NotFound, Refused
from api.fields import NO_NUL
from db import calendar as calendar_db
from domain.calendar import DayKind

Name = Annotated[str, Field(min_length=1, max_length=100, pattern=NO_NUL, description="e.g. 春节, 国庆节调休")]
KIND = Field(description="holiday: a day off (a public holiday, or a weekend day moved into one); workday: a make-up "
                         "workday (调休), a weekend day worked")  # fmt: skip


class CalendarDaySet(BaseModel):
    """What a day becomes (PUT /calendar/days/{day})."""

    model_config = ConfigDict(extra="forbid")

    kind: DayKind = KIND
    name: Name


class CalendarDayItem(CalendarDaySet):
    """One day of a year's list."""

    day: date


class CalendarDay(CalendarDayItem):
    updated_at: datetime


class CalendarYear(BaseModel):
    """A year's holidays and make-up workdays, as the State Council's notice lists them; the year's other days are
    ordinary (workdays or not by the day of the week)."""

    model_config = ConfigDict(extra="forbid")

    days: list[CalendarDayItem] = Field(max_length=366)


class CalendarYearResult(BaseModel):
    year: int
    removed: int = Field(description="dated days of the year that the list no longer holds, now ordinary")
    days: list[CalendarDay] = Field(description="the year's dated days as stored, in day order")


async def days(conn: AsyncConnection, start: date | None, end: date | None) -> list[CalendarDay]:
    """The dated days from `start` to before `end`, in day order."""
    return await calendar_db.days(conn, CalendarDay, start, end)


async def day(conn: AsyncConnection, when: date) -> CalendarDay:
    """One dated day.

    Raises:
        NotFound: the day is an ordinary one.
    """
    found = await calendar_db.day(conn, CalendarDay, when)
    if found is None:
        raise NotFound(f"{when} is no holiday and no make-up workday: a workday or not by its day of the week")
    return found


async def set_day(conn: AsyncConnection, when: date, change: CalendarDaySet) -> CalendarDay:
    """Make a day a holiday or a make-up workday."""
    return await calendar_db.put_day(conn, CalendarDay, when, change.kind, change.name)


async def remove_day(conn: AsyncConnection, when: date) -> None:
    """Make a day ordinary again.

    Raises:
        NotFound: it was not a dated day.
    """
    if not await calendar_db.delete_day(conn, when):
        raise NotFound(f"{when} is no holiday and no make-up workday")


async def replace_year(conn: AsyncConnection, year: int, listed: CalendarYear) -> CalendarYearResult:
    """Make the list the year's dated days, in one transaction: the year's days not listed become ordinary.

    Raises:
        Refused: a day outside the year, or a day listed twice.
    """
    outside = sorted({item.day for item in listed.days if item.day.year != year})
    if outside:
        raise Refused(f"{', '.join(map(str, outside[:10]))} not in {year}: list only the year's days")
    twice = sorted(d for d, n in Counter(item.day for item in listed.days).items() if n > 1)
    if twice:
        raise Refused(f"{', '.join(map(str, twice[:10]))} listed more than once: list each day once")
    start, end = date(year, 1, 1), date(year + 1, 1, 1)
    async with conn.transaction():
        removed, _ = await calendar_db.replace_days(
            conn, start, end, [(item.day, item.kind, item.name) for item in listed.days]
        )
        stored = await calendar_db.days(conn, CalendarDay, start, end)
    return CalendarYearResult(year=year, removed=removed, days=stored)
