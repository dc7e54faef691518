"""The supervisor's health says whether its database takes its alerts, as the collector's does; its metrics say what
it judged and raised."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import orjson
import psycopg
from psycopg_pool import AsyncConnectionPool

from collector.inbox import Received
from collector.metrics import SupervisorMetrics
from collector.run import limits_from
from collector.supervisor import Supervisor, rules_from
from db.pool import open_pool
from domain.topics import topic
from tests.support.registry import Devices
from yiwang.settings import Settings
from yiwang.stack import free_port


def supervisor(pool: AsyncConnectionPool, settings: Settings, metrics: SupervisorMetrics) -> Supervisor:
    return Supervisor(
        pool, root=settings.topic_root, limits=limits_from(settings), rules=rules_from(settings), refresh=60,
        metrics=metrics,
    )  # fmt: skip


async def test_health_is_bad_while_the_database_refuses_and_good_once_a_write_succeeds(settings: Settings) -> None:
    metrics = SupervisorMetrics()
    metrics.db_ok.set(1)  # as run() sets it once the pool is open
    nowhere = f"postgresql://yiwang@127.0.0.1:{free_port()}/yiwang"
    abandon = asyncio.Event()
    abandon.set()  # give the batch back after the first failed attempt
    async with AsyncConnectionPool(nowhere, min_size=0, max_size=1, open=False, timeout=0.5) as away:
        assert await supervisor(away, settings, metrics).write([], abandon) is None
    ok, detail = metrics.health()
    assert not ok
    assert detail["database_ok"] is False

    async with open_pool(settings.database_url, max_size=1) as pool:
        assert await supervisor(pool, settings, metrics).write([], asyncio.Event()) == 0
    assert metrics.health()[1]["database_ok"] is True


async def test_its_metrics_count_the_fixes_judged_not_those_skipped_the_alerts_raised_by_kind_and_the_lag(
    settings: Settings, devices: Devices
) -> None:
    metrics = SupervisorMetrics()
    now = datetime.now(UTC)
    fix = {"time": now.isoformat(), "latitude": 29.29, "longitude": 117.2, "speed": 150.0, "heading": 90.0,
           "odometer": 10.0, "ignition": True}  # fmt: skip
    vehicle = devices.vehicles[0]
    # A fix of a vehicle the registry does not hold is skipped (the collector refuses it), not judged.
    unregistered = f"{vehicle}-unregistered"
    batch = [
        Received(time.time() - 2, topic(settings.topic_root, "vehicle", v, "position"), orjson.dumps(fix), i, 1)
        for i, v in enumerate((vehicle, unregistered), 1)
    ]
    async with open_pool(settings.database_url_of("supervisor"), max_size=1) as pool:
        assert await supervisor(pool, settings, metrics).write(batch, asyncio.Event()) >= 1
    assert metrics.registry.get_sample_value("yiwang_supervisor_fixes_judged_total") == 1
    assert metrics.registry.get_sample_value("yiwang_supervisor_alerts_raised_total", {"kind": "speeding"}) == 1
    assert metrics.registry.get_sample_value("yiwang_supervisor_lag_seconds_count") == 1
    assert (metrics.registry.get_sample_value("yiwang_supervisor_lag_seconds_sum") or 0) >= 2


async def test_a_retired_vehicle_falling_quiet_raises_no_silence_and_one_in_the_fleet_does(
    settings: Settings, devices: Devices
) -> None:
    active, retired = devices.vehicles[:2]
    async with await psycopg.AsyncConnection.connect(settings.database_url) as conn:
        await conn.execute(
            """UPDATE vehicle SET lifecycle = 'retired', retired_on = current_date, retired_how = 'scrapped'
                WHERE id = %s""",
            [retired],
        )
    now = datetime.now(UTC)
    parked = {"time": now.isoformat(), "latitude": 29.29, "longitude": 117.2, "speed": 0.0, "heading": 0.0,
              "odometer": 10.0, "ignition": False}  # fmt: skip
    batch = [
        Received(time.time(), topic(settings.topic_root, "vehicle", v, "position"), orjson.dumps(parked), i, 1)
        for i, v in enumerate((active, retired), 1)
    ]
    metrics = SupervisorMetrics()
    async with open_pool(settings.database_url_of("supervisor"), max_size=1) as pool:
        judge = supervisor(pool, settings, metrics)
        await judge.write(batch, asyncio.Event())
        # Both judged (a retired vehicle's fixes count as ever), then quiet past supervision_silent_seconds.
        assert metrics.registry.get_sample_value("yiwang_supervisor_fixes_judged_total") == 2
        await judge.check_silence(now + timedelta(seconds=settings.supervision_silent_seconds + 60))
    async with await psycopg.AsyncConnection.connect(settings.database_url) as conn:
        # (Silence only: after working hours, a fix at rest with the ignition off also raises `parking`.)
        cur = await conn.execute(
            "SELECT vehicle_id, kind FROM alert WHERE vehicle_id = ANY(%s) AND kind = 'silent'", [[active, retired]]
        )
        assert await cur.fetchall() == [(active, "silent")]
