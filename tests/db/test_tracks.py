"""Packed hours of fixes (db/tracks.py): a track read from them holds exactly the stored fixes, late ones
included, before, while and after their hours are packed again."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from psycopg import AsyncConnection, sql
from psycopg_pool import AsyncConnectionPool

from db import ingest, tracks
from db.pool import open_pool
from domain.position import Position
from tests.support.registry import register_devices
from tests.support.rollups import settle_mileage
from tests.support.tracks import fix, two_days
from worker.mileage import Basis
from yiwang.settings import Settings

SETTLE = timedelta(minutes=10)


@pytest.fixture
async def pool(settings: Settings) -> AsyncIterator[AsyncConnectionPool[AsyncConnection]]:
    async with open_pool(settings.database_url, max_size=3, configure=ingest.prepare_connection) as p:
        yield p


async def store(pool: AsyncConnectionPool[AsyncConnection], vehicle: str, fixes: Sequence[Position]) -> None:
    """As the collector stores them: the positions and their vehicle's mark, in one transaction."""
    async with pool.connection() as conn, conn.transaction():
        await ingest.insert_positions(conn, [f._replace(vehicle_id=vehicle) for f in fixes])


async def track(
    pool: AsyncConnectionPool[AsyncConnection], vehicle: str, start: datetime, end: datetime
) -> list[Position]:
    async with pool.connection() as conn:
        return (await tracks.read(conn, vehicle, start, end)).fixes()


