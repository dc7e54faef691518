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


def _sample(m: Metrics, name: str) -> float:
    return sum(m.registry.get_sample_value(name, {"family": f}) or 0 for f in ("reading", "position"))


async def test_a_collector_that_joins_a_group_takes_only_its_share_not_the_whole_stream_too(
    settings: Settings, devices: Devices
) -> None:
    """A single collector made the first member of a group (compose's upgrade to replicas) keeps its client id, whose
    session still holds its subscriptions of before: through them it would still get the whole stream, and every
    message the group hands to the other member would be taken twice."""
    first = settings.model_copy(update={"mqtt_client_id": f"{settings.mqtt_client_id}-first"})
    stop = asyncio.Event()
    alone = Metrics()
    task = asyncio.create_task(run_collector(first, stop=stop, metrics=alone))
    await eventually(lambda: alone.registry.get_sample_value("yiwang_collector_mqtt_connected") == 1)
    stop.set()
    await asyncio.wait_for(task, 60)

    group = first.model_copy(update={"mqtt_shared_group": f"g{settings.topic_root}"})
    second = group.model_copy(update={"mqtt_client_id": f"{settings.mqtt_client_id}-second"})
    stop = asyncio.Event()
    members = [Metrics(), Metrics()]
    tasks = [
        asyncio.create_task(run_collector(s, stop=stop, metrics=m))
        for s, m in zip((group, second), members, strict=True)
    ]
    try:
        for m in members:
            await eventually(lambda m=m: m.registry.get_sample_value("yiwang_collector_mqtt_connected") == 1)
        root, url = settings.topic_root, settings.database_url
        readings = "SELECT count(*) FROM reading WHERE meter_id = ANY(%s)"
        sent = 0
        # Two rounds: once the second round is stored, any second copy of the first has arrived too.
        for begin in (0, 200):
            stream = [m for meter in devices.meters for m in reading_messages(root, meter, 200, first=begin)]
            sent += await publish(settings.mqtt_port, stream)
            assert await wait_for_count(url, readings, [devices.meters], sent) == sent
        taken = "yiwang_collector_messages_received_total"
        await eventually(lambda: sum(_sample(m, taken) for m in members) >= sent)
        assert [_sample(m, taken) > 0 for m in members] == [True, True]
        assert sum(_sample(m, taken) for m in members) == sent
        assert sum(_sample(m, "yiwang_collector_rows_duplicate_total") for m in members) == 0
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), 60)
