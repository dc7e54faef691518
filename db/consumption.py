"""SQL of the consumption roll-up: `consumption_day` (per meter and local day: amount, hours, excluded, readings, the
state a recount of the day starts from, and what the readings counted of a day staff corrected: `apply_corrections`),
`consumption_month` (the days' sums per local month), `consumption_event` (the deltas that were not plain rises) and
`consumption_zone` (the zone of the local days), with the meter facts and readings a recount reads.
worker/rollup.py keeps them up to date; the stale marks are db/marks.py's `CONSUMPTION`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, cast

from psycopg import AsyncConnection, sql
from psycopg.rows import namedtuple_row

from db.marks import CONSUMPTION
from db.scope import Scope
from domain.corrections import corrected_hours
from domain.counters import Day, Delta, Meter, Multiplier, Registered, Replacement, State, decimal
from domain.registry import COUNTING_FIELDS


async def stored_zone(conn: AsyncConnection, zone: str) -> str:
    """The zone the roll-up counts local days in; this one, stored, when none was yet."""
    cur = await conn.execute(
        """INSERT INTO consumption_zone (zone) VALUES (%s) ON CONFLICT (only_row) DO UPDATE
           SET zone = consumption_zone.zone RETURNING zone""",
        (zone,),
    )
    row = await cur.fetchone()
    assert row is not None  # inserted or updated: returned either way
    stored: str = row[0]
    return stored


async def set_zone(conn: AsyncConnection, zone: str) -> None:
    """Count the roll-up in this zone from now on (a rebuild)."""
    await conn.execute(
        """INSERT INTO consumption_zone (zone) VALUES (%s)
           ON CONFLICT (only_row) DO UPDATE SET zone = EXCLUDED.zone""",
        (zone,),
    )


async def meter(conn: AsyncConnection, meter_id: str) -> Meter | None:
    """What the counters need of a registered meter; None when it is no longer registered."""
    columns = sql.SQL(", ").join(map(sql.Identifier, COUNTING_FIELDS))
    cur = await conn.execute(sql.SQL("SELECT {} FROM meter WHERE id = %s").format(columns), (meter_id,))
    facts = await cur.fetchone()
    return None if facts is None else Meter(*facts)


async def replacements(conn: AsyncConnection, meter_id: str) -> list[Replacement]:
    """The meter's recorded swaps (meter_replacement), in time order."""
    cur = await conn.execute(
        "SELECT time, old_final, new_first FROM meter_replacement WHERE meter_id = %s ORDER BY time", (meter_id,)
    )
    return [Replacement(*row) for row in await cur.fetchall()]


async def multipliers(conn: AsyncConnection, meter_id: str) -> list[Multiplier]:
    """The meter's multiplier history (meter_multiplier), in time order; none: meter.multiplier throughout."""
    cur = await conn.execute(
        "SELECT since, multiplier FROM meter_multiplier WHERE meter_id = %s ORDER BY since", (meter_id,)
    )
    return [Multiplier(*row) for row in await cur.fetchall()]


async def forget(conn: AsyncConnection, meter_id: str) -> None:
    """Delete whatever is counted of a meter (no longer registered)."""
    for table in ("consumption_day", "consumption_month", "consumption_event"):
        await conn.execute(sql.SQL("DELETE FROM {} WHERE meter_id = %s").format(sql.Identifier(table)), (meter_id,))


async def last_reading_before(conn: AsyncConnection, meter_id: str, before: datetime) -> datetime | None:
    """The time of the meter's last reading before `before`."""
    cur = await conn.execute(
        "SELECT time FROM reading WHERE meter_id = %s AND time < %s ORDER BY time DESC LIMIT 1", (meter_id, before)
    )
    row = await cur.fetchone()
    if row is None:
        return None
    time: datetime = row[0]
    return time


async def counted_behind(conn: AsyncConnection, meter_id: str, kept_from: datetime, first_day: date) -> bool:
    """Whether the meter has counted days made from readings that may have been dropped (before `kept_from`, whose
    local day is `first_day`): a day before that day, or one that starts from a reading before `kept_from`."""
    cur = await conn.execute(
        """SELECT EXISTS (SELECT 1 FROM consumption_day WHERE meter_id = %s AND (day < %s OR start_time < %s))""",
        (meter_id, first_day, kept_from),
    )
    row = await cur.fetchone()
    return bool(row and row[0])


