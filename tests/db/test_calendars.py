"""Named working calendars in the database: the default one stands for the settings until an admin sets it, and
both supervision's (work_calendars) and energy anomalies' (work_calendar) readings follow it."""

from __future__ import annotations

from datetime import date, time

import psycopg

from db import calendar as db_calendar
from domain.calendar import WorkCalendar, iso_workdays
from yiwang.stack import Stack

SETTINGS = WorkCalendar(workdays=iso_workdays("1,2,3,4,5"), start=time(8), end=time(18))
SATURDAY = date(2025, 9, 13)  # no dated day


async def test_the_default_calendar_is_the_settings_until_set_and_both_readers_follow_it(stack: Stack) -> None:
    async with await psycopg.AsyncConnection.connect(stack.postgres.url, autocommit=True) as conn:
        try:
            default, by_id = await db_calendar.work_calendars(conn, SETTINGS)
            assert (default.start, default.end, default.workdays) == (time(8), time(18), SETTINGS.workdays)
            assert default in by_id.values()
            before = await db_calendar.version(conn)
            await conn.execute(
                "UPDATE work_calendar SET work_start = '07:30', work_end = '16:30', workdays = '{1,2,3,4,5,6}' "
                "WHERE is_default"
            )
            assert await db_calendar.version(conn) > before  # the supervisor reloads
            default, _ = await db_calendar.work_calendars(conn, SETTINGS)
            assert (default.start, default.end) == (time(7, 30), time(16, 30))
            assert default.workday(SATURDAY)
            anomalies = await db_calendar.work_calendar(conn, SETTINGS.workdays, SATURDAY, date(2025, 9, 14))
            assert anomalies.workday(SATURDAY)
        finally:
            await conn.execute(
                "UPDATE work_calendar SET work_start = NULL, work_end = NULL, workdays = NULL WHERE is_default"
            )
