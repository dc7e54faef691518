"""The consumption roll-up in the database: late and out-of-order batches bring it to what the rules say."""

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
from domain.reading import Reading
from tests.support.registry import register_devices
from tests.support.rollups import settle
from worker import rollup
from yiwang.settings import Settings

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
async def pool(settings: Settings) -> AsyncIterator[AsyncConnectionPool[AsyncConnection]]:
    async with open_pool(settings.database_url, max_size=2, configure=ingest.prepare_connection) as p:
        yield p


def stream(rng: random.Random, start: datetime, count: int, top: float | None) -> list[Reading]:
    """A meter's history: mostly 15-minute rises, with gaps, jitter, a reset, rollovers and a spike (of a meter
    that these tests name when they store it)."""
    t, value = start, rng.uniform(0, 500)
    out = [Reading("m", t, value, t)]
    for _ in range(count):
        t += timedelta(minutes=15) if rng.random() < 0.9 else timedelta(hours=rng.uniform(1, 50))
        step = rng.choices(["rise", "jitter", "reset", "roll", "spike"], [80, 8, 2, 2, 1])[0]
        if step == "rise":
            value += rng.uniform(0, 20)
        elif step == "jitter":
            value *= 0.97
        elif step == "reset":
            value = rng.uniform(0, 5)
        elif step == "roll" and top is not None:
            value = top - rng.uniform(0, 50)
            out.append(Reading("m", t, value, t))
            t += timedelta(minutes=15)
            value = rng.uniform(0, 20)
        elif step == "spike":
            value += 50_000
        out.append(Reading("m", t, min(value, top) if top is not None else value, t))
    return out


async def stored_days(pool: AsyncConnectionPool[AsyncConnection], meter_id: str) -> list[tuple[object, ...]]:
    async with pool.connection() as conn:
        cur = await conn.execute(
            """SELECT day, amount, hours, excluded, readings FROM consumption_day WHERE meter_id = %s ORDER BY day""",
            (meter_id,),
        )
        return list(await cur.fetchall())


def expected_days(readings: list[Reading], meter: Meter) -> list[tuple[object, ...]]:
    counted, _ = days(readings, meter, SHANGHAI)
    return [(d.day, decimal(d.amount), [decimal(h) for h in d.hours], decimal(d.excluded), d.readings) for d in counted]


@pytest.mark.parametrize("seed", range(4))
async def test_batches_in_any_order_leave_the_roll_up_equal_to_the_rules_over_all_readings(
    pool: AsyncConnectionPool[AsyncConnection], settings: Settings, tag: str, seed: int
) -> None:
    rng = random.Random(seed)
    devices = await register_devices(settings.database_url, f"{tag}{seed}", meters=1, vehicles=0)
    meter_id = devices.meters[0]
    top = rng.choice([None, 100_000.0])
    meter = Meter(multiplier=rng.choice([1.0, 40.0, 0.5]), register_max=top, max_rate=10_000.0)
    async with pool.connection() as conn:
        await conn.execute(
            "UPDATE meter SET multiplier = %s, register_max = %s, max_rate = %s WHERE id = %s",
            (meter.multiplier, meter.register_max, meter.max_rate, meter_id),
        )
    readings = stream(rng, datetime(2026, 1, 1, tzinfo=UTC), 1500, top)
    # Live data in order, with blind-zone and backfill batches arriving late and shuffled.
    batches: list[list[Reading]] = []
    i = 0
    while i < len(readings):
        size = rng.choice([1, 4, 30, 200])
        batches.append(readings[i : i + size])
        i += size
    late = rng.sample(range(len(batches)), k=len(batches) // 4)
    order = [b for n, b in enumerate(batches) if n not in late] + [batches[n] for n in late]
    received = datetime.now(UTC)
    arrived: list[Reading] = []
    for n, batch in enumerate(order):
        async with pool.connection() as conn, conn.transaction():
            await ingest.insert_readings(conn, [(meter_id, r.time, r.register, received) for r in batch])
        arrived.extend(batch)
        if n % 7 == 0 or n == len(order) - 1:
            await settle(pool, [meter_id])
            assert await stored_days(pool, meter_id) == expected_days(arrived, meter)
    # A redelivered batch changes nothing.
    async with pool.connection() as conn, conn.transaction():
        await ingest.insert_readings(conn, [(meter_id, r.time, r.register, received) for r in order[0]])
    await settle(pool, [meter_id])
    assert await stored_days(pool, meter_id) == expected_days(readings, meter)
    # Months are the sums of their days, kept with them.
    by_month: dict[object, Decimal] = {}
    for day, amount, *_ in expected_days(readings, meter):
        key = day.replace(day=1)  # type: ignore[attr-defined]
        by_month[key] = by_month.get(key, Decimal(0)) + amount  # type: ignore[operator]
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT month, amount FROM consumption_month WHERE meter_id = %s ORDER BY month", (meter_id,)
        )
        assert dict(await cur.fetchall()) == by_month


