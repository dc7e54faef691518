"""Sizes tell one story: a payload over the collector's limit leaves a dead letter; a packet over the broker's
limit is refused, never acknowledged, and the broker's log names the device (docs/device-protocol.md, "Sizes")."""

from __future__ import annotations

import asyncio

import aiomqtt
import psycopg
import pytest

from broker import access
from collector.metrics import Metrics
from domain.topics import topic
from tests.support.broker import ANY_ROOT, files_of, wait_until_admitted
from tests.support.registry import Devices
from tests.support.waiting import eventually, wait_for_count
from yiwang.settings import Settings
from yiwang.stack import Stack


async def _issue(stack: Stack, device_id: str) -> str:
    async with await psycopg.AsyncConnection.connect(stack.postgres.url) as conn:
        issued = await access.issue_device_credentials(conn, renew=[device_id])
        await conn.commit()
        await access.sync(conn, ANY_ROOT, files_of(stack.mosquitto))
    stack.mosquitto.reload()
    secret = {d: p for _, d, p in issued}[device_id]
    assert stack.mosquitto.device_port is not None
    await asyncio.to_thread(wait_until_admitted, stack.mosquitto.device_port, device_id, secret)
    return secret


def _log_says(stack: Stack, text: str) -> bool:
    return text in (stack.mosquitto.home / "mosquitto.log").read_text(errors="replace")


async def test_a_packet_over_the_brokers_limit_is_not_acknowledged_and_is_logged(
    stack: Stack, settings: Settings, devices: Devices, collector: Metrics
) -> None:
    meter = devices.meters[0]
    secret = await _issue(stack, meter)
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
    secret = await _issue(stack, meter)
    own = topic(settings.topic_root, "meter", meter, "reading")
    large = b'{"time": "2026-03-02T08:00:00Z", "register": 1, "pad": "' + b"x" * settings.max_payload_bytes + b'"}'
    assert settings.max_payload_bytes < len(large) < stack.mosquitto.max_packet
    assert stack.mosquitto.device_port is not None
    async with aiomqtt.Client("127.0.0.1", stack.mosquitto.device_port, username=meter, password=secret) as device:
        await device.publish(own, large, qos=1)
    refused = "SELECT count(*) FROM dead_letter WHERE topic = %s AND reason = 'oversize'"
    assert await wait_for_count(settings.database_url, refused, [own], 1) == 1
