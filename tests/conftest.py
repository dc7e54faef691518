"""Fixtures: a real TimescaleDB and Mosquitto started once per session on free loopback ports."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import pytest

from collector.metrics import Metrics
from collector.run import run as run_collector
from db.migrate import migrate
from tests.support import TESTER, TESTER_PASSWORD, Devices, open_broker_from_database, register_devices
from yiwang.settings import Settings
from yiwang.stack import Stack, free_port


def make_stack_home(name: str) -> Path:
    # pytest's own tmp folders are private to root; the postgres user must reach the cluster folder.
    home = Path(tempfile.mkdtemp(prefix=f"yiwang-{name}-"))
    home.chmod(0o755)
    return home


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    """The session's database and broker; tests isolate themselves by topic root and device ids."""
    home = make_stack_home("test")
    s = Stack.at(home, free_port(), free_port(), shared_buffers="256MB")
    s.up()
    try:
        migrate(s.postgres.url)
        asyncio.run(open_broker_from_database(s.postgres.url, s.mosquitto))
        yield s
    finally:
        s.down()
        if not os.environ.get("YIWANG_KEEP_TEST_STACK"):
            shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def tag() -> str:
    """A short name unique to the test, for its topic root and device ids."""
    return uuid.uuid4().hex[:8]


def settings_for(s: Stack, tag: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": s.postgres.url,
        "mqtt_port": s.mosquitto.port,
        "mqtt_topic_root": f"t{tag}",
        "mqtt_client_id": f"collector-{tag}",
        "metrics_port": 0,
        "batch_size": 200,
        "batch_wait_ms": 20,
        "home": s.postgres.home.parent,
        "mqtt_username": TESTER,
        "mqtt_password": TESTER_PASSWORD,
        **overrides,
    }
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def settings(stack: Stack, tag: str) -> Settings:
    return settings_for(stack, tag)


@pytest.fixture
async def devices(settings: Settings, tag: str) -> Devices:
    """Three meters and three vehicles of one organisation, registered for this test only."""
    return await register_devices(settings.database_url, tag, meters=3, vehicles=3)


@pytest.fixture
async def collector(settings: Settings, devices: Devices) -> AsyncIterator[Metrics]:
    """A collector running in this event loop until the test ends, then stopped as by SIGTERM."""
    stop = asyncio.Event()
    metrics = Metrics()
    task = asyncio.create_task(run_collector(settings, stop=stop, metrics=metrics))
    await _until(lambda: metrics.registry.get_sample_value("yiwang_collector_mqtt_connected") == 1 or task.done(), 15)
    if task.done():
        task.result()
    yield metrics
    stop.set()
    await asyncio.wait_for(task, 30)


async def _until(predicate: object, seconds: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not predicate():  # type: ignore[operator]
        if loop.time() > deadline:
            raise TimeoutError("condition not met")
        await asyncio.sleep(0.02)


@pytest.fixture
def db(stack: Stack) -> Iterator[psycopg.Connection]:
    with psycopg.connect(stack.postgres.url, autocommit=True) as conn:
        yield conn
