"""Retention on the Apache edition (the tests' TimescaleDB): old chunks of raw data dropped by the worker, the
roll-ups made from them kept through a rebuild, and the audit log moved to its archive, never deleted in place."""

from __future__ import annotations

import logging
import shutil
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime, time, timedelta

import psycopg
import pytest
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from db import energy_reports, ingest
from db.energy_reports import Filters
from db.migrate import migrate
from db.pool import open_pool
from db.scope import Scope
from domain.coverage import MeterSpan, covers
from domain.position import Position
from tests.support.registry import register_devices
from tests.support.rollups import ZONE
from tests.support.stack import make_stack_home, settings_for
from worker import mileage, retention, rollup
from worker.mileage import Basis
from worker.retention import Rules
from yiwang.settings import Settings
from yiwang.stack import Stack, free_port

KEEP = timedelta(days=90)
Denied = psycopg.errors.InsufficientPrivilege


@pytest.fixture(scope="module")
def own_stack() -> Iterator[Stack]:
    """A database of this module's own: retention drops every old chunk of the tables, whoever's rows they hold."""
    home = make_stack_home("retention")
    s = Stack.at(home, free_port(), free_port(), shared_buffers="128MB")
    s.up()
    try:
        migrate(s.postgres.url)
        s.postgres.grant()
        yield s
    finally:
        s.down()
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def own_settings(own_stack: Stack, tag: str) -> Settings:
    return settings_for(own_stack, tag)


@pytest.fixture
async def owner(own_settings: Settings) -> AsyncIterator[AsyncConnectionPool[AsyncConnection]]:
    async with open_pool(own_settings.database_url, max_size=2, configure=ingest.prepare_connection) as pool:
        yield pool


@pytest.fixture
async def as_worker(own_settings: Settings) -> AsyncIterator[AsyncConnectionPool[AsyncConnection]]:
    """The worker's own role: retention works with its grants alone."""
    async with open_pool(own_settings.database_url_of("worker"), max_size=2) as pool:
        yield pool


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=ZONE)


async def days_of(pool: AsyncConnectionPool[AsyncConnection], meter_id: str) -> list[tuple[object, ...]]:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT day, amount, hours, readings FROM consumption_day WHERE meter_id = %s ORDER BY day", (meter_id,)
        )
        return list(await cur.fetchall())


async def months_of(pool: AsyncConnectionPool[AsyncConnection], meter_id: str) -> list[tuple[object, ...]]:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT month, amount, readings FROM consumption_month WHERE meter_id = %s ORDER BY month", (meter_id,)
        )
        return list(await cur.fetchall())


async def scalar(pool: AsyncConnectionPool[AsyncConnection], query: str, *params: object) -> object:
    async with pool.connection() as conn:
        row = await (await conn.execute(query, params)).fetchone()
    assert row is not None
    return row[0]


