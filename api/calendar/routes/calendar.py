"""The working calendar: holidays and make-up workdays (调休), read by everyone, kept by admins."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, status
from pydantic import BaseModel, ConfigDict

from api.access.audit import audit_entry
from api.calendar import calendars, days
from api.calendar.calendars import CalendarSet, WorkCalendarPublic
from api.calendar.days import CalendarDay, CalendarDaySet, CalendarYear, CalendarYearResult
from api.deps import PoolDep, require
from api.errors import responses

router = APIRouter(prefix="/calendar", tags=["calendar"])


class DaysQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: date | None = None
    end: date | None = None  # exclusive


Year = Annotated[int, Path(ge=1900, le=2999)]


@router.get("/days", dependencies=[Depends(require("calendar:read"))], responses=responses(401, 403, 422))
async def list_days(pool: PoolDep, query: Annotated[DaysQuery, Query()]) -> list[CalendarDay]:
    """The holidays and make-up workdays from `start` to before `end` (each optional), in day order. Other days are
    workdays or not by the day of the week (YIWANG_WORKDAYS)."""
    async with pool.connection() as conn:
        return await days.days(conn, query.start, query.end)


@router.get("/days/{day}", dependencies=[Depends(require("calendar:read"))], responses=responses(401, 403, 404, 422))
async def get_day(pool: PoolDep, day: date) -> CalendarDay:
    """A holiday or make-up workday; 404 for an ordinary day."""
    async with pool.connection() as conn:
        return await days.day(conn, day)


@router.put("/days/{day}", dependencies=[Depends(require("calendar:write"))], responses=responses(401, 403, 422))
async def put_day(request: Request, pool: PoolDep, day: date, body: CalendarDaySet) -> CalendarDay:
    """Make a day a holiday (off) or a make-up workday (调休, on), replacing what it was. The supervisor applies it
    to the next positions it judges; energy anomalies read the calendar with each request."""
    entry = audit_entry(request)
    entry.resource_ids.append(day.isoformat())
    entry.params = body.model_dump(mode="json")
    async with pool.connection() as conn:
        return await days.set_day(conn, day, body)


@router.delete(
    "/days/{day}",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[Depends(require("calendar:write"))],
    responses=responses(401, 403, 404, 422),
)
async def delete_day(request: Request, pool: PoolDep, day: date) -> None:
    """Make a day ordinary again (a workday or not by the day of the week); applied as a change is."""
    audit_entry(request).resource_ids.append(day.isoformat())
    async with pool.connection() as conn:
        await days.remove_day(conn, day)


@router.put("/years/{year}", dependencies=[Depends(require("calendar:write"))], responses=responses(401, 403, 422))
async def put_year(request: Request, pool: PoolDep, year: Year, body: CalendarYear) -> CalendarYearResult:
    """Replace a year's holidays and make-up workdays at once, e.g. from the State Council's notice of the year
    (国务院办公厅关于部分节假日安排的通知): the listed days are stored, the year's others become ordinary. Every day
    must be of the year, each once (422 otherwise, nothing changed). Applied as a change of one day is."""
    entry = audit_entry(request)
    entry.resource_ids.append(str(year))
    entry.params = body.model_dump(mode="json")
    async with pool.connection() as conn:
        return await days.replace_year(conn, year, body)


@router.get("/calendars", dependencies=[Depends(require("calendar:read"))], responses=responses(401, 403))
async def list_calendars(pool: PoolDep) -> list[WorkCalendarPublic]:
    """The named working calendars: working hours and usual workdays (null: the settings'). The default one judges
    off_hours, parking and energy anomalies; areas may name another."""
    async with pool.connection() as conn:
        return await calendars.calendars(conn)


@router.get(
    "/calendars/{calendar_id}",
    dependencies=[Depends(require("calendar:read"))],
    responses=responses(401, 403, 404, 422),
)
async def get_calendar(pool: PoolDep, calendar_id: int) -> WorkCalendarPublic:
    """One calendar."""
    async with pool.connection() as conn:
        return await calendars.calendar(conn, calendar_id)


@router.post(
    "/calendars",
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(require("calendar:write"))],
    responses=responses(401, 403, 409, 422),
)
async def add_calendar(request: Request, pool: PoolDep, body: CalendarSet) -> WorkCalendarPublic:
    """Add a calendar for areas to apply by (409 when the name is taken)."""
    entry = audit_entry(request)
    entry.params = body.model_dump(mode="json")
    async with pool.connection() as conn:
        created = await calendars.create_calendar(conn, body)
    entry.resource_ids.append(str(created.id))
    return created


@router.put(
    "/calendars/{calendar_id}",
    dependencies=[Depends(require("calendar:write"))],
    responses=responses(401, 403, 404, 409, 422),
)
async def put_calendar(request: Request, pool: PoolDep, calendar_id: int, body: CalendarSet) -> WorkCalendarPublic:
    """Replace a calendar's name, hours and workdays (null: the settings'); the supervisor applies it to the next
    positions it judges."""
    entry = audit_entry(request)
    entry.resource_ids.append(str(calendar_id))
    entry.params = body.model_dump(mode="json")
    async with pool.connection() as conn:
        return await calendars.set_calendar(conn, calendar_id, body)


@router.delete(
    "/calendars/{calendar_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[Depends(require("calendar:write"))],
    responses=responses(401, 403, 404, 409, 422),
)
async def delete_calendar(request: Request, pool: PoolDep, calendar_id: int) -> None:
    """Remove a calendar no area applies by (409 otherwise); the default calendar stays (404)."""
    audit_entry(request).resource_ids.append(str(calendar_id))
    async with pool.connection() as conn:
        await calendars.remove_calendar(conn, calendar_id)
