"""Several collectors in one shared-subscription group split one stream: every message stored once."""

from __future__ import annotations

import asyncio

from collector.metrics import Metrics
from collector.run import run as run_collector
from tests.support.broker import publish
from tests.support.messages import position_messages, reading_messages
from tests.support.registry import Devices
from tests.support.waiting import eventually, wait_for_count
from yiwang.settings import Settings


async def test_two_collectors_of_one_group_share_the_stream_and_store_each_message_once(
    settings: Settings, devices: Devices
) -> None:
    group = settings.model_copy(update={"mqtt_shared_group": f"g{settings.topic_root}"})
    stop = asyncio.Event()
    members = [Metrics(), Metrics()]
    tasks = [
        asyncio.create_task(
            run_collector(
                group.model_copy(update={"mqtt_client_id": f"{group.mqtt_client_id}-{n}"}), stop=stop, metrics=m
            )
        )
        for n, m in enumerate(members)
    ]
    try:
        for m in members:
            await eventually(lambda m=m: m.registry.get_sample_value("yiwang_collector_mqtt_connected") == 1)
        root = settings.topic_root
        stream = [
            *(m for meter in devices.meters for m in reading_messages(root, meter, 300)),
            *(m for vehicle in devices.vehicles for m in position_messages(root, vehicle, 300)),
        ]
        await publish(settings.mqtt_port, stream)
        url = settings.database_url
        readings = "SELECT count(*) FROM reading WHERE meter_id = ANY(%s)"
        positions = "SELECT count(*) FROM position WHERE vehicle_id = ANY(%s)"
        assert await wait_for_count(url, readings, [devices.meters], 900) == 900
        assert await wait_for_count(url, positions, [devices.vehicles], 900) == 900

        def taken(m: Metrics) -> float:
            return sum(m.registry.get_sample_value("yiwang_collector_messages_received_total", {"family": f}) or 0
                       for f in ("reading", "position"))  # fmt: skip

        await eventually(lambda: sum(taken(m) for m in members) == len(stream))
        # Each member took a share, and no message went to both.
        assert all(taken(m) > 0 for m in members)
        duplicates = sum(
            m.registry.get_sample_value("yiwang_collector_rows_duplicate_total", {"family": f}) or 0
            for m in members
            for f in ("reading", "position")
        )
        assert duplicates == 0
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), 60)