async def test_a_rebuild_after_old_readings_were_dropped_keeps_the_days_they_made(
    own_settings: Settings,
    owner: AsyncConnectionPool[AsyncConnection],
    as_worker: AsyncConnectionPool[AsyncConnection],
    tag: str,
) -> None:
    devices = await register_devices(own_settings.database_url, tag, meters=1, vehicles=0)
    meter = devices.meters[0]
    today = datetime.now(ZONE).date()
    first, received = today - timedelta(days=150), datetime.now(UTC)
    rows = [(meter, midnight(first + timedelta(days=n)), 10.0 + 5 * n + (n % 3), received) for n in range(150)]
    async with owner.connection() as conn, conn.transaction():
        await ingest.insert_readings(conn, rows)
    await rollup.catch_up(owner, ZONE)
    days, months = await days_of(owner, meter), await months_of(owner, meter)
    assert len(days) == 149

    dropped = await retention.apply(as_worker, Rules({"reading": KEEP, "position": None}, None))
    assert dropped > 0
    oldest = await scalar(owner, "SELECT min(time) FROM reading WHERE meter_id = %s", meter)
    assert isinstance(oldest, datetime)
    assert oldest > midnight(first + timedelta(days=40)), "the oldest chunks of readings are gone"
    # The meter's first reading ever is still known, so a month behind the horizon is still covered whole: its
    # figure, kept, is not flagged incomplete.
    month = (first + timedelta(days=31)).replace(day=1)
    async with owner.connection() as conn:
        spans = await energy_reports.meter_spans(conn, Scope(frozenset({devices.organisation})), Filters())
    ((*_, earliest, latest, _, _),) = spans
    assert (earliest, latest) == (rows[0][1], rows[-1][1])
    span = MeterSpan(connected=midnight(first), replaced=None, earliest=earliest, latest=latest)
    assert covers(span, midnight(month), midnight((month + timedelta(days=31)).replace(day=1)), datetime.now(UTC))

    # A rebuild marks every meter from before all its data: it recounts what the stored readings can recount.
    await rollup.rebuild(owner, ZONE)
    assert await days_of(owner, meter) == days
    assert await months_of(owner, meter) == months
    # And a late reading behind the horizon (a resend of a dropped one) changes nothing counted before it.
    async with owner.connection() as conn, conn.transaction():
        await ingest.insert_readings(conn, [rows[5]])
    await rollup.catch_up(owner, ZONE)
    assert await days_of(owner, meter) == days


async def test_the_worker_drops_raw_chunks_older_than_their_setting_and_keeps_the_rest(
    own_settings: Settings,
    owner: AsyncConnectionPool[AsyncConnection],
    as_worker: AsyncConnectionPool[AsyncConnection],
    tag: str,
) -> None:
    devices = await register_devices(own_settings.database_url, tag, meters=1, vehicles=1)
    meter, vehicle = devices.meters[0], devices.vehicles[0]
    now = datetime.now(UTC)
    old, young = now - timedelta(days=200), now - timedelta(days=30)
    async with owner.connection() as conn, conn.transaction():
        await ingest.insert_readings(conn, [(meter, old, 1.0, now), (meter, young, 2.0, now)])
        for at in (old, young):
            await conn.execute(
                """INSERT INTO position (vehicle_id, time, received_at, latitude, longitude, speed, heading, odometer,
                                         ignition) VALUES (%s, %s, %s, 29.3, 117.2, 0, 0, 0, false)""",
                (vehicle, at, now),
            )
    # Positions kept for good (0), readings 90 days.
    await retention.apply(as_worker, Rules.of(own_settings.model_copy(update={"reading_retention_days": 90.0})))
    assert await scalar(owner, "SELECT count(*) FROM reading WHERE meter_id = %s", meter) == 1
    assert await scalar(owner, "SELECT count(*) FROM position WHERE vehicle_id = %s", vehicle) == 2
    await retention.apply(as_worker, Rules({"reading": KEEP, "position": timedelta(days=120)}, None))
    assert await scalar(owner, "SELECT min(time) FROM reading WHERE meter_id = %s", meter) == young
    assert await scalar(owner, "SELECT min(time) FROM position WHERE vehicle_id = %s", vehicle) == young
    kept_from = await scalar(owner, "SELECT kept_from FROM raw_horizon WHERE hypertable = 'position'")
    assert isinstance(kept_from, datetime)
    assert abs(kept_from - (now - timedelta(days=120))) < timedelta(minutes=5)


async def test_no_process_drops_raw_data_but_the_worker_and_none_below_31_days(
    own_settings: Settings, as_worker: AsyncConnectionPool[AsyncConnection]
) -> None:
    await only_the_worker_for_raw_tables_after_31_days(own_settings, as_worker, "apply_retention")
    with pytest.raises(ValueError, match="31 days"):
        Settings(position_retention_days=7)


