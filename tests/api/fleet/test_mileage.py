"""The mileage roll-up: kilometres per vehicle and local day from positions, the same whatever order they arrive in.

Days are driven by hand along a street that runs due north (tests/support/tracks.py's `Day`): the odometer comes in
0.1 km and every drive is a whole number of kilometres, so the figures below are exact.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import os
import random
import subprocess
import sys
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from db import ingest
from db.pool import open_pool
from domain.position import Position
from domain.track import TrackRules, clean
from domain.trips import trips
from tests.support.registry import register_devices
from tests.support.rollups import settle_mileage
from tests.support.tracks import MONDAY, SHANGHAI, of_vehicle, two_days, two_drives
from worker import mileage
from worker.mileage import Basis, BasisMismatch
from yiwang.settings import Settings

Row = tuple[object, ...]


# ---------------------------------------------------------------------------------------------------------------
# The roll-up in the database


@pytest.fixture
async def pool(settings: Settings) -> AsyncIterator[AsyncConnectionPool[AsyncConnection]]:
    async with open_pool(settings.database_url, max_size=2, configure=ingest.prepare_connection) as p:
        yield p


@pytest.fixture
def basis(settings: Settings) -> Basis:
    return Basis.of(settings)


async def insert(pool: AsyncConnectionPool[AsyncConnection], batch: Sequence[Position]) -> None:
    async with pool.connection() as conn, conn.transaction():
        await ingest.insert_positions(conn, batch)


async def stored(pool: AsyncConnectionPool[AsyncConnection], vehicle: str) -> tuple[list[Row], list[Row]]:
    """The vehicle's trips and days, without its id."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            """SELECT start_time, end_time, day, distance_km, distance_source, max_speed, fixes
               FROM mileage_trip WHERE vehicle_id = %s ORDER BY start_time""",
            (vehicle,),
        )
        found = list(await cur.fetchall())
        cur = await conn.execute(
            """SELECT day, km, odometer_km, trips, moving_seconds, max_speed, fixes, first_fix, last_fix, first_rest,
                      last_rest
               FROM mileage_day WHERE vehicle_id = %s ORDER BY day""",
            (vehicle,),
        )
        return found, list(await cur.fetchall())


async def test_a_day_with_two_drives_is_24_km_in_two_trips(
    pool: AsyncConnectionPool[AsyncConnection], basis: Basis, settings: Settings, tag: str
) -> None:
    [vehicle] = (await register_devices(settings.database_url, tag, meters=0, vehicles=1)).vehicles
    fixes = two_drives().fixes
    await insert(pool, of_vehicle(vehicle, fixes))
    await settle_mileage(pool, basis, [vehicle])
    found, days = await stored(pool, vehicle)
    # Out: moving off at 09:01 to the ignition going off 60 s after arriving, 1,200 s on the road, 10 s rolling in
    # (1,270 s); back: 800 s + 10 s + 30 s (840 s). The odometer, in 0.1 km, reads 52,731.0, 52,743.0, 52,755.0.
    assert [(t[3], t[4], t[5]) for t in found] == [(12.0, "odometer", 36), (12.0, "odometer", 54)]
    assert [(t[1] - t[0]).total_seconds() for t in found] == [1270, 840]
    assert [t[2] for t in found] == [MONDAY, MONDAY]
    [(day, km, odometer_km, count, moving, top, received, first_fix, last_fix, first_rest, last_rest)] = days
    assert (day, km, odometer_km, count, moving, top) == (MONDAY, 24.0, 24.0, 2, 2110, 54)
    # 12 parked reports, 6 idle, 121 driving, 6, 24 parked, 3, 81 driving, 3, 24 parked
    assert received == len(fixes) == 280
    assert (first_fix, last_fix) == (fixes[0].time, fixes[-1].time)
    assert (first_rest, last_rest) == (fixes[0].time, fixes[-1].time)  # parked with the ignition off


async def test_a_trip_over_midnight_counts_on_the_day_it_set_out(
    pool: AsyncConnectionPool[AsyncConnection], basis: Basis, settings: Settings, tag: str
) -> None:
    [vehicle] = (await register_devices(settings.database_url, tag, meters=0, vehicles=1)).vehicles
    await insert(pool, of_vehicle(vehicle, two_days()))
    await settle_mileage(pool, basis, [vehicle])
    found, days = await stored(pool, vehicle)
    # The working day's 12 + 4.5 + 16.5 km and the evening's 20 km; the next morning 8 km out and back.
    assert [(t[2], t[3]) for t in found] == [
        (MONDAY, pytest.approx(12.0, abs=0.1)),
        (MONDAY, pytest.approx(4.5, abs=0.1)),
        (MONDAY, pytest.approx(16.5, abs=0.1)),
        (MONDAY, pytest.approx(20.0, abs=0.1)),
        (MONDAY + timedelta(days=1), pytest.approx(8.0, abs=0.1)),
        (MONDAY + timedelta(days=1), pytest.approx(8.0, abs=0.1)),
    ]
    evening = found[3]
    assert evening[1].astimezone(SHANGHAI).date() == MONDAY + timedelta(days=1)  # it arrived on Tuesday
    assert [(d[0], d[3]) for d in days] == [(MONDAY, 4), (MONDAY + timedelta(days=1), 2)]
    assert days[0][1] == pytest.approx(sum(t[3] for t in found[:4]))
    # Tuesday's fixes include the evening drive's after midnight.
    assert sum(d[6] for d in days) == len(two_days())


@pytest.mark.parametrize("seed", range(3))
async def test_late_and_out_of_order_batches_leave_what_the_rules_say_over_the_whole_track(
    pool: AsyncConnectionPool[AsyncConnection], basis: Basis, settings: Settings, tag: str, seed: int
) -> None:
    rng = random.Random(seed)
    in_order, shuffled, late, at_once = (
        await register_devices(settings.database_url, f"{tag}{seed}", meters=0, vehicles=4)
    ).vehicles
    fixes = two_days()
    cuts = [0, *sorted(rng.sample(range(1, len(fixes)), 30)), len(fixes)]
    batches = [fixes[a:b] for a, b in itertools.pairwise(cuts)]
    # Live: batch after batch, each counted before the next comes.
    for batch in batches:
        await insert(pool, of_vehicle(in_order, batch))
        await mileage.refresh(pool, basis)
    # A shared subscription's collectors committing in any order, two refreshers at once.
    for batch in rng.sample(batches, len(batches)):
        await insert(pool, of_vehicle(shuffled, batch))
        await asyncio.gather(mileage.refresh(pool, basis), mileage.refresh(pool, basis))
    # A blind-zone upload: the evening drive and the night (around the midnight trip) come last, after the morning.
    hole = [f for f in fixes if f.time.astimezone(SHANGHAI).hour in (23, 0)]
    for batch in batches:
        await insert(pool, of_vehicle(late, [f for f in batch if f.time.astimezone(SHANGHAI).hour not in (23, 0)]))
        await mileage.refresh(pool, basis)
    await insert(pool, of_vehicle(late, hole))
    await insert(pool, of_vehicle(at_once, fixes))
    await settle_mileage(pool, basis, [in_order, shuffled, late, at_once])

    kept = clean(fixes, TrackRules()).kept
    expected = [
        (t.start_time, t.end_time, t.start_time.astimezone(SHANGHAI).date(), t.distance_km, t.distance_source,
         t.max_speed, t.fix_count)
        for t in trips(kept, basis.trip)
    ]  # fmt: skip
    found, days = await stored(pool, at_once)
    assert found == expected
    for vehicle in (in_order, shuffled, late):
        assert await stored(pool, vehicle) == (found, days), vehicle


async def test_a_recount_longer_than_a_chunk_goes_on_from_each_chunks_last_rest_point(
    pool: AsyncConnectionPool[AsyncConnection], basis: Basis, settings: Settings, tag: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    whole, chunked = (await register_devices(settings.database_url, tag, meters=0, vehicles=2)).vehicles
    fixes = two_days()
    await insert(pool, of_vehicle(whole, fixes))
    await settle_mileage(pool, basis, [whole])
    # A chunk of 37 fixes ends inside drives and parkings alike; one of 5 holds no rest point after its first fix.
    monkeypatch.setattr(mileage, "_CHUNK", 37)
    await insert(pool, of_vehicle(chunked, fixes))
    await settle_mileage(pool, basis, [chunked])
    assert await stored(pool, chunked) == await stored(pool, whole)
    monkeypatch.setattr(mileage, "_CHUNK", 5)
    async with pool.connection() as conn:
        await conn.execute("INSERT INTO mileage_stale (vehicle_id, since) VALUES (%s, '1900-01-01')", (chunked,))
        await conn.commit()
    await settle_mileage(pool, basis, [chunked])
    assert await stored(pool, chunked) == await stored(pool, whole)


async def test_a_batch_marks_its_vehicles_stale_from_its_earliest_fix(
    pool: AsyncConnectionPool[AsyncConnection], settings: Settings, tag: str
) -> None:
    first, second = (await register_devices(settings.database_url, tag, meters=0, vehicles=2)).vehicles
    fixes = two_drives().fixes

    async def marks() -> dict[str, object]:
        async with pool.connection() as conn:
            cur = await conn.execute(
                "SELECT vehicle_id, since FROM mileage_stale WHERE vehicle_id = ANY(%s)", ([first, second],)
            )
            return dict(await cur.fetchall())

    await insert(pool, of_vehicle(first, fixes[100:120]) + of_vehicle(second, fixes[10:20]))
    assert await marks() == {first: fixes[100].time, second: fixes[10].time}
    await insert(pool, of_vehicle(first, fixes[50:60]))  # earlier: the mark moves back
    await insert(pool, of_vehicle(second, fixes[200:210]))  # later: the mark stays where it was
    assert await marks() == {first: fixes[50].time, second: fixes[10].time}


async def test_positions_stored_while_their_vehicle_is_recounted_mark_it_again(
    pool: AsyncConnectionPool[AsyncConnection], settings: Settings, tag: str
) -> None:
    [vehicle] = (await register_devices(settings.database_url, tag, meters=0, vehicles=1)).vehicles
    fixes = two_drives().fixes
    await insert(pool, of_vehicle(vehicle, fixes[:100]))
    async with await AsyncConnection.connect(settings.database_url) as refresher:
        # A refresher's claim, its recount still running (its transaction open).
        await refresher.execute("DELETE FROM mileage_stale WHERE vehicle_id = %s", (vehicle,))
        meanwhile = asyncio.create_task(insert(pool, of_vehicle(vehicle, fixes[100:200])))
        await asyncio.sleep(0.3)
        await refresher.commit()
        await meanwhile
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT since FROM mileage_stale WHERE vehicle_id = %s", (vehicle,))
        assert await cur.fetchall() == [(fixes[100].time,)]  # the next turn counts them


async def test_a_roll_up_counted_with_other_rules_is_refused_until_rebuilt(
    pool: AsyncConnectionPool[AsyncConnection], basis: Basis
) -> None:
    await mileage.refresh(pool, basis)  # the basis of the session's roll-up: the default settings
    for other in (
        dataclasses.replace(basis, zone=ZoneInfo("Asia/Urumqi")),
        dataclasses.replace(basis, trip=dataclasses.replace(basis.trip, min_trip_distance_m=500.0)),
    ):
        with pytest.raises(BasisMismatch, match="yiwang mileage rebuild"):
            await mileage.refresh(pool, other)


def test_yiwang_mileage_refresh_counts_what_is_pending(settings: Settings) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("YIWANG_")}
    env["YIWANG_DATABASE_URL"] = settings.database_url
    done = subprocess.run(
        [sys.executable, "-m", "yiwang.cli", "mileage", "refresh"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "mileage roll-up:" in done.stdout
    assert "recounted in Asia/Shanghai" in done.stdout