async def test_rollovers_resets_jitter_and_implausible_deltas_are_listed_for_data_quality(
    pool: AsyncConnectionPool[AsyncConnection], settings: Settings, tag: str
) -> None:
    devices = await register_devices(settings.database_url, tag, meters=1, vehicles=0)
    meter_id = devices.meters[0]
    async with pool.connection() as conn:
        await conn.execute("UPDATE meter SET register_max = 10000, max_rate = 100 WHERE id = %s", (meter_id,))
    t0 = datetime(2026, 3, 1, tzinfo=SHANGHAI)
    values = [9_950.0, 9_990.0, 20.0, 19.0, 60.0, 3.0, 9_000.0, 9_010.0]  # roll, jitter, rise, reset, spike, rise
    received = datetime.now(UTC)
    async with pool.connection() as conn, conn.transaction():
        await ingest.insert_readings(
            conn, [(meter_id, t0 + timedelta(hours=h), v, received) for h, v in enumerate(values)]
        )
    await settle(pool, [meter_id])
    async with pool.connection() as conn:
        cur = await conn.execute(
            'SELECT change, before, after, amount FROM consumption_event WHERE meter_id = %s ORDER BY "end"',
            (meter_id,),
        )
        events = await cur.fetchall()
        cur = await conn.execute(
            "SELECT sum(amount), sum(excluded) FROM consumption_day WHERE meter_id = %s", (meter_id,)
        )
        totals = await cur.fetchone()
    assert events == [
        ("rollover", Decimal("9990"), Decimal("20"), Decimal("30")),
        ("jitter", Decimal("20"), Decimal("19"), Decimal("0")),
        ("reset", Decimal("60"), Decimal("3"), Decimal("3")),
        ("implausible", Decimal("3"), Decimal("9000"), Decimal("8997")),
    ]
    # 40 + 30 (rollover) + 40 (from 20, the baseline the jitter kept) + 3 (reset) + 10
    assert totals == (Decimal("123"), Decimal("8997"))


async def test_a_roll_up_built_in_another_zone_is_refused_until_rebuilt(
    pool: AsyncConnectionPool[AsyncConnection],
) -> None:
    with pytest.raises(rollup.ZoneMismatch, match="yiwang energy rebuild"):
        await rollup.refresh(pool, ZoneInfo("Europe/Paris"))


def test_the_zone_setting_must_name_a_zone() -> None:
    with pytest.raises(ValueError, match="IANA"):
        Settings(time_zone="Asia/Shangai")


async def test_a_rebuild_recounts_every_meter_and_leaves_the_roll_up_as_it_was(
    pool: AsyncConnectionPool[AsyncConnection], settings: Settings, tag: str
) -> None:
    devices = await register_devices(settings.database_url, tag, meters=1, vehicles=0)
    meter_id = devices.meters[0]
    readings = stream(random.Random(7), datetime(2026, 2, 1, tzinfo=UTC), 300, None)
    async with pool.connection() as conn, conn.transaction():
        await ingest.insert_readings(conn, [(meter_id, r.time, r.register, datetime.now(UTC)) for r in readings])
    await settle(pool, [meter_id])
    before = await stored_days(pool, meter_id)
    async with pool.connection() as conn:
        await conn.execute("DELETE FROM consumption_day WHERE meter_id = %s", (meter_id,))
        await conn.commit()
    assert await rollup.rebuild(pool, SHANGHAI) >= 1
    assert await stored_days(pool, meter_id) == before == expected_days(readings, Meter())
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT count(*) FROM consumption_stale WHERE meter_id = %s", (meter_id,))
        assert await cur.fetchone() == (0,)


async def test_a_last_reading_at_midnight_stores_no_day_after_it_until_a_later_reading_brackets_it(
    pool: AsyncConnectionPool[AsyncConnection], settings: Settings, tag: str
) -> None:
    devices = await register_devices(settings.database_url, f"{tag}mid", meters=1, vehicles=0)
    meter_id = devices.meters[0]
    day0 = datetime(2025, 12, 30, tzinfo=SHANGHAI)
    # Read at every local midnight up to the new year's: the year 2026 has no reading after its first instant.
    readings = [Reading(meter_id, day0 + timedelta(days=n), 100.0 + 10 * n, day0) for n in range(3)]
    received = datetime.now(UTC)

    async def store(batch: list[Reading]) -> None:
        async with pool.connection() as conn, conn.transaction():
            await ingest.insert_readings(conn, [(meter_id, r.time, r.register, received) for r in batch])
        await settle(pool, [meter_id])

    await store(readings)
    stored = await stored_days(pool, meter_id)
    assert [row[0] for row in stored] == [day0.date(), (day0 + timedelta(days=1)).date()]  # no 2026-01-01 of 0
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT month FROM consumption_month WHERE meter_id = %s ORDER BY month", (meter_id,))
        assert [row[0].year for row in await cur.fetchall()] == [2025]
    # The next reading brackets the new year's day: it is counted then, and the roll-up is the rules' count.
    later = [*readings, Reading(meter_id, day0 + timedelta(days=2, hours=6), 125.0, day0)]
    await store(later[-1:])
    assert await stored_days(pool, meter_id) == expected_days(later, Meter())
    assert (await stored_days(pool, meter_id))[-1][1] == Decimal(5)