async def only_the_worker_for_raw_tables_after_31_days(
    settings: Settings, as_worker: AsyncConnectionPool[AsyncConnection], function: str
) -> None:
    """`function` (the owner's, on raw tables) is refused to the API's role, for another table and under 31 days."""
    with psycopg.connect(settings.database_url_of("api"), autocommit=True) as api, pytest.raises(Denied):
        api.execute(f"SELECT {function}('reading', interval '400 days')")
    async with as_worker.connection() as conn:
        with pytest.raises(psycopg.errors.InvalidParameterValue):
            await conn.execute(f"SELECT {function}('reading', interval '7 days')")
        await conn.rollback()
        with pytest.raises(Denied):
            await conn.execute(f"SELECT {function}('consumption_day', interval '400 days')")


async def test_compression_asked_of_the_apache_edition_changes_nothing_and_says_so(
    own_settings: Settings,
    owner: AsyncConnectionPool[AsyncConnection],
    as_worker: AsyncConnectionPool[AsyncConnection],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The tests' TimescaleDB is the Apache edition: the worker detects it, logs that nothing is compressed, and
    neither fails its turn nor assumes the full edition's policies."""
    monkeypatch.setattr(retention, "_UNCOMPRESSED", set())
    rules = Rules.of(own_settings.model_copy(update={"position_compress_after_days": 60.0}))
    assert rules.compress == {"position": timedelta(days=60), "reading": None}
    with caplog.at_level(logging.WARNING, logger="worker.retention"):
        await retention.apply(as_worker, rules)
        await retention.apply(as_worker, rules)
    said = [r.getMessage() for r in caplog.records if "not compressed" in r.getMessage()]
    assert said == [
        "retention: position is not compressed: this TimescaleDB is the Apache edition, which has no compression"
        " (docs/operating.md, Retention)"
    ]
    enabled = await scalar(
        owner, "SELECT compression_enabled FROM timescaledb_information.hypertables WHERE hypertable_name = %s",
        "position",
    )  # fmt: skip
    assert enabled is False
    assert await scalar(owner, "SELECT count(*) FROM timescaledb_information.jobs WHERE proc_name = %s",
                        "policy_compression") == 0  # fmt: skip
    # Only the worker may ask, for the raw tables only, and never for the late batches' 30 days.
    await only_the_worker_for_raw_tables_after_31_days(own_settings, as_worker, "apply_compression")
    with pytest.raises(ValueError, match="31 days"):
        Settings(reading_compress_after_days=7)


async def test_old_audit_rows_move_to_the_archive_and_are_never_deleted_in_place(
    own_settings: Settings,
    owner: AsyncConnectionPool[AsyncConnection],
    as_worker: AsyncConnectionPool[AsyncConnection],
    tag: str,
) -> None:
    now = datetime.now(UTC)
    async with owner.connection() as conn, conn.transaction():
        for age in (400, 200, 10):
            await conn.execute(
                """INSERT INTO audit_log (at, user_name, action, method, endpoint, resource_ids, params, status,
                                         outcome)
                   VALUES (%s, 'auditor', 'audit:read', 'GET', %s, '{a,b}', '{"p": 1}', 200, 'ok')""",
                (now - timedelta(days=age), f"/{tag}/{age}"),
            )
    rows = "SELECT at, endpoint, resource_ids, params FROM {} WHERE endpoint LIKE %s ORDER BY at"
    before = [tuple(r) for r in await _all(owner, rows.format("audit_log"), f"/{tag}/%")]

    # A row not in the archive cannot leave the log, whoever asks.
    async with as_worker.connection() as conn:
        with pytest.raises(Denied, match="append-only"):
            await conn.execute("DELETE FROM audit_log WHERE endpoint = %s", (f"/{tag}/400",))

    moved = await retention.apply(as_worker, Rules({"reading": None, "position": None}, timedelta(days=183)))
    assert moved >= 2
    assert await _all(owner, rows.format("audit_log"), f"/{tag}/%") == before[2:]
    assert await _all(owner, rows.format("audit_log_archive"), f"/{tag}/%") == before[:2]
    # The archive is append-only too.
    async with as_worker.connection() as conn:
        with pytest.raises(Denied):
            await conn.execute("DELETE FROM audit_log_archive WHERE endpoint LIKE %s", (f"/{tag}/%",))
    with pytest.raises(ValueError, match="183 days"):
        Settings(audit_retention_days=30)


async def _all(pool: AsyncConnectionPool[AsyncConnection], query: str, *params: object) -> list[tuple[object, ...]]:
    async with pool.connection() as conn:
        return [tuple(r) for r in await (await conn.execute(query, params)).fetchall()]


def day_of_driving(vehicle: str, day: date, received: datetime) -> list[Position]:
    """A parked vehicle reporting every hour, and one trip at 10:00 local (there on even days, back on odd ones)."""
    there = day.toordinal() % 2 == 0
    west, east = 117.18, 117.21
    home, away = (west, east) if there else (east, west)

    def parked(at: datetime, lon: float) -> Position:
        return Position(vehicle, at, received, 29.29, lon, 0.0, 0.0, False)

    out = [parked(midnight(day) + timedelta(hours=h), home if h < 10 else away) for h in range(24) if h != 10]
    start = midnight(day) + timedelta(hours=10)
    out += [parked(start + timedelta(minutes=m), home) for m in (1, 3)]
    steps = 40
    for i in range(steps + 1):
        lon = home + (away - home) * i / steps
        out.append(
            Position(vehicle, start + timedelta(minutes=5, seconds=30 * i), received, 29.29, lon, 36.0, 90.0, True)
        )
    out += [parked(start + timedelta(minutes=m), away) for m in (27, 30, 35)]
    return sorted(out, key=lambda p: p.time)


async def mileage_of(pool: AsyncConnectionPool[AsyncConnection], vehicle: str) -> tuple[list[object], list[object]]:
    async with pool.connection() as conn:
        trips = await (
            await conn.execute(
                "SELECT start_time, end_time, day, distance_km, fixes FROM mileage_trip WHERE vehicle_id = %s "
                "ORDER BY start_time",
                (vehicle,),
            )
        ).fetchall()
        days = await (
            await conn.execute(
                "SELECT day, km, trips, fixes, first_fix, last_fix, first_rest, last_rest FROM mileage_day "
                "WHERE vehicle_id = %s ORDER BY day",
                (vehicle,),
            )
        ).fetchall()
    return list(trips), list(days)


async def test_a_mileage_rebuild_after_old_positions_were_dropped_keeps_the_trips_and_days_they_made(
    own_settings: Settings,
    owner: AsyncConnectionPool[AsyncConnection],
    as_worker: AsyncConnectionPool[AsyncConnection],
    tag: str,
) -> None:
    vehicle = (await register_devices(own_settings.database_url, tag, meters=0, vehicles=1)).vehicles[0]
    basis = Basis.of(own_settings)
    today, received = datetime.now(ZONE).date(), datetime.now(UTC)
    first = today - timedelta(days=120)
    async with owner.connection() as conn, conn.transaction():
        for n in range(119):
            await ingest.insert_positions(conn, day_of_driving(vehicle, first + timedelta(days=n), received))
    await mileage.catch_up(owner, basis)
    trips, days = await mileage_of(owner, vehicle)
    assert len(trips) == 119

    await retention.apply(as_worker, Rules({"reading": None, "position": KEEP}, None))
    oldest = await scalar(owner, "SELECT min(time) FROM position WHERE vehicle_id = %s", vehicle)
    assert isinstance(oldest, datetime)
    assert oldest > midnight(first + timedelta(days=20))

    await mileage.rebuild(owner, basis)
    assert await mileage_of(owner, vehicle) == (trips, days)
