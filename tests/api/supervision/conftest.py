"""A supervisor running in the test's event loop, with the API's settings."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from collector.metrics import SupervisorMetrics
from collector.supervisor import run as run_supervisor
from tests.support.waiting import eventually
from yiwang.settings import Settings


@pytest.fixture
async def supervisor(api_settings: Settings) -> AsyncIterator[None]:
    stop, metrics = asyncio.Event(), SupervisorMetrics()
    task = asyncio.create_task(run_supervisor(api_settings, stop=stop, metrics=metrics))
    await eventually(
        lambda: metrics.registry.get_sample_value("yiwang_collector_mqtt_connected") == 1 or task.done(), 15
    )
    if task.done():
        task.result()
    yield
    stop.set()
    await asyncio.wait_for(task, 30)
