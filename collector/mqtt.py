"""The broker connection: aiomqtt with acknowledgements sent by us, after the commit.

aiomqtt has no public manual acknowledgement yet (its issue #345), nor a way to stop reading; this
is the one module that reaches into its paho client, for five things:
- reading the socket in large reads that serve many packets, not three reads a packet (collector/wire.py),
- taking each PUBLISH into the inbox, decoded by collector/wire.py: whole ones straight from those reads' bytes,
  the rest (cut by the end of a read) from paho's reader, which parses every other packet,
- acknowledging a message after its batch is committed (paho's manual_ack),
- acknowledging a batch in one write instead of a packet, a loop wake-up and a send per message,
- pausing the reader while the inbox is full (see collector/inbox.py).
"""

from __future__ import annotations

import asyncio
import ssl
import struct
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

import aiomqtt
from aiomqtt import ProtocolVersion
from paho.mqtt.client import MQTT_CLEAN_START_FIRST_ONLY, PUBACK, MQTTMessage, time_func
from paho.mqtt.enums import MQTTErrorCode
from paho.mqtt.exception import MalformedPacket
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from broker.tls import tls_params
from collector.inbox import Inbox, Received
from collector.metrics import Metrics
from collector.wire import Malformed, ReadAhead, decode_publish
from domain.topics import EMQX_JT808_UP, subscriptions
from yiwang.settings import Settings

_NEVER_EXPIRE = 0xFFFFFFFF
_PUBACK = struct.Struct("!BBH")  # type, remaining length 2, packet id: the same in MQTT 3.1.1 and 5


class Session:
    """One live connection: reads into the inbox, acknowledges what is committed, tells when it is lost."""

    def __init__(self, client: aiomqtt.Client, metrics: Metrics, inbox: Inbox, *, v5: bool) -> None:
        self._client = client
        self._metrics = metrics
        self._inbox = inbox
        self._v5 = v5
        self._paho = client._client
        self._loop = asyncio.get_running_loop()
        sock = self._paho.socket()
        if sock is None:
            raise aiomqtt.MqttError("the connection closed as it opened")
        self._fd = sock.fileno()
        self._paused = False
        # paho's packet reader now reads from one large socket read at a time (allowed once per wake-up in _read).
        self._ahead = ReadAhead(self._paho._sock_recv)
        self._paho._sock_recv = self._ahead  # type: ignore[method-assign]
        # Every packet paho parses is logged at DEBUG through aiomqtt's logger: a cost per message.
        self._paho.disable_logger()
        # Our reader replaces aiomqtt's on the same socket, so that it can be paused; aiomqtt still
        # removes it when the socket closes.
        self._loop.remove_reader(self._fd)
        self._loop.add_reader(self._fd, self._read)

    def _read(self) -> None:
        if self._paused or self._paho.socket() is None:
            return
        ahead, paho, put, v5 = self._ahead, self._paho, self._inbox.put, self._v5
        taken = False
        try:
            ahead.allow_read()
            # Every packet of one socket read: whole PUBLISH packets straight from its bytes into the inbox, any
            # other (or one not all read yet) by paho's reader, which continues a packet where it stopped. A TLS
            # socket may hold decrypted bytes that the selector cannot see: those are read too.
            while not self._paused and (sock := paho.socket()) is not None:
                if paho._in_packet["command"] == 0 and (frame := ahead.take_publish()) is not None:
                    put(*decode_publish(*frame, v5=v5))
                    taken = True
                    continue
                if ahead.exhausted:
                    if not (isinstance(sock, ssl.SSLSocket) and sock.pending()):
                        break
                    ahead.allow_read()
                paho.loop_read()
        except Exception as exc:  # as in aiomqtt's own reader: a failed read is a lost connection
            if not self._client._disconnected.done():
                self._client._disconnected.set_exception(exc)
        if taken:
            paho._last_bytes_received = time_func()  # what paho's reader notes for its keepalive

    def pause(self) -> None:
        """Stop reading; the broker holds what we have not read (and TCP slows it down), we one socket read at most."""
        self._paused = True
        self._metrics.paused.set(1)
        if self._paho.socket() is not None:
            self._loop.remove_reader(self._fd)

    def resume(self) -> None:
        self._paused = False
        self._metrics.paused.set(0)
        if self._paho.socket() is not None:
            self._loop.add_reader(self._fd, self._read)
            if self._ahead.buffered:
                # Read before the pause: the selector does not know of them.
                self._loop.call_soon(self._read)

    def ack(self, batch: Iterable[Received]) -> None:
        """Acknowledge committed messages, all in one write: paho's own ack costs a packet, a wake-up
        of the event loop and a send for each. On a connection that has since dropped, the broker
        sends them again and the idempotent writes store nothing twice."""
        acks = b"".join(_PUBACK.pack(PUBACK, 2, r.mid) for r in batch if r.qos == 1)
        if acks and self._paho.socket() is not None:
            self._paho._packet_queue(PUBACK, acks, 0, 0)

    async def lost(self) -> None:
        """Return when the connection is lost.

        Every message goes to the inbox, so aiomqtt's own iterator never yields; it only raises
        when the connection drops, which is exactly the signal wanted here.
        """
        try:
            async for _ in self._client.messages:
                pass
        except aiomqtt.MqttError:
            return