async def first_day_from(conn: AsyncConnection, meter_id: str, kept_from: datetime) -> tuple[date, State] | None:
    """The meter's first counted day that starts from a reading at or after `kept_from`, with the state stored
    with it."""
    cur = await conn.execute(
        """SELECT day, start_time, start_baseline FROM consumption_day
           WHERE meter_id = %s AND start_time >= %s ORDER BY day LIMIT 1""",
        (meter_id, kept_from),
    )
    row = await cur.fetchone()
    return None if row is None else (row[0], State(row[1], row[2]))


async def day_start(conn: AsyncConnection, meter_id: str, day: date) -> tuple[bool, State | None]:
    """Whether the meter's day is counted, and the state stored with it: the last reading before its midnight and
    the baseline after it (None when there is no reading before the day, or the day is not counted)."""
    cur = await conn.execute(
        "SELECT start_time, start_baseline FROM consumption_day WHERE meter_id = %s AND day = %s",
        (meter_id, day),
    )
    stored = await cur.fetchone()
    if stored is None:
        return False, None
    start_time, baseline = stored
    return True, (State(start_time, baseline) if start_time is not None else None)


async def readings(conn: AsyncConnection, meter_id: str, start: datetime | None) -> list[Registered]:
    """The meter's readings from `start` on (None: all of them), in time order."""
    # Rows of their time and register: what the counters read of a reading.
    async with conn.cursor(row_factory=namedtuple_row) as cur:
        await cur.execute(
            "SELECT time, register FROM reading WHERE meter_id = %s AND time >= %s ORDER BY time",
            (meter_id, start if start is not None else "-infinity"),
        )
        return cast("list[Registered]", await cur.fetchall())


async def replace(
    conn: AsyncConnection,
    meter_id: str,
    *,
    first_day: date | None,
    start: datetime | None,
    counted: Sequence[Day],
    events: Sequence[Delta],
) -> None:
    """Replace the meter's days from `first_day` on and its events ending after `start` (None: all of either) with
    `counted` and `events`, and its months from `first_day`'s month on with the sums of its days."""
    await conn.execute(
        "DELETE FROM consumption_day WHERE meter_id = %s AND day >= %s",
        (meter_id, first_day if first_day is not None else date.min),
    )
    await conn.execute(
        'DELETE FROM consumption_event WHERE meter_id = %s AND "end" > %s',
        (meter_id, start if start is not None else "-infinity"),
    )
    await _write_days(conn, meter_id, counted)
    await _write_events(conn, meter_id, events)
    # Staff's corrections of the days just counted apply again: a recount never drops one.
    await apply_corrections(conn, meter_id, first_day if first_day is not None else date.min, date.max)
    # Months from the first one touched: sums of the days just written and of the untouched days before them.
    await sum_months(conn, meter_id, first_day.replace(day=1) if first_day is not None else date.min, date.max)


async def sum_months(conn: AsyncConnection, meter_id: str, first: date, end: date) -> None:
    """Make the meter's months [first, end) (first days of months) the sums of their days, with how many of those
    days are corrected."""
    await conn.execute(
        "DELETE FROM consumption_month WHERE meter_id = %s AND month >= %s AND month < %s", (meter_id, first, end)
    )
    await conn.execute(
        """INSERT INTO consumption_month (meter_id, month, amount, excluded, readings, corrected)
           SELECT meter_id, date_trunc('month', day)::date, sum(amount), sum(excluded), sum(readings), count(original)
           FROM consumption_day WHERE meter_id = %s AND day >= %s AND day < %s GROUP BY 1, 2""",
        (meter_id, first, end),
    )


async def apply_corrections(conn: AsyncConnection, meter_id: str, first: date, last: date) -> None:
    """Make the meter's counted days from `first` to `last` (both included) carry the corrections that apply to them
    (consumption_correction, not withdrawn): the correction in `amount` and `hours` (its hours in proportion to the
    counted ones: domain/corrections.py), what the readings counted in `original` and `original_hours`; a day whose
    correction was withdrawn gets back what its readings counted. A correction of a day not counted (no readings
    bracket it) waits, stored, for the day. The months are the caller's to sum again (`sum_months`)."""
    await conn.execute(
        """UPDATE consumption_day SET amount = original, hours = original_hours, original = NULL, original_hours = NULL
           WHERE meter_id = %s AND day >= %s AND day <= %s AND original IS NOT NULL""",
        (meter_id, first, last),
    )
    cur = await conn.execute(
        """SELECT d.day, d.amount, d.hours, c.amount FROM consumption_day d
           JOIN consumption_correction c ON c.meter_id = d.meter_id AND c.day = d.day AND c.withdrawn_at IS NULL
           WHERE d.meter_id = %s AND d.day >= %s AND d.day <= %s""",
        (meter_id, first, last),
    )
    for day, amount, hours, corrected in await cur.fetchall():
        shared = corrected_hours([_micros(h) for h in hours], _micros(corrected))
        await conn.execute(
            """UPDATE consumption_day SET original = %s, original_hours = %s, amount = %s, hours = %s
               WHERE meter_id = %s AND day = %s""",
            (amount, hours, corrected, [decimal(h) for h in shared], meter_id, day),
        )


