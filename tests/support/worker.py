"""The worker in tests: in the test's event loop, or as a `yiwang worker` process of its own (to be killed), and
what it has done read from its /metrics."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import urllib.request
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import datetime
from pathlib import Path

from db import ingest
from db.pool import open_pool
from tests.support.waiting import eventually, wait_until
from worker.metrics import Metrics
from worker.run import run
from yiwang.settings import Settings
from yiwang.stack import free_port

JOBS = 4  # consumption, mileage, packing, retention

# Turns often enough for a test to wait seconds, not minutes.
QUICK = {"energy_refresh_seconds": 0.1, "mileage_refresh_seconds": 0.2, "track_pack_seconds": 0.5}


@asynccontextmanager
async def working(settings: Settings) -> AsyncIterator[Metrics]:
    """A worker until the block ends, then stopped as by SIGTERM; started once each of its jobs ended a turn."""
    stop, metrics = asyncio.Event(), Metrics()
    task = asyncio.create_task(run(settings, stop=stop, metrics=metrics))
    await eventually(lambda: len(metrics.failing) == JOBS or task.done())
    if task.done():
        task.result()
    try:
        yield metrics
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


@contextmanager
def worker_process(settings: Settings, log: Path) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """`yiwang worker` as a process of its own, with quick turns, as the settings' worker role; its process and
    metrics port, once healthy. Stopped (SIGKILL) at the end if still running."""
    port = free_port()
    env = {
        **os.environ,
        "YIWANG_HOME": str(settings.home),
        "YIWANG_DATABASE_URL": settings.database_url,
        "YIWANG_WORKER_DATABASE_URL": settings.database_url_of("worker"),
        "YIWANG_METRICS_HOST": "127.0.0.1",
        "YIWANG_WORKER_METRICS_PORT": str(port),
        **{f"YIWANG_{name.upper()}": str(value) for name, value in QUICK.items()},
    }
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "yiwang.cli", "worker"], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        wait_until(lambda: process.poll() is not None or healthy(port), 60, "the worker healthy", every=0.1)
        assert process.poll() is None, log.read_text()
        yield process, port
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(30)


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def done(port: int, job: str) -> float:
    """What a worker process's job has done so far (yiwang_worker_done_total)."""
    return counted(port, "yiwang_worker_done_total", job)


def turns(port: int, job: str) -> float:
    """The turns a worker process's job has taken so far (yiwang_worker_turns_total)."""
    return counted(port, "yiwang_worker_turns_total", job)


def counted(port: int, metric: str, job: str) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    wanted = f'{metric}{{job="{job}"}} '
    return sum(float(line.removeprefix(wanted)) for line in text.splitlines() if line.startswith(wanted))


async def store_readings(url: str, rows: list[tuple[str, datetime, float, datetime]]) -> None:
    """Readings stored and their meters marked, as the collector's writer does, in one transaction."""
    async with (
        open_pool(url, max_size=1, configure=ingest.prepare_connection) as pool,
        pool.connection() as conn,
        conn.transaction(),
    ):
        await ingest.insert_readings(conn, rows)
