"""A transient zero in the database roll-up: counted as a reset while it is the last reading, skipped as a glitch once
the next reading comes back to the old baseline, and a reset for good when the next readings continue from it."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from db import ingest
from db.pool import open_pool
from domain.counters import Meter, days, decimal
from tests.support.registry import register_devices
from tests.support.rollups import settle
from yiwang.settings import Settings

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 4, 1, 8, tzinfo=SHANGHAI)


@pytest.fixture
async def pool(settings: Settings) -> AsyncIterator[AsyncConnectionPool[AsyncConnection]]:
    async with open_pool(settings.database_url, max_size=2, configure=ingest.prepare_connection) as p:
        yield p


async def arrive(pool: AsyncConnectionPool[AsyncConnection], meter_id: str, *values: tuple[float, float]) -> None:
    """Store readings (hours after T0, register) as one batch and bring the roll-up up to date."""
    received = datetime.now(UTC)
    async with pool.connection() as conn, conn.transaction():
        await ingest.insert_readings(conn, [(meter_id, T0 + timedelta(hours=h), v, received) for h, v in values])
    await settle(pool, [meter_id])


async def counted(pool: AsyncConnectionPool[AsyncConnection], meter_id: str) -> tuple[Decimal, list[str]]:
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT sum(amount) FROM consumption_day WHERE meter_id = %s", (meter_id,))
        row = await cur.fetchone()
        assert row is not None
        cur = await conn.execute('SELECT change FROM consumption_event WHERE meter_id = %s ORDER BY "end"', (meter_id,))
        return row[0], [change for (change,) in await cur.fetchall()]


async def test_14000_then_0_then_14002_counts_2_kwh_as_the_readings_arrive(
    pool: AsyncConnectionPool[AsyncConnection], settings: Settings, tag: str
) -> None:
    meter_id = (await register_devices(settings.database_url, tag, meters=1, vehicles=0)).meters[0]
    await arrive(pool, meter_id, (0, 14_000.0))
    await arrive(pool, meter_id, (1, 0.0))
    # The last reading yet: a reset until the next one says otherwise (a reset to 0 counts 0).
    assert await counted(pool, meter_id) == (Decimal(0), ["reset"])
    await arrive(pool, meter_id, (2, 14_002.0))
    assert await counted(pool, meter_id) == (Decimal(2), ["glitch"])
    await arrive(pool, meter_id, (3, 14_010.0))
    assert await counted(pool, meter_id) == (Decimal(10), ["glitch"])


async def test_14000_then_0_3_7_is_a_reset_and_counts_7_whichever_order_the_readings_arrive_in(
    pool: AsyncConnectionPool[AsyncConnection], settings: Settings, tag: str
) -> None:
    meter_id = (await register_devices(settings.database_url, tag, meters=1, vehicles=0)).meters[0]
    await arrive(pool, meter_id, (0, 14_000.0), (3, 7.0))
    await arrive(pool, meter_id, (1, 0.0))
    await arrive(pool, meter_id, (2, 3.0))
    assert await counted(pool, meter_id) == (Decimal(7), ["reset"])


async def test_a_late_reading_between_a_drop_and_its_return_decides_the_drop_again(
    pool: AsyncConnectionPool[AsyncConnection], settings: Settings, tag: str
) -> None:
    meter_id = (await register_devices(settings.database_url, tag, meters=1, vehicles=0)).meters[0]
    # 14,000 -> 0 -> 14,002 across midnights: a glitch, 2 counted.
    await arrive(pool, meter_id, (0, 14_000.0), (20, 0.0), (40, 14_002.0))
    assert await counted(pool, meter_id) == (Decimal(2), ["glitch"])
    # A late reading shows the meter was reset after all and counted on from 0 (the 14,002 is then a jump that
    # the rules count as a rise, 14,002 - 5).
    await arrive(pool, meter_id, (30, 5.0))
    assert await counted(pool, meter_id) == (Decimal(14_002), ["reset"])


async def by_day(pool: AsyncConnectionPool[AsyncConnection], meter_id: str) -> dict[str, Decimal]:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT day::text, amount FROM consumption_day WHERE meter_id = %s ORDER BY day", (meter_id,)
        )
        return {day: amount for day, amount in await cur.fetchall()}


def counted_whole(values: list[tuple[float, float]]) -> dict[str, Decimal]:
    """Each day as the rules count the whole history at once (domain/counters.py, the definition)."""

    class Read:
        def __init__(self, hours: float, register: float) -> None:
            self.time = T0 + timedelta(hours=hours)
            self.register = register

    counted, _ = days([Read(h, v) for h, v in values], Meter(), SHANGHAI)
    return {d.day.isoformat(): decimal(d.amount) for d in counted}


async def test_a_drop_judged_a_glitch_by_the_next_reading_recounts_the_day_before_it(
    pool: AsyncConnectionPool[AsyncConnection], settings: Settings, tag: str
) -> None:
    """The delta that ends at a drop can start the day before: when the next reading makes the drop a glitch, that
    day loses what the drop had counted as a reset, though no new reading is in it."""
    meter_id = (await register_devices(settings.database_url, tag, meters=1, vehicles=0)).meters[0]
    # 12:00 990, 23:30 1,000 on 1 April; 00:30 400 on 2 April (a reset for now), then 01:30 1,001.
    await arrive(pool, meter_id, (4, 990.0))
    await arrive(pool, meter_id, (15.5, 1_000.0))
    await arrive(pool, meter_id, (16.5, 400.0))
    await arrive(pool, meter_id, (17.5, 1_001.0))
    assert (await by_day(pool, meter_id))["2026-04-01"] == Decimal(10)


async def test_readings_arriving_one_at_a_time_count_as_the_whole_history_does(
    pool: AsyncConnectionPool[AsyncConnection], settings: Settings, tag: str
) -> None:
    """Rises, transient lows and resets a few hours apart across midnights, each reading settled as it arrives:
    every day stored is the day the rules count from the whole history."""
    meter_id = (await register_devices(settings.database_url, tag, meters=1, vehicles=0)).meters[0]
    rng = random.Random(15)
    register, hours, values = 10_000.0, 0.0, []
    for _ in range(60):
        hours += rng.choice((4.0, 9.5, 16.0))  # many deltas span a midnight
        if rng.random() < 0.3:
            values.append((hours, round(register * rng.uniform(0.2, 0.6), 1)))  # a transient low or a reset
            if rng.random() < 0.5:
                register = values[-1][1]  # the next readings continue from it: a reset
            continue
        register = round(register + rng.uniform(0, 30), 1)
        values.append((hours, register))
    for value in values:
        await arrive(pool, meter_id, value)
    assert await by_day(pool, meter_id) == counted_whole(values)
