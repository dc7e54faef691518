"""The supervisor's health says whether its database takes its alerts, as the collector's does."""

from __future__ import annotations

import asyncio

from psycopg_pool import AsyncConnectionPool

from collector.metrics import Metrics
from collector.run import limits_from
from collector.supervisor import Supervisor, rules_from
from db.pool import open_pool
from yiwang.settings import Settings
from yiwang.stack import free_port


def supervisor(pool: AsyncConnectionPool, settings: Settings, metrics: Metrics) -> Supervisor:
    return Supervisor(
        pool, root=settings.topic_root, limits=limits_from(settings), rules=rules_from(settings), refresh=60,
        metrics=metrics,
    )  # fmt: skip


async def test_health_is_bad_while_the_database_refuses_and_good_once_a_write_succeeds(settings: Settings) -> None:
    metrics = Metrics()
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
