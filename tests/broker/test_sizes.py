"""Sizes tell one story: a payload over the collector's limit leaves a dead letter; a packet over the broker's
limit is refused, never acknowledged, and the broker's log names the device (docs/device-protocol.md, "Sizes")."""

from __future__ import annotations

import asyncio
import shutil

import aiomqtt
import pytest

from broker import access
from collector.metrics import Metrics
from db.broker_accounts import DeviceAccount
from domain.topics import topic
from tests.support.broker import TESTER, TESTER_PASSWORD, issue, open_broker, publish, wait_until_admitted
from tests.support.registry import Devices
from tests.support.stack import make_stack_home
from tests.support.waiting import eventually, wait_for_count
from yiwang.settings import Settings
from yiwang.stack import Mosquitto, Stack, free_port


def _log_says(stack: Stack, text: str) -> bool:
    return text in (stack.mosquitto.home / "mosquitto.log").read_text(errors="replace")


async def test_a_packet_over_the_brokers_limit_is_not_acknowledged_and_is_logged(
    stack: Stack, settings: Settings, devices: Devices, collector: Metrics
) -> None:
    meter = devices.meters[0]
    secret = await issue(stack, meter)
    own = topic(settings.topic_root, "meter", meter, "reading")
    huge = b'{"time": "2026-03-02T08:00:00Z", "register": 1, "pad": "' + b"x" * stack.mosquitto.max_packet + b'"}'
    assert stack.mosquitto.device_port is not None
    # MQTT 3.1.1, as most meters speak: no PUBACK may tell the meter that a dropped message was taken.
    with pytest.raises(aiomqtt.MqttError):
        async with aiomqtt.Client(
            "127.0.0.1", stack.mosquitto.device_port, username=meter, password=secret, timeout=5
        ) as device:
            await device.publish(own, huge, qos=1)
    await eventually(lambda: _log_says(stack, f"Client {meter} disconnected due to oversize packet"), 10)


async def test_a_payload_over_the_collectors_limit_becomes_a_dead_letter(
    stack: Stack, settings: Settings, devices: Devices, collector: Metrics
) -> None:
    meter = devices.meters[1]
    secret = await issue(stack, meter)
    own = topic(settings.topic_root, "meter", meter, "reading")
    large = b'{"time": "2026-03-02T08:00:00Z", "register": 1, "pad": "' + b"x" * settings.max_payload_bytes + b'"}'
    assert settings.max_payload_bytes < len(large) < stack.mosquitto.max_packet
    assert stack.mosquitto.device_port is not None
    async with aiomqtt.Client("127.0.0.1", stack.mosquitto.device_port, username=meter, password=secret) as device:
        await device.publish(own, large, qos=1)
    refused = "SELECT count(*) FROM dead_letter WHERE topic = %s AND reason = 'oversize'"
    assert await wait_for_count(settings.database_url, refused, [own], 1) == 1


async def test_an_absent_subscribers_queue_is_bounded_in_bytes() -> None:
    """One device's flood of large messages, while the collector is away, stops at the queue's byte bound instead
    of filling the broker's memory (Mosquitto keeps queues in memory)."""
    home = make_stack_home("queue")
    broker = Mosquitto(home / "mosquitto", free_port(), device_port=free_port(), queued_bytes=1024 * 1024)
    meter, secret = "queue-meter", access.new_secret()
    open_broker(broker, [DeviceAccount(meter, "meter", access.mosquitto_hash(secret))])
    broker.start()
    try:
        own = topic("q", "meter", meter, "reading")
        login = {"username": TESTER, "password": TESTER_PASSWORD}
        async with aiomqtt.Client(
            "127.0.0.1", broker.port, identifier="yiwang-absent", clean_session=False, **login
        ) as c:
            await c.subscribe(own, qos=1)
        assert broker.device_port is not None
        await asyncio.to_thread(wait_until_admitted, broker.device_port, meter, secret)
        # 40 messages of 100 KB: 4 MB for a queue of 1 MiB.
        flood = [(own, bytes([65 + i]) * 100_000) for i in range(40)]
        assert await publish(broker.device_port, flood, username=meter, password=secret) == 40
        got: list[bytes] = []
        async with aiomqtt.Client(
            "127.0.0.1", broker.port, identifier="yiwang-absent", clean_session=False, **login
        ) as c:
            # Back online: what the queue kept arrives first, then a marker published now ends the wait.
            await publish(broker.device_port, [(own, b"marker")], username=meter, password=secret)
            async for message in c.messages:
                if message.payload == b"marker":
                    break
                got.append(bytes(message.payload))  # type: ignore[arg-type]
        assert 0 < len(got) <= 12  # 1 MiB of 100 KB messages, and the first in flight
        assert got == [payload for _, payload in flood[: len(got)]]  # the oldest kept, newer ones dropped
    finally:
        broker.stop()
        shutil.rmtree(home, ignore_errors=True)
