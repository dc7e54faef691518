"""The worker process (`yiwang worker`): the database pool, the metrics endpoint, and one task per job, each taking
its turns until `stop` is set (SIGTERM and SIGINT set it). worker/turns.py says how several workers share the work."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from db.pool import open_pool
from worker import mileage, packed, retention, rollup
from worker.metrics import Metrics
from yiwang.probe import serve
from yiwang.settings import Settings

log = logging.getLogger(__name__)

# One connection per job: a turn holds one for its transactions, and the jobs never wait for one another.
_JOBS = 4


async def run(settings: Settings, *, stop: asyncio.Event | None = None, metrics: Metrics | None = None) -> None:
    """Keep the roll-ups, the packed track hours and the retention rules up to date until `stop` is set. A job's
    transaction under way when it stops is rolled back: its marks stay for the next worker's turn.

    Raises:
        psycopg_pool.PoolTimeout: the database cannot be reached at start-up.
    """
    stop = stop or asyncio.Event()
    metrics = metrics or Metrics()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    async with (
        open_pool(settings.database_url_of("worker"), min_size=1, max_size=_JOBS, name="yiwang-worker") as pool,
        serve(metrics, settings.metrics_host, settings.worker_metrics_port, "worker"),
    ):
        jobs = [
            rollup.maintain(
                pool, settings.zone, settings.energy_refresh_seconds, max_gap=settings.energy_max_gap, metrics=metrics
            ),
            mileage.maintain(pool, mileage.Basis.of(settings), settings.mileage_refresh_seconds, metrics=metrics),
            packed.maintain(pool, settings.track_settle, settings.track_pack_seconds, metrics=metrics),
            retention.maintain(pool, retention.Rules.of(settings), settings.retention_check_seconds, metrics=metrics),
        ]
        tasks = [asyncio.create_task(job) for job in jobs]
        try:
            await stop.wait()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