def _micros(amount: Decimal) -> int:
    """A stored amount (millionths at most: domain/counters.py) as an integer of millionths."""
    return int(amount.scaleb(6))


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


async def spread_gaps(conn: AsyncConnection, meter_id: str) -> set[tuple[datetime, datetime]]:
    """The meter's gaps (start, end) that staff decided to share out."""
    cur = await conn.execute(
        """SELECT start, "end" FROM consumption_gap_decision WHERE meter_id = %s AND decision = 'spread'""",
        (meter_id,),
    )
    return {(start, end) for start, end in await cur.fetchall()}


async def gap_amount(
    conn: AsyncConnection, scope: Scope, meter_id: str, start: datetime, end: datetime
) -> Decimal | None:
    """What the meter's gap from `start` to `end` holds (or held when staff decided it); None when there is no such
    gap of a meter in the scope."""
    cur = await conn.execute(
        sql.SQL(
            """SELECT coalesce(
                   (SELECT amount FROM consumption_event
                    WHERE meter_id = %(m)s AND change = 'gap' AND start = %(s)s AND "end" = %(e)s),
                   (SELECT amount FROM consumption_gap_decision
                    WHERE meter_id = %(m)s AND start = %(s)s AND "end" = %(e)s))
               FROM meter m JOIN institution i ON i.id = m.institution_id WHERE m.id = %(m)s AND {}"""
        ).format(scope.condition("i.organisation_id")),
        {"m": meter_id, "s": start, "e": end},
    )
    row = await cur.fetchone()
    return None if row is None else cast("Decimal | None", row[0])


async def decide_gap(
    conn: AsyncConnection,
    meter_id: str,
    *,
    start: datetime,
    end: datetime,
    amount: Decimal,
    decision: str,
    note: str,
    user_id: int,
) -> tuple[Any, ...]:
    """Record (or replace) staff's decision on a gap and mark the meter to be recounted from the gap's end; returns
    the decision's row (meter_id, start, end, amount, decision, note, decided_by, decided_at)."""
    cur = await conn.execute(
        """INSERT INTO consumption_gap_decision (meter_id, start, "end", amount, decision, note, decided_by)
           VALUES (%s, %s, %s, %s, %s, %s, %s)
           ON CONFLICT (meter_id, start, "end") DO UPDATE SET decision = EXCLUDED.decision, note = EXCLUDED.note,
               decided_by = EXCLUDED.decided_by, decided_at = now()
           RETURNING meter_id, start, "end", amount, decision, note, decided_by, decided_at""",
        (meter_id, start, end, amount, decision, note, user_id),
    )
    row = await cur.fetchone()
    assert row is not None  # inserted or updated: returned either way
    await CONSUMPTION.mark(conn, {meter_id: end})
    return row


async def gap_decisions(conn: AsyncConnection, scope: Scope, meter_id: str | None) -> list[tuple[Any, ...]]:
    """Staff's decisions on gaps of meters in the scope (of one meter, or all), latest first, at most 10,000: rows as
    `decide_gap` returns them."""
    meter = sql.SQL("TRUE") if meter_id is None else sql.SQL("d.meter_id = {}").format(sql.Literal(meter_id))
    cur = await conn.execute(
        sql.SQL(
            """SELECT d.meter_id, d.start, d."end", d.amount, d.decision, d.note, d.decided_by, d.decided_at
               FROM consumption_gap_decision d JOIN meter m ON m.id = d.meter_id
               JOIN institution i ON i.id = m.institution_id
               WHERE {} AND {} ORDER BY d.decided_at DESC, d.meter_id LIMIT 10000"""
        ).format(meter, scope.condition("i.organisation_id"))
    )
    return list(await cur.fetchall())
