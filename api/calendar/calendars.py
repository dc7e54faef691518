"""Named working calendars, as the API serves and changes them: working hours and the usual workdays of the week. The
default calendar judges supervision's off_hours and parking and energy's anomalies; areas may name another (an area
that applies only in, or only outside, its calendar's working time). Hours or workdays left null are the settings'
(YIWANG_SUPERVISION_WORK_HOURS, YIWANG_WORKDAYS). The dated days (/calendar/days) are shared by every calendar."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Self

import psycopg
from psycopg import AsyncConnection
from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.errors import Conflict, NotFound
from api.fields import NO_NUL, LocalTime
from db import calendar as calendar_db

IsoDay = Annotated[int, Field(ge=1, le=7)]


class CalendarSet(BaseModel):
    """A calendar's name, hours and workdays (POST /calendar/calendars, PUT /calendar/calendars/{id})."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, pattern=NO_NUL, description="e.g. 夜间禁行, 学校")
    work_start: LocalTime | None = Field(default=None, description="working hours' start, local; null: the setting's")
    work_end: LocalTime | None = Field(
        default=None, description="working hours' end (exclusive), local; before the start: hours across midnight"
    )
    workdays: list[IsoDay] | None = Field(
        default=None, max_length=7, description="usual workdays of the week, ISO (Monday 1); null: the setting's"
    )

    @model_validator(mode="after")
    def _hours_fit(self) -> Self:
        if (self.work_start is None) != (self.work_end is None):
            raise ValueError("give work_start and work_end together (or neither: the setting's hours)")
        if self.work_start is not None and self.work_start == self.work_end:
            raise ValueError("work_start and work_end must differ")
        if self.workdays is not None and len(set(self.workdays)) != len(self.workdays):
            raise ValueError("list each workday once")
        return self


class WorkCalendarPublic(CalendarSet):
    id: int
    is_default: bool = Field(description="the calendar of off_hours, parking and energy anomalies")
    updated_at: datetime


async def calendars(conn: AsyncConnection) -> list[WorkCalendarPublic]:
    """Every named calendar, the default one first."""
    return await calendar_db.calendars(conn, WorkCalendarPublic)


async def calendar(conn: AsyncConnection, calendar_id: int) -> WorkCalendarPublic:
    """One calendar.

    Raises:
        NotFound: there is none.
    """
    found = await calendar_db.calendar(conn, WorkCalendarPublic, calendar_id)
    if found is None:
        raise NotFound(f"no calendar {calendar_id}")
    return found


async def create_calendar(conn: AsyncConnection, body: CalendarSet) -> WorkCalendarPublic:
    """A new calendar (never the default).

    Raises:
        Conflict: the name is taken.
    """
    try:
        async with conn.transaction():
            return await calendar_db.insert_calendar(
                conn, WorkCalendarPublic, name=body.name, start=body.work_start, end=body.work_end,
                workdays=body.workdays,
            )  # fmt: skip
    except psycopg.errors.UniqueViolation as exc:
        raise Conflict(f"there is already a calendar named {body.name}") from exc


async def set_calendar(conn: AsyncConnection, calendar_id: int, body: CalendarSet) -> WorkCalendarPublic:
    """Replace a calendar's name, hours and workdays.

    Raises:
        NotFound: there is none.
        Conflict: the name is taken.
    """
    try:
        async with conn.transaction():
            found = await calendar_db.update_calendar(
                conn, WorkCalendarPublic, calendar_id, name=body.name, start=body.work_start, end=body.work_end,
                workdays=body.workdays,
            )  # fmt: skip
    except psycopg.errors.UniqueViolation as exc:
        raise Conflict(f"there is already a calendar named {body.name}") from exc
    if found is None:
        raise NotFound(f"no calendar {calendar_id}")
    return found


async def remove_calendar(conn: AsyncConnection, calendar_id: int) -> None:
    """Remove a calendar.

    Raises:
        NotFound: there is none (or it is the default, which stays).
        Conflict: areas name it.
    """
    try:
        async with conn.transaction():
            removed = await calendar_db.delete_calendar(conn, calendar_id)
    except psycopg.errors.ForeignKeyViolation as exc:
        raise Conflict(f"areas apply by calendar {calendar_id}: change or remove them first (GET /areas)") from exc
    if not removed:
        raise NotFound(f"no calendar {calendar_id} that may be removed (the default one stays)")