def emqx_subscriptions(settings: Settings) -> list[str]:
    """EMQX's JT/T 808 up topic, when the deployment reads it (outside the topic root: EMQX's own layout)."""
    if not settings.emqx_jt808:
        return []
    group = settings.mqtt_shared_group
    return [f"$share/{group}/{EMQX_JT808_UP}" if group else EMQX_JT808_UP]


def replaced_filters(settings: Settings) -> list[str]:
    """The plain filters a shared group replaces: a member's session may still hold them from a run outside the group
    under the same client id (a single collector made one of several), and would then get every message twice, as
    the whole stream and as its share. Unsubscribing one the session lacks is harmless."""
    if not settings.mqtt_shared_group:
        return []
    plain = settings.model_copy(update={"mqtt_shared_group": None})
    return subscriptions(settings.topic_root) + emqx_subscriptions(plain)


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
        tls_params=tls_params(settings),
        timeout=10,
    )
    paho = client._client
    paho.manual_ack_set(True)
    handle_any_publish = paho._handle_publish

    def handle_publish() -> MQTTErrorCode:
        # Called by paho's reader with a whole PUBLISH in _in_packet. QoS 0 and 1 (what we subscribe at) go
        # straight into the inbox, acknowledged after their commit; QoS 2 takes paho's way (its PUBREC first).
        packet = paho._in_packet
        header = packet["command"]
        if header & 0x06 == 0x04:
            return handle_any_publish()
        try:
            inbox.put(*decode_publish(header, packet["packet"], v5=v5))
        except Malformed as exc:
            raise MalformedPacket(str(exc)) from exc  # paho closes the connection, as for its own decoding
        return MQTTErrorCode.MQTT_ERR_SUCCESS

    def on_message(_client: object, _userdata: object, message: MQTTMessage) -> None:
        inbox.put(message.topic, bytes(message.payload), message.mid, message.qos)

    # Set before connecting, so that no message takes aiomqtt's way: its Message (which copies MQTT 5
    # properties), Topic and queue cost more than this per message, and paho's own MQTTMessage too.
    paho._handle_publish = handle_publish  # type: ignore[method-assign]
    paho.on_message = on_message
    async with client:
        session = Session(client, metrics, inbox, v5=v5)
        filters = subscriptions(settings.topic_root, settings.mqtt_shared_group) + emqx_subscriptions(settings)
        for topic_filter in filters:
            await client.subscribe(topic_filter, qos=1)
        # After the group's subscriptions, so that no message falls between the two.
        for topic_filter in replaced_filters(settings):
            await client.unsubscribe(topic_filter)
        # Only now may the inbox pause reading: Mosquitto sends a resumed session's first window of
        # messages before the SUBACK, and a paused reader would never see it.
        inbox.flow = session
        yield session
