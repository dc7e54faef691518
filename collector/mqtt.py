"""The broker connection: aiomqtt with acknowledgements sent by us, after the commit.

aiomqtt has no public manual acknowledgement yet (its issue #345), nor a way to stop reading; this
is the one module that reaches into its paho client, for three things:
- acknowledging a message after its batch is committed (paho's manual_ack),
- reading the socket in large chunks: paho reads a packet with three or four recv calls, and
  aiomqtt's reader handles one packet per event-loop turn; buffered, the collector reads about
  1.5 times as many messages per second (bench/ingest),
- pausing the reader while the inbox is full (see collector/inbox.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any, cast

import aiomqtt
from aiomqtt import Message, ProtocolVersion
from paho.mqtt.client import MQTT_CLEAN_START_FIRST_ONLY
from paho.mqtt.enums import MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from collector.inbox import Inbox, Received
from collector.metrics import Metrics
from collector.topics import subscriptions
from yiwang.settings import Settings

_NEVER_EXPIRE = 0xFFFFFFFF
_READ_SIZE = 1 << 18
# Packets read per event-loop turn: enough to amortise the turn, few enough that committing,
# acknowledging and the metrics endpoint get their turn during a flood.
_PACKETS_PER_TURN = 500


class _BufferedSocket:
    """paho's socket, read in large chunks and served to paho's small reads from memory."""

    def __init__(self, sock: Any) -> None:
        self._sock = sock
        self._data = b""
        self._at = 0

    def recv(self, size: int) -> bytes:
        if self._at >= len(self._data):
            self._data = self._sock.recv(_READ_SIZE)  # BlockingIOError when there is nothing: paho expects it
            self._at = 0
        chunk = self._data[self._at : self._at + size]
        self._at += len(chunk)
        return chunk

    def pending(self) -> int:
        return len(self._data) - self._at

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class Session:
    """One live connection: reads into the inbox, acknowledges what is committed, tells when it is lost."""

    def __init__(self, client: aiomqtt.Client, metrics: Metrics) -> None:
        self._client = client
        self._metrics = metrics
        self._paho = client._client
        self._loop = asyncio.get_running_loop()
        self._sock = _BufferedSocket(self._paho._sock)
        self._fd: int = self._sock.fileno()
        self._paused = False
        # Our reader replaces aiomqtt's on the same socket; aiomqtt still removes it when the socket closes.
        self._paho._sock = self._sock
        self._loop.remove_reader(self._fd)
        self._loop.add_reader(self._fd, self._read)

    def _read(self) -> None:
        try:
            for _ in range(_PACKETS_PER_TURN):
                # Each packet may fill the inbox and pause us; what is left stays in the buffer till resume.
                if self._paused or self._paho._sock is None:
                    return
                if self._paho.loop_read() != MQTTErrorCode.MQTT_ERR_SUCCESS or not self._sock.pending():
                    return
            # More is buffered, and the socket may have nothing new to wake us: come back next turn.
            self._loop.call_soon(self._read)
        except Exception as exc:  # as in aiomqtt's own reader: a failed read is a lost connection
            if not self._client._disconnected.done():
                self._client._disconnected.set_exception(exc)

    def pause(self) -> None:
        """Stop reading; the broker holds what we have not read (and TCP slows it down)."""
        self._paused = True
        self._metrics.paused.set(1)
        if self._paho._sock is not None:
            self._loop.remove_reader(self._fd)

    def resume(self) -> None:
        self._paused = False
        self._metrics.paused.set(0)
        if self._paho._sock is not None:
            self._loop.add_reader(self._fd, self._read)
            self._loop.call_soon(self._read)

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
async def connect(settings: Settings, inbox: Inbox, metrics: Metrics) -> AsyncIterator[Session]:
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
        session = Session(client, metrics)
        inbox.flow = session
        for topic_filter in subscriptions(settings.topic_root, settings.mqtt_shared_group):
            await client.subscribe(topic_filter, qos=1)
        yield session
