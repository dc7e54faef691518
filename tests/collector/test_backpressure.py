"""While the database cannot keep up, the collector stops reading instead of filling its memory."""

from __future__ import annotations

import asyncio

import psycopg

from collector.metrics import Metrics
from collector.run import run as run_collector
from tests.support.broker import publish
from tests.support.messages import reading_messages
from tests.support.registry import Devices, register_devices
from tests.support.stack import settings_for
from tests.support.waiting import eventually, wait_for_count
from yiwang.stack import Stack


async def test_a_stalled_database_pauses_reading_and_everything_is_stored_after(stack: Stack, tag: str) -> None:
    settings = settings_for(stack, tag, batch_size=100, batch_wait_ms=20, inbox_limit=300)
    devices: Devices = await register_devices(settings.database_url, tag, meters=4, vehicles=0)
    stream = [m for meter in devices.meters for m in reading_messages(settings.topic_root, meter, 1000)]
    stop = asyncio.Event()
    metrics = Metrics()
    collector = asyncio.create_task(run_collector(settings, stop=stop, metrics=metrics))
    sample = metrics.registry.get_sample_value
    try:
        await eventually(lambda: sample("yiwang_collector_mqtt_connected") == 1)
        async with await psycopg.AsyncConnection.connect(stack.postgres.url) as blocker:
            # Writes into `reading` wait behind this lock: a database that has stopped keeping up.
            await blocker.execute("LOCK TABLE reading IN ACCESS EXCLUSIVE MODE")
            await publish(settings.mqtt_port, stream)
            await eventually(lambda: sample("yiwang_collector_paused") == 1, 20)
            await asyncio.sleep(0.5)
            # Nothing committed; the rest waits at the broker, not in the collector.
            assert (sample("yiwang_collector_messages_received_total", {"family": "reading"}) or 0) == 0
            await blocker.rollback()
        stored = "SELECT count(*) FROM reading WHERE meter_id = ANY(%s)"
        assert await wait_for_count(settings.database_url, stored, [devices.meters], len(stream)) == len(stream)
        assert sample("yiwang_collector_paused") == 0
    finally:
        stop.set()
        await asyncio.wait_for(collector, 60)


async def test_what_was_read_before_a_pause_is_taken_after_it_though_the_socket_stays_quiet(
    stack: Stack, tag: str
) -> None:
    # One socket read brings hundreds of these messages; an inbox of 20 pauses the reader with most of them read
    # and not yet parsed. The broker has sent everything, so only the collector itself can take them up again.
    settings = settings_for(stack, tag, batch_size=10, batch_wait_ms=20, inbox_limit=20)
    devices: Devices = await register_devices(settings.database_url, tag, meters=1, vehicles=0)
    stream = reading_messages(settings.topic_root, devices.meters[0], 500)
    stop = asyncio.Event()
    metrics = Metrics()
    collector = asyncio.create_task(run_collector(settings, stop=stop, metrics=metrics))
    try:
        await eventually(lambda: metrics.registry.get_sample_value("yiwang_collector_mqtt_connected") == 1)
        await publish(settings.mqtt_port, stream)
        stored = "SELECT count(*) FROM reading WHERE meter_id = ANY(%s)"
        assert await wait_for_count(settings.database_url, stored, [devices.meters], len(stream)) == len(stream)
    finally:
        stop.set()
        await asyncio.wait_for(collector, 60)
