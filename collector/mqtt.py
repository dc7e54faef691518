"""The broker connection: aiomqtt with acknowledgements sent by us, after the commit.

aiomqtt has no public manual acknowledgement yet (its issue #345); this is the one module that
reaches into its paho client for it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import cast

import aiomqtt
from aiomqtt import Message, ProtocolVersion
from paho.mqtt.client import MQTT_CLEAN_START_FIRST_ONLY
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from collector.inbox import Inbox, Received
from collector.topics import subscriptions
from yiwang.settings import Settings

_NEVER_EXPIRE = 0xFFFFFFFF


class Session:
    """One live connection: acknowledges what is committed, and tells when it is lost."""

    def __init__(self, client: aiomqtt.Client) -> None:
        self._client = client
        self._paho = client._client

    def ack(self, batch: Iterable[Received]) -> None:
        """Acknowledge committed messages. On a connection that has since dropped, the broker sends
        them again and the idempotent writes store nothing twice."""
        for received in batch:
            if received.message.qos > 0:
                self._paho.ack(received.message.mid, received.message.qos)

    async def lost(self) -> None:
        """Return when the connection is lost.

        The inbox keeps every message to itself, so aiomqtt's own iterator never yields; it only
        raises when the connection drops, which is exactly the signal wanted here.
        """
        try:
            async for _ in self._client.messages:
                pass
        except aiomqtt.MqttError:
            return


@asynccontextmanager
async def connect(settings: Settings, inbox: Inbox) -> AsyncIterator[Session]:
    """Connect with a persistent session, subscribe at QoS 1, and deliver every message to `inbox`.

    Raises:
        aiomqtt.MqttError: the broker cannot be reached or refuses us.
    """
    v5 = settings.mqtt_protocol == "5"
    properties = None
    if v5:
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        # The broker holds our session while we are away, and sends at most this many unacked.
        properties.SessionExpiryInterval = _NEVER_EXPIRE
        properties.ReceiveMaximum = settings.mqtt_receive_maximum
    client = aiomqtt.Client(
        settings.mqtt_host,
        settings.mqtt_port,
        identifier=settings.mqtt_client_id,
        username=settings.mqtt_username,
        password=settings.mqtt_password,
        protocol=ProtocolVersion.V5 if v5 else ProtocolVersion.V311,
        clean_session=None if v5 else False,
        clean_start=False if v5 else MQTT_CLEAN_START_FIRST_ONLY,
        properties=properties,
        keepalive=settings.mqtt_keepalive,
        queue_type=cast("type[asyncio.Queue[Message]]", lambda maxsize=0: inbox),
        timeout=10,
    )
    client._client.manual_ack_set(True)
    async with client:
        for topic_filter in subscriptions(settings.topic_root, settings.mqtt_shared_group):
            await client.subscribe(topic_filter, qos=1)
        yield Session(client)
