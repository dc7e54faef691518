"""SQL of staff's corrections of a meter's day (`consumption_correction`): made, withdrawn and listed, each change
applied to the roll-up's day and month in its own transaction, under the lock a recount of the meter holds
(db/marks.py), so that a correction and a recount never interleave. The roll-up applies them again whenever it
recounts a day (db/consumption.py's `apply_corrections`)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from psycopg import AsyncConnection, sql

from db import consumption
from db.marks import CONSUMPTION
from db.scope import Scope
from domain.periods import next_month

# What a correction replaced when it is made anew for the same day: the earlier one is withdrawn with these words.
REPLACED = "replaced by a later correction of the day"


async def unit_of(conn: AsyncConnection, scope: Scope, meter_id: str) -> str | None:
    """The consumption unit of a meter of the scope; None when there is no such meter in the scope."""
    cur = await conn.execute(
        sql.SQL(
            "SELECT m.unit FROM meter m JOIN institution i ON i.id = m.institution_id WHERE m.id = %s AND {}"
        ).format(scope.condition("i.organisation_id")),
        (meter_id,),
    )
    row = await cur.fetchone()
    return None if row is None else str(row[0])


async def correct(
    conn: AsyncConnection, meter_id: str, day: date, *, amount: Decimal, reason: str, user_id: int
) -> int | None:
    """Make `amount` the meter's consumption of `day`, withdrawing the correction that applied to the day before (if
    any), and apply it to the day and its month; returns the correction's id, or None (nothing changed) when the day
    is not counted (no readings bracket it)."""
    async with conn.transaction():
        await CONSUMPTION.hold(conn, meter_id)
        cur = await conn.execute("SELECT 1 FROM consumption_day WHERE meter_id = %s AND day = %s", (meter_id, day))
        if await cur.fetchone() is None:
            return None
        await _withdraw(conn, meter_id, day, REPLACED, user_id)
        cur = await conn.execute(
            """INSERT INTO consumption_correction (meter_id, day, amount, reason, corrected_by)
               VALUES (%s, %s, %s, %s, %s) RETURNING id""",
            (meter_id, day, amount, reason, user_id),
        )
        row = await cur.fetchone()
        assert row is not None  # inserted
        await _apply(conn, meter_id, day)
        return int(row[0])


async def withdraw(conn: AsyncConnection, meter_id: str, day: date, reason: str, user_id: int) -> int | None:
    """Withdraw the correction that applies to the meter's day and give the day back what its readings counted;
    returns the withdrawn correction's id, None when none applies."""
    async with conn.transaction():
        await CONSUMPTION.hold(conn, meter_id)
        withdrawn = await _withdraw(conn, meter_id, day, reason, user_id)
        if withdrawn is not None:
            await _apply(conn, meter_id, day)
        return withdrawn


async def _withdraw(conn: AsyncConnection, meter_id: str, day: date, reason: str, user_id: int) -> int | None:
    cur = await conn.execute(
        """UPDATE consumption_correction SET withdrawn_by = %s, withdrawn_at = now(), withdrawn_reason = %s
           WHERE meter_id = %s AND day = %s AND withdrawn_at IS NULL RETURNING id""",
        (user_id, reason, meter_id, day),
    )
    row = await cur.fetchone()
    return None if row is None else int(row[0])


async def _apply(conn: AsyncConnection, meter_id: str, day: date) -> None:
    await consumption.apply_corrections(conn, meter_id, day, day)
    month = day.replace(day=1)
    await consumption.sum_months(conn, meter_id, month, next_month(month))


async def listed(
    conn: AsyncConnection,
    scope: Scope,
    *,
    meter_id: str | None = None,
    start: date | None = None,
    end: date | None = None,
    withdrawn: bool | None = None,
    correction_id: int | None = None,
) -> list[tuple[Any, ...]]:
    """Corrections of meters in the scope, the latest first, at most 10,000, filtered by meter, days [start, end),
    withdrawn or not (None: either) and id: (id, meter_id, unit, day, amount, original, applied, reason, corrected_by,
    corrected_by_name, corrected_at, withdrawn_by, withdrawn_by_name, withdrawn_at, withdrawn_reason), `original`
    being what the readings count for the day now (None: the day is not counted) and `applied` whether the day's
    figure is this correction."""
    conditions: list[sql.Composable] = [scope.condition("i.organisation_id")]
    for column, operator, value in (
        ("meter_id", "=", meter_id),
        ("day", ">=", start),
        ("day", "<", end),
        ("id", "=", correction_id),
    ):
        if value is not None:
            # Literals: a '%' in a meter id would read as a placeholder.
            conditions.append(
                sql.SQL("c.{} {} {}").format(sql.Identifier(column), sql.SQL(operator), sql.Literal(value))
            )
    if withdrawn is not None:
        conditions.append(sql.SQL("c.withdrawn_at IS {} NULL").format(sql.SQL("NOT" if withdrawn else "")))
    cur = await conn.execute(
        sql.SQL(
            """SELECT c.id, c.meter_id, m.unit, c.day, c.amount, coalesce(d.original, d.amount),
                      c.withdrawn_at IS NULL AND d.original IS NOT NULL, c.reason,
                      c.corrected_by, cu.name, c.corrected_at, c.withdrawn_by, wu.name, c.withdrawn_at,
                      c.withdrawn_reason
               FROM consumption_correction c
               JOIN meter m ON m.id = c.meter_id JOIN institution i ON i.id = m.institution_id
               JOIN app_user cu ON cu.id = c.corrected_by
               LEFT JOIN app_user wu ON wu.id = c.withdrawn_by
               LEFT JOIN consumption_day d ON d.meter_id = c.meter_id AND d.day = c.day
               WHERE {} ORDER BY c.corrected_at DESC, c.id DESC LIMIT 10000"""
        ).format(sql.SQL(" AND ").join(conditions))
    )
    return list(await cur.fetchall())
