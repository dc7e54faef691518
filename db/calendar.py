"""SQL of the working calendar: its dated days (holidays and make-up workdays, `calendar_day`) and the count of its
changes (`calendar_version`, bumped by a trigger), which the supervisor watches to reload it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TypeVar

from psycopg import AsyncConnection
from psycopg.rows import class_row

from domain.calendar import DayKind, WorkCalendar

Row = TypeVar("Row")


async def days(conn: AsyncConnection, row: type[Row], start: date | None = None, end: date | None = None) -> list[Row]:
    """The dated days from `start` to before `end` (each unbounded when None), in day order."""
    async with conn.cursor(row_factory=class_row(row)) as cur:
        await cur.execute(
            """SELECT day, kind, name, updated_at FROM calendar_day
                WHERE (%(start)s::date IS NULL OR day >= %(start)s) AND (%(end)s::date IS NULL OR day < %(end)s)
                ORDER BY day""",
            {"start": start, "end": end},
        )
        return await cur.fetchall()


async def day(conn: AsyncConnection, row: type[Row], when: date) -> Row | None:
    """One dated day, or None when the day is an ordinary one."""
    async with conn.cursor(row_factory=class_row(row)) as cur:
        await cur.execute("SELECT day, kind, name, updated_at FROM calendar_day WHERE day = %s", (when,))
        return await cur.fetchone()


async def put_day(conn: AsyncConnection, row: type[Row], when: date, kind: DayKind, name: str) -> Row:
    """Make a day a holiday or a make-up workday (replacing what it was); the day as stored."""
    async with conn.cursor(row_factory=class_row(row)) as cur:
        await cur.execute(
            """INSERT INTO calendar_day (day, kind, name) VALUES (%s, %s, %s)
                ON CONFLICT (day) DO UPDATE SET kind = EXCLUDED.kind, name = EXCLUDED.name, updated_at = now()
                RETURNING day, kind, name, updated_at""",
            (when, kind, name),
        )
        found = await cur.fetchone()
    assert found is not None
    return found


async def delete_day(conn: AsyncConnection, when: date) -> bool:
    """Make a day an ordinary one again; whether it was a dated day."""
    cur = await conn.execute("DELETE FROM calendar_day WHERE day = %s", (when,))
    return cur.rowcount > 0


async def replace_days(
    conn: AsyncConnection, start: date, end: date, listed: Sequence[tuple[date, DayKind, str]]
) -> tuple[int, int]:
    """Make `listed` the dated days from `start` to before `end`: the others of the span become ordinary days, the
    listed ones are stored as given. Returns (how many were removed, how many stored). In the caller's transaction."""
    cur = await conn.execute(
        "DELETE FROM calendar_day WHERE day >= %s AND day < %s AND day <> ALL(%s)",
        (start, end, [when for when, _, _ in listed]),
    )
    removed = cur.rowcount
    async with conn.cursor() as cur:
        await cur.executemany(
            """INSERT INTO calendar_day (day, kind, name) VALUES (%s, %s, %s)
               ON CONFLICT (day) DO UPDATE SET kind = EXCLUDED.kind, name = EXCLUDED.name, updated_at = now()
               WHERE (calendar_day.kind, calendar_day.name) IS DISTINCT FROM (EXCLUDED.kind, EXCLUDED.name)""",
            listed,
        )
    return removed, len(listed)


async def version(conn: AsyncConnection) -> int:
    """How many times the calendar's days have been changed (a statement counts once)."""
    cur = await conn.execute("SELECT version FROM calendar_version")
    found = await cur.fetchone()
    return int(found[0]) if found is not None else 0


async def work_calendar(
    conn: AsyncConnection, workdays: frozenset[int], start: date | None = None, end: date | None = None
) -> WorkCalendar:
    """The calendar of these usual workdays (Monday = 0) with the dated days from `start` to before `end`."""
    cur = await conn.execute(
        """SELECT day, kind FROM calendar_day
           WHERE (%(start)s::date IS NULL OR day >= %(start)s) AND (%(end)s::date IS NULL OR day < %(end)s)""",
        {"start": start, "end": end},
    )
    return WorkCalendar.of(workdays, await cur.fetchall())
