"""SQL of the working calendars: the named calendars (`work_calendar`: hours and usual workdays, NULL for the
settings'; one is the default), the city's dated days (holidays and make-up workdays, `calendar_day`, shared by every
calendar) and the count of their changes (`calendar_version`, bumped by triggers), which the supervisor and the
notifier follow (`StoredCalendars`) to read them again only when they change."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date, time
from typing import TYPE_CHECKING, Any, TypeVar

from psycopg import AsyncConnection
from psycopg.rows import class_row

from domain.calendar import DayKind, WorkCalendar, hours, iso_workdays

if TYPE_CHECKING:
    from yiwang.settings import Settings

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
    """The default calendar with the dated days from `start` to before `end`; `workdays` (Monday = 0, the setting)
    where the calendar sets none. Its hours are the calendar's, or the domain's default where it sets none: callers
    that care for hours use `work_calendars`."""
    default, _ = await work_calendars(conn, WorkCalendar(workdays=workdays), start, end)
    return default


async def work_calendars(
    conn: AsyncConnection, settings: WorkCalendar, start: date | None = None, end: date | None = None
) -> tuple[WorkCalendar, dict[int, WorkCalendar]]:
    """The default calendar and every calendar by id, with the dated days from `start` to before `end`; what a
    calendar leaves NULL (hours, workdays) is `settings`' (the settings' week and hours)."""
    cur = await conn.execute(
        """SELECT day, kind FROM calendar_day
           WHERE (%(start)s::date IS NULL OR day >= %(start)s) AND (%(end)s::date IS NULL OR day < %(end)s)""",
        {"start": start, "end": end},
    )
    dated = WorkCalendar.of(settings.workdays, await cur.fetchall(), start=settings.start, end=settings.end)
    cur = await conn.execute("SELECT id, is_default, work_start, work_end, workdays FROM work_calendar")
    default, by_id = dated, {}
    for calendar_id, is_default, work_start, work_end, workdays in await cur.fetchall():
        calendar = _with(dated, work_start, work_end, workdays)
        by_id[int(calendar_id)] = calendar
        if is_default:
            default = calendar
    return default, by_id


def settings_calendar(settings: Settings) -> WorkCalendar:
    """The calendar the settings make: their week (YIWANG_WORKDAYS) and hours (YIWANG_SUPERVISION_WORK_HOURS), no
    dated day. What a stored calendar leaves NULL is this, and it is the default until the database is read."""
    start, end = hours(settings.supervision_work_hours)
    return WorkCalendar(workdays=settings.week_workdays, start=start, end=end)


async def calendars_of(
    conn: AsyncConnection, settings: Settings, start: date | None = None, end: date | None = None
) -> tuple[WorkCalendar, dict[int, WorkCalendar]]:
    """`work_calendars` with the settings' week and hours where a calendar sets none: what supervision judges by."""
    return await work_calendars(conn, settings_calendar(settings), start, end)


class StoredCalendars:
    """The default calendar and every calendar by id as stored (`work_calendars`), read again only when
    `calendar_version` moves: a caller that asks often (the supervisor at each batch, the notifier at each sweep)
    reads one row, and the calendars once per change."""

    def __init__(self, settings: WorkCalendar) -> None:
        """`settings`: what a calendar leaves NULL (`settings_calendar`); the default until the first `follow`."""
        self._settings = settings
        self._version: int | None = None
        self.default: WorkCalendar = settings
        self.by_id: dict[int, WorkCalendar] = {}

    async def follow(self, conn: AsyncConnection) -> bool:
        """Read the calendars again if they changed since the last call (the first call reads them); whether they
        were read."""
        # The version first: an edit committed between the two reads is read now and again at the next call, never
        # missed (reading the calendars first could keep the older ones under the newer version).
        now = await version(conn)
        if now == self._version:
            return False
        self.default, self.by_id = await work_calendars(conn, self._settings)
        self._version = now
        return True


def _with(dated: WorkCalendar, start: time | None, end: time | None, workdays: list[int] | None) -> WorkCalendar:
    changes: dict[str, Any] = {}
    if start is not None and end is not None:
        changes.update(start=start, end=end)
    if workdays is not None:
        changes["workdays"] = iso_workdays(",".join(map(str, workdays)))
    return replace(dated, **changes)


CALENDAR_COLUMNS = "id, name, is_default, work_start, work_end, workdays, updated_at"


async def calendars(conn: AsyncConnection, row: type[Row]) -> list[Row]:
    """The named calendars, in id order (the default one first: it is made by the migration)."""
    async with conn.cursor(row_factory=class_row(row)) as cur:
        await cur.execute(f"SELECT {CALENDAR_COLUMNS} FROM work_calendar ORDER BY id")  # noqa: S608
        return await cur.fetchall()


async def calendar(conn: AsyncConnection, row: type[Row], calendar_id: int) -> Row | None:
    """One named calendar, or None."""
    async with conn.cursor(row_factory=class_row(row)) as cur:
        await cur.execute(f"SELECT {CALENDAR_COLUMNS} FROM work_calendar WHERE id = %s", (calendar_id,))  # noqa: S608
        return await cur.fetchone()


async def insert_calendar(
    conn: AsyncConnection,
    row: type[Row],
    *,
    name: str,
    start: time | None,
    end: time | None,
    workdays: list[int] | None,
) -> Row:
    """A new (not default) calendar; the calendar as stored."""
    async with conn.cursor(row_factory=class_row(row)) as cur:
        await cur.execute(
            f"""INSERT INTO work_calendar (name, work_start, work_end, workdays) VALUES (%s, %s, %s, %s)
                RETURNING {CALENDAR_COLUMNS}""",  # noqa: S608
            (name, start, end, workdays),
        )
        found = await cur.fetchone()
    assert found is not None
    return found


async def update_calendar(
    conn: AsyncConnection,
    row: type[Row],
    calendar_id: int,
    *,
    name: str,
    start: time | None,
    end: time | None,
    workdays: list[int] | None,
) -> Row | None:
    """Replace a calendar's name, hours and workdays; the calendar as stored, or None when there is none."""
    async with conn.cursor(row_factory=class_row(row)) as cur:
        await cur.execute(
            f"""UPDATE work_calendar SET name = %s, work_start = %s, work_end = %s, workdays = %s, updated_at = now()
                WHERE id = %s RETURNING {CALENDAR_COLUMNS}""",  # noqa: S608
            (name, start, end, workdays, calendar_id),
        )
        return await cur.fetchone()


async def delete_calendar(conn: AsyncConnection, calendar_id: int) -> bool:
    """Remove a calendar that is not the default; whether there was one. A calendar areas name raises
    ForeignKeyViolation."""
    cur = await conn.execute("DELETE FROM work_calendar WHERE id = %s AND NOT is_default", (calendar_id,))
    return cur.rowcount > 0
