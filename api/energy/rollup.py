"""The consumption roll-up: `consumption_day` kept equal to domain/counters.py over all readings.

The collector marks a meter stale from its earliest new reading on, in the transaction that stores
the readings (db/marks.py). `refresh` claims each mark and recomputes its meter from the last reading before
that point, in one transaction: the day holding that reading starts from the state stored with the day (the
last reading before its midnight and the baseline after it), so a late batch costs the days from its place
onward, not the meter's history.

Refreshers may run side by side (each API process runs `maintain`; `yiwang energy refresh|rebuild` runs one
by hand): a meter is recounted under a transaction-scoped advisory lock, which a second refresher skips, and
which a cancelled refresher cannot leave behind.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date, datetime
from typing import cast
from zoneinfo import ZoneInfo

from psycopg import AsyncConnection, sql
from psycopg.rows import namedtuple_row
from psycopg_pool import AsyncConnectionPool

from api.background import drain, periodically
from db.marks import CONSUMPTION
from domain.counters import Day, Delta, Meter, Registered, State, days, decimal

log = logging.getLogger(__name__)


class ZoneMismatch(RuntimeError):
    """The roll-up was built in another zone than the one configured."""


async def refresh(pool: AsyncConnectionPool, zone: ZoneInfo, *, limit: int = 10_000) -> int:
    """Recount the meters marked stale (up to `limit` of them), each in its own transaction.

    A meter another refresher is recounting right now is left to it (a transaction-scoped advisory lock per
    meter): refreshers may run in every API process at once, and a cancelled one leaves no lock behind.

    Returns:
        How many meters this call recounted.

    Raises:
        ZoneMismatch: the roll-up counts in another zone; `yiwang energy rebuild` recounts it.
    """
    async with pool.connection() as conn:
        await _check_zone(conn, zone)
        stale = await CONSUMPTION.listed(conn, limit)
        await conn.commit()
        done = 0
        for meter_id in stale:
            done += await _refresh_meter(conn, zone, meter_id)
        return done


async def pending(pool: AsyncConnectionPool) -> int:
    """How many meters are marked stale."""
    async with pool.connection() as conn:
        return await CONSUMPTION.pending(conn)


async def rebuild(pool: AsyncConnectionPool, zone: ZoneInfo) -> int:
    """Recount every meter from its first reading, in `zone` (after a zone change, or to check).

    Returns:
        How many meters were recomputed.
    """
    async with pool.connection() as conn, conn.transaction():
        await conn.execute(
            """INSERT INTO consumption_zone (zone) VALUES (%s)
               ON CONFLICT (only_row) DO UPDATE SET zone = EXCLUDED.zone""",
            (zone.key,),
        )
        await CONSUMPTION.mark_all(conn)
    return await catch_up(pool, zone)


async def catch_up(pool: AsyncConnectionPool, zone: ZoneInfo) -> int:
    """Refresh until nothing is marked (what another process is recounting meanwhile included); returns how many
    meters this process recounted."""
    return await drain(lambda: refresh(pool, zone), lambda: pending(pool))


async def maintain(pool: AsyncConnectionPool, zone: ZoneInfo, every: float) -> None:
    """Refresh every `every` seconds until cancelled; a failure is logged and retried at the next turn."""
    await periodically(lambda: refresh(pool, zone), every, "consumption roll-up (meters)", refusals=(ZoneMismatch,))


async def _check_zone(conn: AsyncConnection, zone: ZoneInfo) -> None:
    cur = await conn.execute(
        """INSERT INTO consumption_zone (zone) VALUES (%s) ON CONFLICT (only_row) DO UPDATE
           SET zone = consumption_zone.zone RETURNING zone""",
        (zone.key,),
    )
    row = await cur.fetchone()
    if row is not None and row[0] != zone.key:
        raise ZoneMismatch(
            f"the consumption roll-up counts local days of {row[0]}, the setting says {zone.key}: "
            f"run `yiwang energy rebuild` to recount it in {zone.key}"
        )


async def _refresh_meter(conn: AsyncConnection, zone: ZoneInfo, meter_id: str) -> int:
    async with conn.transaction():
        since = await CONSUMPTION.claim(conn, meter_id)
        if since is None:
            return 0  # another refresher is recounting it, or has since it was listed
        cur = await conn.execute("SELECT multiplier, register_max, max_rate FROM meter WHERE id = %s", (meter_id,))
        facts = await cur.fetchone()
        if facts is None:  # no longer registered: nothing of it is counted
            for table in ("consumption_day", "consumption_month", "consumption_event"):
                await conn.execute(
                    sql.SQL("DELETE FROM {} WHERE meter_id = %s").format(sql.Identifier(table)), (meter_id,)
                )
        else:
            await _recount(conn, zone, meter_id, since, Meter(*facts))
    return 1


async def _recount(conn: AsyncConnection, zone: ZoneInfo, meter_id: str, since: datetime, meter: Meter) -> None:
    start = await _restart_point(conn, zone, meter_id, since)
    first_day, state = start if start is not None else (None, None)
    # Rows of their time and register: what the counters read of a reading.
    async with conn.cursor(row_factory=namedtuple_row) as cur:
        await cur.execute(
            "SELECT time, register FROM reading WHERE meter_id = %s AND time >= %s ORDER BY time",
            (meter_id, state.time if state is not None else "-infinity"),
        )
        readings = cast("list[Registered]", await cur.fetchall())
    counted, events = days(readings, meter, zone, state)
    if first_day is not None:
        counted = [d for d in counted if d.day >= first_day]
    await conn.execute(
        "DELETE FROM consumption_day WHERE meter_id = %s AND day >= %s",
        (meter_id, first_day if first_day is not None else date.min),
    )
    await conn.execute(
        'DELETE FROM consumption_event WHERE meter_id = %s AND "end" > %s',
        (meter_id, state.time if state is not None else "-infinity"),
    )
    await _write_days(conn, meter_id, counted)
    await _write_events(conn, meter_id, events)
    # Months from the first one touched: sums of the days just written and of the untouched days before them.
    month = first_day.replace(day=1) if first_day is not None else date.min
    await conn.execute("DELETE FROM consumption_month WHERE meter_id = %s AND month >= %s", (meter_id, month))
    await conn.execute(
        """INSERT INTO consumption_month (meter_id, month, amount, excluded, readings)
           SELECT meter_id, date_trunc('month', day)::date, sum(amount), sum(excluded), sum(readings)
           FROM consumption_day WHERE meter_id = %s AND day >= %s GROUP BY 1, 2""",
        (meter_id, month),
    )


async def _restart_point(
    conn: AsyncConnection, zone: ZoneInfo, meter_id: str, since: datetime
) -> tuple[date, State | None] | None:
    """The first day to recount and the state it starts from; None: recount the whole history.

    New readings from `since` on change the delta that ends at the first of them, whose start is the
    last reading before `since`: its day is recounted from that day's stored start.
    """
    cur = await conn.execute(
        "SELECT time FROM reading WHERE meter_id = %s AND time < %s ORDER BY time DESC LIMIT 1", (meter_id, since)
    )
    before = await cur.fetchone()
    if before is None:
        return None
    first_day = before[0].astimezone(zone).date()
    cur = await conn.execute(
        "SELECT start_time, start_baseline FROM consumption_day WHERE meter_id = %s AND day = %s",
        (meter_id, first_day),
    )
    stored = await cur.fetchone()
    if stored is None:
        return None  # never counted (or counted in pieces): count it all
    start_time, baseline = stored
    return first_day, (State(start_time, baseline) if start_time is not None else None)


async def _write_days(conn: AsyncConnection, meter_id: str, counted: Sequence[Day]) -> None:
    if not counted:
        return
    async with (
        conn.cursor() as cur,
        cur.copy(
            "COPY consumption_day (meter_id, day, amount, hours, excluded, readings, start_time, start_baseline) "
            "FROM STDIN"
        ) as copy,
    ):
        for d in counted:
            await copy.write_row(
                (
                    meter_id,
                    d.day,
                    decimal(d.amount),
                    [decimal(h) for h in d.hours],
                    decimal(d.excluded),
                    d.readings,
                    d.start.time if d.start is not None else None,
                    d.start.baseline if d.start is not None else None,
                )
            )


async def _write_events(conn: AsyncConnection, meter_id: str, events: Sequence[Delta]) -> None:
    if not events:
        return
    async with (
        conn.cursor() as cur,
        cur.copy('COPY consumption_event (meter_id, start, "end", change, before, after, amount) FROM STDIN') as copy,
    ):
        for e in events:
            await copy.write_row(
                (meter_id, e.start, e.end, e.change.value, decimal(e.before), decimal(e.after), decimal(e.amount))
            )
