"""A collector speaking MQTT 5 stores what devices send, whatever PUBLISH properties come with it."""

from __future__ import annotations

import aiomqtt
import orjson
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from collector.metrics import Metrics
from domain.topics import topic
from tests.support.broker import TESTER, TESTER_PASSWORD
from tests.support.collector import collecting
from tests.support.messages import reading_messages, reading_payload
from tests.support.registry import Devices, register_devices
from tests.support.stack import settings_for
from tests.support.waiting import count, eventually, wait_for_count
from yiwang.settings import Settings
from yiwang.stack import Stack

READINGS_OF = "SELECT count(*) FROM reading WHERE meter_id = ANY(%s)"


def properties(**values: object) -> Properties:
    props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    for name, value in values.items():
        setattr(props, name, value)
    return props


async def publish_v5(port: int, messages: list[tuple[str, bytes, Properties | None]]) -> None:
    """Publish at QoS 1 as an MQTT 5 client (as an EMQX gateway or a modern terminal does), each with its properties."""
    async with aiomqtt.Client(
        "127.0.0.1", port, username=TESTER, password=TESTER_PASSWORD, protocol=aiomqtt.ProtocolVersion.V5
    ) as client:
        for name, payload, props in messages:
            await client.publish(name, payload, qos=1, properties=props)


@pytest.fixture
def settings(stack: Stack, tag: str) -> Settings:
    return settings_for(stack, tag, mqtt_protocol="5")


@pytest.fixture
async def devices(settings: Settings, tag: str) -> Devices:
    return await register_devices(settings.database_url, tag, meters=2, vehicles=0)


async def test_messages_with_every_kind_of_publish_property_are_stored_once(
    settings: Settings, devices: Devices
) -> None:
    meter = devices.meters[0]
    name = topic(settings.topic_root, "meter", meter, "reading")
    kinds = [
        None,
        properties(UserProperty=[("gateway", "emqx"), ("单位", "机关事务管理局")]),
        properties(ContentType="application/json", PayloadFormatIndicator=1),
        properties(MessageExpiryInterval=3600, ResponseTopic="a/reply", CorrelationData=b"\x00\x01" * 200),
    ]
    sent = [(name, orjson.dumps(reading_payload(i)), kinds[i % len(kinds)]) for i in range(400)]
    async with collecting(settings) as metrics:
        await publish_v5(settings.mqtt_port, sent)
        assert await wait_for_count(settings.database_url, READINGS_OF, [[meter]], 400) == 400
        await eventually(lambda: received(metrics) >= 400)
    assert received(metrics) == 400  # each taken once: acknowledged, not sent again
    assert count(settings.database_url, "SELECT count(*) FROM dead_letter WHERE topic = %s", [name]) == 0


async def test_a_property_that_paho_cannot_read_does_not_stop_the_collector(
    settings: Settings, devices: Devices
) -> None:
    # U+FEFF is allowed in an MQTT 5 string [MQTT-1.5.4-3] and Mosquitto passes it on; paho's decoder calls the
    # packet malformed and drops the connection, and the broker sends the same message first again after every
    # reconnection: nothing after it was ever stored.
    meter, other = devices.meters
    odd = (topic(settings.topic_root, "meter", meter, "reading"), orjson.dumps(reading_payload(0)))
    after = reading_messages(settings.topic_root, other, 50)
    async with collecting(settings):
        await publish_v5(settings.mqtt_port, [(*odd, properties(UserProperty=[("note", "\ufeff")]))])
        await publish_v5(settings.mqtt_port, [(name, payload, None) for name, payload in after])
        assert await wait_for_count(settings.database_url, READINGS_OF, [[other]], 50, seconds=20) == 50
        assert count(settings.database_url, READINGS_OF, [[meter]]) == 1


def received(metrics: Metrics) -> float:
    return metrics.registry.get_sample_value("yiwang_collector_messages_received_total", {"family": "reading"}) or 0
