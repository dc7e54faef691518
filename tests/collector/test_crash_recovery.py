"""Accepted data survives a crash of the collector, the database, or a restart of the broker."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator

import psycopg
import pytest

from collector.metrics import Metrics
from collector.run import run as run_collector
from db.migrate import migrate
from tests.support.broker import open_broker_from_database, publish_steadily
from tests.support.messages import Message, position_messages, reading_messages
from tests.support.registry import Devices, register_devices
from tests.support.stack import make_stack_home, settings_for
from tests.support.waiting import count, eventually, wait_for_count
from yiwang.settings import Settings
from yiwang.stack import Stack, free_port, port_open

pytestmark = pytest.mark.slow

STORED = "SELECT (SELECT count(*) FROM reading) + (SELECT count(*) FROM position)"


@pytest.fixture
def own_stack() -> Iterator[Stack]:
    """A stack of the test's own, since the test breaks it on purpose."""
    home = make_stack_home("fault")
    s = Stack.at(home, free_port(), free_port(), shared_buffers="128MB")
    s.up()
    migrate(s.postgres.url)
    s.postgres.grant()
    asyncio.run(open_broker_from_database(s.postgres.url, s.mosquitto))
    try:
        yield s
    finally:
        s.down()
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
async def fleet(own_stack: Stack, tag: str) -> tuple[Settings, Devices, list[Message]]:
    settings = settings_for(own_stack, tag, batch_size=500, batch_wait_ms=50)
    devices = await register_devices(settings.database_url, tag, meters=10, vehicles=10)
    root = settings.topic_root
    stream: list[Message] = []
    for i in range(1000):
        stream.append(reading_messages(root, devices.meters[i % 10], 1, first=i)[0])
        stream.append(position_messages(root, devices.vehicles[i % 10], 1, first=i)[0])
    return settings, devices, stream


@pytest.fixture
async def in_process_collector(fleet: tuple[Settings, Devices, list[Message]]) -> AsyncIterator[Metrics]:
    settings = fleet[0]
    stop = asyncio.Event()
    metrics = Metrics()
    task = asyncio.create_task(run_collector(settings, stop=stop, metrics=metrics))
    await eventually(lambda: metrics.registry.get_sample_value("yiwang_collector_mqtt_connected") == 1)
    yield metrics
    stop.set()
    await asyncio.wait_for(task, 60)


def spawn_collector(settings: Settings) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "YIWANG_DATABASE_URL": settings.database_url,
        "YIWANG_COLLECTOR_DATABASE_URL": settings.database_url_of("collector"),
        "YIWANG_MQTT_PORT": str(settings.mqtt_port),
        "YIWANG_MQTT_USERNAME": str(settings.mqtt_username),
        "YIWANG_MQTT_PASSWORD": str(settings.mqtt_password),
        "YIWANG_MQTT_TOPIC_ROOT": settings.topic_root,
        "YIWANG_MQTT_CLIENT_ID": settings.mqtt_client_id,
        "YIWANG_METRICS_PORT": str(settings.metrics_port),
        "YIWANG_BATCH_SIZE": str(settings.batch_size),
        "YIWANG_BATCH_WAIT_MS": str(settings.batch_wait_ms),
        "YIWANG_LOG_LEVEL": "WARNING",
    }
    return subprocess.Popen([sys.executable, "-m", "yiwang.cli", "collect"], env=env)


