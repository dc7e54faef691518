"""A collector running in the test's event loop, with the settings the test chose."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from collector.metrics import Metrics
from collector.run import run as run_collector
from tests.support.waiting import eventually
from yiwang.settings import Settings


@asynccontextmanager
async def collecting(settings: Settings) -> AsyncIterator[Metrics]:
    """Run a collector until the block ends, then stop it as SIGTERM does; its metrics once it is connected."""
    stop = asyncio.Event()
    metrics = Metrics()
    task = asyncio.create_task(run_collector(settings, stop=stop, metrics=metrics))
    await eventually(
        lambda: metrics.registry.get_sample_value("yiwang_collector_mqtt_connected") == 1 or task.done(), 15
    )
    if task.done():
        task.result()
    try:
        yield metrics
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
