"""`yiwang worker`: the roll-ups out of the API, shared by several workers, and safe against a worker killed in the
middle of a recount (worker/turns.py says how)."""

from __future__ import annotations

import asyncio
import signal
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import psycopg

from db.pool import open_pool
from tests.support.registry import register_devices
from tests.support.rollups import ZONE, settle
from tests.support.waiting import count, eventually
from tests.support.worker import done, store_readings, turns, worker_process
from worker import rollup
from yiwang.settings import Settings


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=ZONE)


def amounts(url: str, meters: list[str]) -> dict[str, list[tuple[date, Decimal]]]:
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT meter_id, day, amount FROM consumption_day WHERE meter_id = ANY(%s) ORDER BY meter_id, day",
            (meters,),
        ).fetchall()
    found: dict[str, list[tuple[date, Decimal]]] = {m: [] for m in meters}
    for meter_id, day, amount in rows:
        found[meter_id].append((day, amount))
    return found


def marked(url: str, meters: list[str]) -> int:
    return count(url, "SELECT count(*) FROM consumption_stale WHERE meter_id = ANY(%s)", (meters,))


async def test_two_workers_at_once_recount_each_meter_once_and_count_each_day_once(
    settings: Settings, tag: str, tmp_path: Path
) -> None:
    devices = await register_devices(settings.database_url, tag, meters=40, vehicles=0)
    meters = devices.meters
    # What earlier tests left marked is counted first: what the two workers do below is this test's alone.
    async with open_pool(settings.database_url, max_size=1) as pool:
        await rollup.catch_up(pool, ZONE)
    first, received = date(2026, 11, 1), datetime.now(UTC)
    rows = [
        (meter_id, midnight(first + timedelta(days=n)), 10.0 + n * (i + 1), received)
        for i, meter_id in enumerate(meters)
        for n in range(10)
    ]
    with (
        worker_process(settings, tmp_path / "a.log") as (_, port_a),
        worker_process(settings, tmp_path / "b.log") as (_, port_b),
    ):
        before = done(port_a, "consumption") + done(port_b, "consumption")
        await store_readings(settings.database_url, rows)  # one transaction: both workers find 40 marks at once
        await eventually(lambda: marked(settings.database_url, meters) == 0, 60)
        # Each worker's turn under way ends, and one more after it: what they did is all counted.
        taken = {port: turns(port, "consumption") for port in (port_a, port_b)}
        await eventually(lambda: all(turns(port, "consumption") >= n + 2 for port, n in taken.items()), 30)
        recounted = done(port_a, "consumption") + done(port_b, "consumption") - before
    assert recounted == len(meters)
    counted = amounts(settings.database_url, meters)
    for i, meter_id in enumerate(meters):
        assert counted[meter_id] == [(first + timedelta(days=n), Decimal(i + 1)) for n in range(9)]


async def test_a_worker_killed_mid_recount_leaves_no_half_day_and_the_next_one_finishes(
    settings: Settings, tag: str, tmp_path: Path
) -> None:
    url = settings.database_url
    meter = (await register_devices(url, tag, meters=1, vehicles=0)).meters[0]
    first, received = date(2026, 10, 1), datetime.now(UTC)
    # 90 over nine days, shared out: 10 a day.
    await store_readings(
        url, [(meter, midnight(first), 10.0, received), (meter, midnight(first + timedelta(9)), 100.0, received)]
    )
    async with open_pool(url, max_size=1) as pool:
        await settle(pool, [meter])
    counted = amounts(url, [meter])[meter]
    assert [a for _, a in counted] == [Decimal(10)] * 9
    # A late reading: 70 on the first day, 20 over the eight after.
    await store_readings(url, [(meter, midnight(first + timedelta(1)), 80.0, received)])
    async with await psycopg.AsyncConnection.connect(url) as holder:
        # The month's row, which a recount rewrites after the days: the worker waits there, its days written in its
        # transaction but not committed.
        await holder.execute("SELECT 1 FROM consumption_month WHERE meter_id = %s FOR UPDATE", (meter,))
        pid = holder.info.backend_pid
        with worker_process(settings, tmp_path / "killed.log") as (process, _):
            blocked = "SELECT count(*) FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))"
            await eventually(lambda: count(url, blocked, (pid,)) == 1, 60)
            process.send_signal(signal.SIGKILL)
            await asyncio.to_thread(process.wait, 30)
        assert amounts(url, [meter])[meter] == counted
        await holder.rollback()
    # Its transaction goes with its connection: the mark comes back, the days are as they were.
    await eventually(lambda: count(url, blocked, (pid,)) == 0 and marked(url, [meter]) == 1, 30)
    assert amounts(url, [meter])[meter] == counted
    with worker_process(settings, tmp_path / "next.log"):
        await eventually(lambda: marked(url, [meter]) == 0, 60)
    assert [a for _, a in amounts(url, [meter])[meter]] == [Decimal(70)] + [Decimal("2.5")] * 8