async def packed_hours(pool: AsyncConnectionPool[AsyncConnection], vehicle: str) -> tuple[int, datetime | None]:
    """How many hours of the vehicle are packed, and up to when."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            """SELECT (SELECT count(*) FROM track_hour WHERE vehicle_id = %(v)s),
                      (SELECT until FROM track_packed WHERE vehicle_id = %(v)s)""",
            {"v": vehicle},
        )
        row = await cur.fetchone()
    assert row is not None
    return int(row[0]), row[1]


def expected(vehicle: str, fixes: Sequence[Position], start: datetime, end: datetime) -> list[Position]:
    """What the terminal sent with start <= time < end, in time order, as stored (times in UTC)."""
    return sorted(
        (
            f._replace(vehicle_id=vehicle, time=f.time.astimezone(UTC), received_at=f.received_at.astimezone(UTC))
            for f in fixes
        ),
        key=lambda f: f.time,
    )


def unreported(fixes: Sequence[Position]) -> list[Position]:
    """The fixes with speed, heading, odometer and ignition left out here and there, as optional figures are."""
    return [
        f._replace(
            speed=None if i % 2 else f.speed,
            heading=None if i % 3 else f.heading,
            odometer=None if i % 5 else f.odometer,
            ignition=None if i % 7 else f.ignition,
        )
        for i, f in enumerate(fixes)
    ]


@pytest.mark.parametrize("terminal", ["reported", "unreported"])
async def test_a_track_holds_the_stored_fixes_whether_its_hours_are_packed_or_not(
    pool: AsyncConnectionPool[AsyncConnection], settings: Settings, tag: str, terminal: str
) -> None:
    [vehicle] = (await register_devices(settings.database_url, tag, meters=0, vehicles=1)).vehicles
    # A figure the terminal did not report is read back as None, packed or not (NaN and the byte 2 when packed).
    fixes = two_days() if terminal == "reported" else unreported(two_days())
    await store(pool, vehicle, fixes)
    first, last = fixes[0].time, fixes[-1].time
    # Ranges that begin and end inside hours, and one that holds the whole.
    ranges = [(first, last + timedelta(seconds=1)), (first + timedelta(minutes=97), last - timedelta(minutes=611))]
    unpacked = [await track(pool, vehicle, start, end) for start, end in ranges]
    for (start, end), found in zip(ranges, unpacked, strict=True):
        assert found == expected(vehicle, [f for f in fixes if start <= f.time < end], start, end)
    assert await packed_hours(pool, vehicle) == (0, None)

    assert await tracks.pack(pool, SETTLE) > 0
    hours, until = await packed_hours(pool, vehicle)
    # Every hour with a fix, up to the last whole hour before now less the settling time.
    assert hours == len({f.time.astimezone(UTC).replace(minute=0, second=0, microsecond=0) for f in fixes})
    assert until is not None
    assert until > last
    assert [await track(pool, vehicle, start, end) for start, end in ranges] == unpacked


async def test_a_late_fix_in_a_packed_hour_is_in_the_track_at_once_and_its_hour_is_packed_again(
    pool: AsyncConnectionPool[AsyncConnection], settings: Settings, tag: str
) -> None:
    [vehicle] = (await register_devices(settings.database_url, tag, meters=0, vehicles=1)).vehicles
    fixes = two_days()
    await store(pool, vehicle, fixes)
    await settle_mileage(pool, Basis.of(settings), [vehicle])  # the mark of the days' own positions is claimed
    await tracks.pack(pool, SETTLE)
    _, until = await packed_hours(pool, vehicle)
    start, end = fixes[0].time, fixes[-1].time + timedelta(seconds=1)

    # A blind-zone resend of a fix the terminal could not send at the time, five seconds after one stored.
    late = fixes[400]._replace(time=fixes[400].time + timedelta(seconds=5), blind=True, received_at=datetime.now(UTC))
    await store(pool, vehicle, [late])
    whole = expected(vehicle, [*fixes, late], start, end)
    # Its mark (written with it) keeps its hour and those after it out of the packed ones until they are packed again.
    assert await track(pool, vehicle, start, end) == whole

    # The mileage refresher claims the mark: the packed hours from the late fix's on are to be packed again.
    await settle_mileage(pool, Basis.of(settings), [vehicle])
    _, moved_back = await packed_hours(pool, vehicle)
    assert moved_back == late.time.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    assert await track(pool, vehicle, start, end) == whole

    await tracks.pack(pool, SETTLE)
    assert (await packed_hours(pool, vehicle))[1] == until
    assert await track(pool, vehicle, start, end) == whole


async def test_a_claim_waits_for_the_packer_holding_its_vehicle_and_moves_back_what_it_packed(
    pool: AsyncConnectionPool[AsyncConnection], settings: Settings, tag: str
) -> None:
    """A packer reads a vehicle's positions after locking it; a mark claimed meanwhile (of positions its read may
    have missed) must move `until` back after the packer has moved it forward, not before."""
    [vehicle] = (await register_devices(settings.database_url, tag, meters=0, vehicles=1)).vehicles
    fixes = two_days()
    await store(pool, vehicle, fixes)
    await tracks.pack(pool, SETTLE)
    late_hour = fixes[400].time.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    async with await AsyncConnection.connect(settings.database_url) as packer:
        # What a packer does: lock the vehicle, then (having read its positions) move its `until` forward.
        await packer.execute("SELECT until FROM track_packed WHERE vehicle_id = %s FOR NO KEY UPDATE", (vehicle,))
        await packer.execute(
            "UPDATE track_packed SET until = until + interval '1 hour' WHERE vehicle_id = %s", (vehicle,)
        )

        async def claim() -> None:
            async with pool.connection() as conn, conn.transaction():
                await tracks.unpack_from(conn, vehicle, fixes[400].time)

        claiming = asyncio.create_task(claim())
        await asyncio.sleep(0.5)
        assert not claiming.done()  # waiting for the packer
        await packer.commit()
        await asyncio.wait_for(claiming, 10)
    assert (await packed_hours(pool, vehicle))[1] == late_hour


def _relations(plan: dict[str, Any]) -> set[str]:
    """The relations a plan's nodes scan."""
    found = {plan["Relation Name"]} if "Relation Name" in plan else set()
    for child in plan.get("Plans", []):
        found |= _relations(child)
    return found


