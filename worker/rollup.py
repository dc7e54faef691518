"""The consumption roll-up: `consumption_day` kept equal to domain/counters.py over all readings.

The collector marks a meter stale from its earliest new reading on, in the transaction that stores
the readings (db/marks.py). `refresh` claims each mark and recomputes its meter from the last reading before
that point, in one transaction: the day holding that reading starts from the state stored with the day (the
last reading before its midnight and the baseline after it), so a late batch costs the days from its place
onward, not the meter's history.

Refreshers may run side by side (each worker runs `maintain`; `yiwang energy refresh|rebuild` runs one by
hand): a meter is recounted under a transaction-scoped advisory lock, which a second refresher skips, and which a
cancelled or killed refresher cannot leave behind.

A delta over a gap longer than `max_gap` (the energy_max_gap_days setting) is held, in no day: it is stored as a
`gap` event for staff, with its start, end and amount (domain/counters.py), until staff decide it: a gap they
decide to spread is shared out as the rules would (PUT /energy/gaps, api/energy/gaps.py).

A recount reads the meter's recorded replacements and its multiplier history with its readings; recording or
deleting a replacement, or a multiplier dated from a moment, marks the meter from that moment (db/registry.py's
`recount`), so the days before it keep their figures.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from db import consumption, retention
from db.marks import CONSUMPTION
from domain.counters import MAX_GAP, Meter, State, days
from worker.metrics import Metrics
from worker.turns import TOLD_TURN, Told, drain, periodically

log = logging.getLogger(__name__)

JOB = "consumption"  # the job's name in the worker's metrics and health


class ZoneMismatch(RuntimeError):
    """The roll-up was built in another zone than the one configured."""


async def refresh(
    pool: AsyncConnectionPool, zone: ZoneInfo, *, limit: int = 10_000, max_gap: timedelta = MAX_GAP
) -> int:
    """Recount the meters marked stale (up to `limit` of them), each in its own transaction.

    A meter another refresher is recounting right now is left to it (a transaction-scoped advisory lock per
    meter): refreshers may run in every worker at once, and a cancelled or killed one leaves no lock behind.

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
            done += await _refresh_meter(conn, zone, meter_id, max_gap)
        return done


async def pending(pool: AsyncConnectionPool) -> int:
    """How many meters are marked stale."""
    async with pool.connection() as conn:
        return await CONSUMPTION.pending(conn)


async def rebuild(
    pool: AsyncConnectionPool, zone: ZoneInfo, *, max_gap: timedelta = MAX_GAP, told: Told | None = None
) -> int:
    """Recount every meter from its first reading, in `zone` (after a zone change, or to check). Where retention
    dropped old readings, from the first day the stored readings can recount: the days before stay as counted.

    Returns:
        How many meters were recomputed.
    """
    async with pool.connection() as conn, conn.transaction():
        await consumption.set_zone(conn, zone.key)
        await CONSUMPTION.mark_all(conn)
    return await catch_up(pool, zone, max_gap=max_gap, told=told)


async def catch_up(
    pool: AsyncConnectionPool, zone: ZoneInfo, *, max_gap: timedelta = MAX_GAP, told: Told | None = None
) -> int:
    """Refresh until nothing is marked (what another process is recounting meanwhile included); returns how many
    meters this process recounted. `told` hears how many are done and left after each turn (of TOLD_TURN meters)."""
    limit = TOLD_TURN if told is not None else 10_000
    return await drain(lambda: refresh(pool, zone, limit=limit, max_gap=max_gap), lambda: pending(pool), told=told)


async def maintain(
    pool: AsyncConnectionPool,
    zone: ZoneInfo,
    every: float,
    *,
    max_gap: timedelta = MAX_GAP,
    metrics: Metrics | None = None,
) -> None:
    """Refresh every `every` seconds until cancelled; a failure is logged and retried at the next turn."""
    metrics = metrics or Metrics()

    async def turn() -> int:
        done = await refresh(pool, zone, max_gap=max_gap)
        metrics.backlog.labels(JOB).set(await pending(pool))
        return done

    await periodically(turn, every, JOB, metrics=metrics, refusals=(ZoneMismatch,))


async def _check_zone(conn: AsyncConnection, zone: ZoneInfo) -> None:
    stored = await consumption.stored_zone(conn, zone.key)
    if stored != zone.key:
        raise ZoneMismatch(
            f"the consumption roll-up counts local days of {stored}, the setting says {zone.key}: "
            f"run `yiwang energy rebuild` to recount it in {zone.key}"
        )


