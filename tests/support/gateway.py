"""A JT/T 808 gateway for the tests: its settings on the test's stack, and one running in the test's event loop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from gateway.metrics import Metrics
from gateway.server import run
from tests.support.waiting import eventually
from yiwang.settings import Settings
from yiwang.stack import free_port


def gateway_settings(settings: Settings, tag: str, **overrides: object) -> Settings:
    """The test's settings with a free port for terminals and a client id of the test's own."""
    values: dict[str, object] = {
        "jt808_port": free_port(),
        "gateway_metrics_port": 0,
        "gateway_client_id": f"yiwang-gateway-{tag}",
        **overrides,
    }
    return settings.model_copy(update=values)


def sample(metrics: Metrics, name: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(name, labels or None) or 0.0


@asynccontextmanager
async def gatewaying(settings: Settings) -> AsyncIterator[Metrics]:
    """Run a gateway until the block ends, then stop it as SIGTERM does; its metrics once terminals can connect
    and the broker takes publications."""
    stop = asyncio.Event()
    metrics = Metrics()
    task = asyncio.create_task(run(settings, stop=stop, metrics=metrics))

    def ready() -> bool:
        return task.done() or (
            sample(metrics, "yiwang_gateway_listening") == 1 and sample(metrics, "yiwang_gateway_mqtt_connected") == 1
        )

    await eventually(ready, 15)
    if task.done():
        task.result()
    try:
        yield metrics
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