async def test_kill_9_of_the_collector_loses_nothing(fleet: tuple[Settings, Devices, list[Message]]) -> None:
    settings, _, stream = fleet
    settings = settings.model_copy(update={"metrics_port": free_port()})
    first = spawn_collector(settings)
    try:
        await eventually(lambda: port_open(settings.metrics_port), 20)
        publishing = asyncio.create_task(publish_steadily(settings.mqtt_port, stream, rate=1500))
        await eventually(lambda: len(stream) // 4 < _stored_now(settings), 30)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        stored_at_kill = _stored_now(settings)
        await asyncio.sleep(0.5)
        second = spawn_collector(settings)
        try:
            assert await publishing == len(stream)
            assert await wait_for_count(settings.database_url, STORED, [], len(stream), seconds=60) == len(stream)
        finally:
            second.send_signal(signal.SIGTERM)
            assert second.wait(30) == 0
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert 0 < stored_at_kill < len(stream), "the kill must land in the middle of the stream"


async def test_database_crash_mid_stream_loses_nothing(
    own_stack: Stack, fleet: tuple[Settings, Devices, list[Message]], in_process_collector: Metrics
) -> None:
    settings, _, stream = fleet
    publishing = asyncio.create_task(publish_steadily(settings.mqtt_port, stream, rate=1000))
    await eventually(lambda: len(stream) // 5 < _stored_now(settings), 30)
    await asyncio.to_thread(own_stack.postgres.stop, "immediate")
    await eventually(lambda: in_process_collector.registry.get_sample_value("yiwang_collector_db_ok") == 0, 20)
    await asyncio.sleep(1.0)
    await asyncio.to_thread(own_stack.postgres.start)
    assert await publishing == len(stream)
    assert await wait_for_count(settings.database_url, STORED, [], len(stream), seconds=60) == len(stream)
    assert (in_process_collector.registry.get_sample_value("yiwang_collector_db_errors_total") or 0) > 0


async def test_broker_restart_mid_stream_loses_nothing(
    own_stack: Stack, fleet: tuple[Settings, Devices, list[Message]], in_process_collector: Metrics
) -> None:
    settings, _, stream = fleet
    publishing = asyncio.create_task(publish_steadily(settings.mqtt_port, stream, rate=1000))
    await eventually(lambda: len(stream) // 5 < _stored_now(settings), 30)
    await asyncio.to_thread(own_stack.mosquitto.stop)
    stored_while_down = _stored_now(settings)
    await asyncio.sleep(1.0)
    await asyncio.to_thread(own_stack.mosquitto.start)
    assert await publishing == len(stream)
    assert await wait_for_count(settings.database_url, STORED, [], len(stream), seconds=60) == len(stream)
    assert stored_while_down < len(stream)


async def test_broker_kill_9_mid_stream_loses_nothing_it_delivered(
    own_stack: Stack, fleet: tuple[Settings, Devices, list[Message]]
) -> None:
    # Mosquitto saves its state every few seconds (autosave_interval), not per message: after a kill -9 it has
    # forgotten what it took since. What it had already handed to the collector is stored all the same (the
    # collector writes what it received even when the connection is gone), and what it replays from its last
    # save stores nothing twice. As in production, the collector's session is older than the last save.
    settings, _, stream = fleet
    # Long batch waits keep hundreds of delivered messages in the collector at any moment, as a busy one has.
    settings = settings.model_copy(update={"batch_size": 800, "batch_wait_ms": 1000})
    stop = asyncio.Event()
    metrics = Metrics()
    collector = asyncio.create_task(run_collector(settings, stop=stop, metrics=metrics))
    try:
        await eventually(lambda: metrics.registry.get_sample_value("yiwang_collector_mqtt_connected") == 1)
        saved = own_stack.mosquitto.home / "mosquitto.db"
        connected = time.time()
        await eventually(lambda: saved.exists() and saved.stat().st_mtime > connected, 15)
        publishing = asyncio.create_task(publish_steadily(settings.mqtt_port, stream, rate=1000))
        await eventually(lambda: len(stream) // 3 < _stored_now(settings), 30)
        # Just after a commit the collector holds nothing; a moment later it holds the next batch's start.
        await asyncio.sleep(0.3)
        await asyncio.to_thread(own_stack.mosquitto.stop, signal.SIGKILL)
        await asyncio.sleep(1.0)
        await asyncio.to_thread(own_stack.mosquitto.start)
        assert await publishing == len(stream)
        assert await wait_for_count(settings.database_url, STORED, [], len(stream), seconds=60) == len(stream)
    finally:
        stop.set()
        await asyncio.wait_for(collector, 60)


def _stored_now(settings: Settings) -> int:
    try:
        return count(settings.database_url, STORED)
    except psycopg.OperationalError:  # while the database is down there is simply no answer yet
        return -1