async def test_a_one_day_track_plans_only_the_chunks_of_its_day_however_long_the_history(
    pool: AsyncConnectionPool[AsyncConnection], settings: Settings, tag: str
) -> None:
    """Issue 19 (bench/growth): the read's lower bound on `position` is the packed limit, known only when the query
    runs, so its plan held every chunk before the range's end, and a one-day track planned longer the longer the
    history (90 ms at 60 days of 4-hour chunks). The range's own start, a constant, leaves the older chunks out."""
    [vehicle] = (await register_devices(settings.database_url, tag, meters=0, vehicles=1)).vehicles
    # Twenty days, a fix every two hours: 120 chunks of `position` hold them.
    fixes = [fix(i * 7200.0, i * 10.0)._replace(vehicle_id=vehicle) for i in range(12 * 20)]
    await store(pool, vehicle, fixes)
    start, end = fixes[-12].time, fixes[-1].time + timedelta(seconds=1)
    assert await track(pool, vehicle, start, end) == expected(vehicle, fixes[-12:], start, end)

    async with pool.connection() as conn:
        cur = await conn.execute(
            "EXPLAIN (FORMAT JSON) " + tracks._READ,  # the statement `read` runs
            {"vehicle": vehicle, "start": start, "end": end},
        )
        row = await cur.fetchone()
        assert row is not None
        [plan] = row[0]
        cur = await conn.execute(
            """SELECT chunk_name, range_start < %(end)s AND range_end > %(start)s FROM timescaledb_information.chunks
               WHERE hypertable_name = 'position' AND chunk_name = ANY(%(planned)s)""",
            {"start": start, "end": end, "planned": sorted(_relations(plan["Plan"]))},
        )
        planned: dict[str, bool] = dict(await cur.fetchall())
    assert planned, "the plan reads no chunk of position"
    assert [name for name, of_the_range in planned.items() if not of_the_range] == []


@pytest.fixture
async def impatient(settings: Settings) -> AsyncIterator[AsyncConnectionPool[AsyncConnection]]:
    """A pool whose connections give up on a lock after a few seconds rather than wait for it."""

    async def configure(conn: AsyncConnection) -> None:
        await conn.execute("SET lock_timeout = '3s'")
        await conn.commit()

    async with open_pool(settings.database_url, max_size=1, configure=configure) as p:
        yield p


async def test_a_packing_turn_reads_no_chunk_whose_hours_are_packed(
    pool: AsyncConnectionPool[AsyncConnection], impatient: AsyncConnectionPool[AsyncConnection], settings: Settings,
    tag: str,
) -> None:  # fmt: skip
    """Issue 19 (bench/growth): the packer bounded each vehicle's fixes by its `until`, a column, so every turn scanned
    every chunk of `position` before the hour it packs, the whole history, to find the new hours' fixes (4 s a turn
    with nothing to pack at 60 days of 100 vehicles). Held here as what a turn touches: it packs a new hour while an
    old chunk, whose hours are packed, is locked away (as retention's drop_chunks locks one)."""
    [vehicle] = (await register_devices(settings.database_url, tag, meters=0, vehicles=1)).vehicles
    # Five days a year before the other tests' days, a fix every two hours; packed up to two days later.
    year = timedelta(days=400)
    old = [f._replace(vehicle_id=vehicle, time=f.time - year, received_at=f.received_at - year)
           for f in (fix(i * 7200.0, i * 10.0) for i in range(12 * 5))]  # fmt: skip
    await store(pool, vehicle, old)
    packed_to = old[-1].time + timedelta(days=2)
    await tracks.pack(pool, timedelta(0), now=packed_to)
    # Then an hour of new fixes, every ten minutes.
    new = [f._replace(time=packed_to + timedelta(minutes=10 * i)) for i, f in enumerate(old[:6])]
    await store(pool, vehicle, new)

    async with await AsyncConnection.connect(settings.database_url) as locker:
        cur = await locker.execute(
            """SELECT format('%%I.%%I', chunk_schema, chunk_name) FROM timescaledb_information.chunks
               WHERE hypertable_name = 'position' AND range_start <= %(t)s AND range_end > %(t)s""",
            {"t": old[0].time},
        )
        row = await cur.fetchone()
        assert row is not None
        await locker.execute(sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(sql.SQL(row[0])))
        assert await tracks.pack(impatient, timedelta(0), now=packed_to + timedelta(hours=2)) >= 1
        await locker.rollback()
    assert await packed_hours(pool, vehicle) == (len(old) + 1, packed_to + timedelta(hours=2))
    start, end = old[0].time, packed_to + timedelta(hours=1)
    assert await track(pool, vehicle, start, end) == expected(vehicle, [*old, *new], start, end)