async def _refresh_meter(conn: AsyncConnection, zone: ZoneInfo, meter_id: str, max_gap: timedelta) -> int:
    async with conn.transaction():
        since = await CONSUMPTION.claim(conn, meter_id)
        if since is None:
            return 0  # another refresher is recounting it, or has since it was listed
        meter = await consumption.meter(conn, meter_id)
        if meter is None:  # no longer registered: nothing of it is counted
            await consumption.forget(conn, meter_id)
        else:
            await _recount(conn, zone, meter_id, since, meter, max_gap=max_gap)
    return 1


async def _recount(
    conn: AsyncConnection, zone: ZoneInfo, meter_id: str, since: datetime, meter: Meter, *, max_gap: timedelta
) -> None:
    start = await _within_stored_readings(conn, zone, meter_id, await _restart_point(conn, zone, meter_id, since))
    if start is _NOTHING:
        return
    first_day, state = start if start is not None else (None, None)
    readings = await consumption.readings(conn, meter_id, state.time if state is not None else None)
    spread = await consumption.spread_gaps(conn, meter_id)
    counted, events = days(
        readings,
        meter,
        zone,
        state,
        max_gap=max_gap,
        spread=spread,
        replacements=await consumption.replacements(conn, meter_id),
        multipliers=await consumption.multipliers(conn, meter_id),
    )
    if first_day is not None:
        counted = [d for d in counted if d.day >= first_day]
    await consumption.replace(
        conn,
        meter_id,
        first_day=first_day,
        start=state.time if state is not None else None,
        counted=counted,
        events=events,
    )


# `_within_stored_readings` found nothing it may recount.
_NOTHING = (date.min, None)


async def _within_stored_readings(
    conn: AsyncConnection, zone: ZoneInfo, meter_id: str, start: tuple[date, State | None] | None
) -> tuple[date, State | None] | None:
    """The restart point moved up so that the recount never reaches behind the readings retention keeps.

    Retention drops old chunks of `reading` (worker/retention.py) and records from when every reading is kept
    (`raw_horizon`); the days counted from older readings stay. A recount from before that (a rebuild, a recorded
    replacement or multiplier dated long ago, a late reading landing behind the horizon) would delete those days
    and count nothing, or nonsense, in their place. So it starts instead at the first counted day whose stored
    start is a reading from the horizon on, and the days before keep their figures. A meter that has no such day
    has nothing the kept readings could recount (`_NOTHING`). A meter none of whose days depend on older readings
    (one registered since) is recounted as ever.
    """
    kept_from = await retention.kept_from(conn, "reading")
    if kept_from is None:
        return start  # nothing was ever dropped
    reaches_behind = start is None or start[1] is None or start[1].time < kept_from
    if not reaches_behind or not await consumption.counted_behind(
        conn, meter_id, kept_from, kept_from.astimezone(zone).date()
    ):
        return start
    floor = await consumption.first_day_from(conn, meter_id, kept_from)
    if floor is None:
        log.warning("consumption roll-up: no kept reading of %s a recount could start from: kept as counted", meter_id)
        return _NOTHING
    return floor


async def _restart_point(
    conn: AsyncConnection, zone: ZoneInfo, meter_id: str, since: datetime
) -> tuple[date, State | None] | None:
    """The first day to recount and the state it starts from; None: recount the whole history.

    New readings from `since` on change the delta that ends at the first of them, and they may change how the
    delta before it was judged: that one ends at the last reading before `since`, and when it was a drop the
    reading after it decides whether it was a reset or a glitch (domain/counters.py). So the recount starts from
    the start of that earlier delta, the reading before the last one before `since`: its day is recounted from
    that day's stored start.
    """
    last = await consumption.last_reading_before(conn, meter_id, since)
    before = await consumption.last_reading_before(conn, meter_id, last) if last is not None else None
    if before is None:
        return None
    local = before.astimezone(zone)
    first_day = local.date()
    counted, state = await consumption.day_start(conn, meter_id, first_day)
    if not counted and local.time() == time(0):
        # A reading at midnight that was the last one closed the day before and opened no day of its own
        # (domain/counters.py): that day is recounted from its stored start.
        first_day -= timedelta(days=1)
        counted, state = await consumption.day_start(conn, meter_id, first_day)
    if not counted:
        return None  # never counted (or counted in pieces): count it all
    return first_day, state
