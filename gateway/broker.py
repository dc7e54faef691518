"""The gateway's one broker connection: opened in `connected`, kept up while the gateway runs, closed at the end.

A publication is done when the broker has acknowledged it: aiomqtt's `publish(qos=1)` waits for paho's
`on_publish`, which paho calls for QoS 1 only when the PUBACK arrives (aiomqtt 2.5 client.py `publish`,
paho `_handle_pubackcomp`). While the broker is away `publish` raises `BrokerAway` at once, and the terminal goes
unanswered: it sends the message again later (JT/T 808 section 4.4.5), and the collector stores a resent fix once.
The session is clean: nothing the gateway published but did not see acknowledged is worth resending, since the
terminal resends it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiomqtt
from aiomqtt import ProtocolVersion

from broker.tls import tls_params
from gateway.metrics import Metrics
from yiwang.settings import Settings

log = logging.getLogger(__name__)

_RETRY_FIRST, _RETRY_MAX = 0.5, 10.0


class BrokerAway(Exception):
    """The broker did not acknowledge a publication: it is away, or it did not answer in time."""


class Broker:
    """Publishes at QoS 1 through whichever connection is up now."""

    def __init__(self, settings: Settings, metrics: Metrics) -> None:
        self._settings = settings
        self._metrics = metrics
        self._client: aiomqtt.Client | None = None
        self._timeout = settings.gateway_publish_timeout_seconds

    async def publish(self, topic: str, payload: bytes) -> None:
        """Return once the broker has acknowledged `payload` on `topic`.

        Raises:
            BrokerAway: not connected, the connection dropped, or no PUBACK within the publish timeout.
        """
        client = self._client
        if client is None:
            raise BrokerAway("not connected to the broker")
        try:
            await client.publish(topic, payload, qos=1, timeout=self._timeout)
        except aiomqtt.MqttError as exc:
            raise BrokerAway(str(exc)) from exc

    async def keep_connected(self, stop: asyncio.Event) -> None:
        """Until `stop`: connect, and connect again whenever the connection is lost (with a growing pause)."""
        pause = _RETRY_FIRST
        while not stop.is_set():
            try:
                async with self._client_of() as client:
                    self._client = client
                    self._metrics.mqtt_connected.set(1)
                    log.info("connected to the broker at %s:%s", self._settings.mqtt_host, self._settings.mqtt_port)
                    pause = _RETRY_FIRST
                    await _until_lost_or(client, stop)
            except aiomqtt.MqttError as exc:
                log.warning("broker connection: %s; again in %.1f s", exc, pause)
            finally:
                self._client = None
                self._metrics.mqtt_connected.set(0)
            if stop.is_set():
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), pause)
            pause = min(pause * 2, _RETRY_MAX)

    def _client_of(self) -> aiomqtt.Client:
        s = self._settings
        client = aiomqtt.Client(
            s.mqtt_host,
            s.mqtt_port,
            identifier=s.gateway_client_id,
            username=s.mqtt_username,
            password=s.mqtt_password,
            protocol=ProtocolVersion.V5 if s.mqtt_protocol == "5" else ProtocolVersion.V311,
            clean_session=None if s.mqtt_protocol == "5" else True,
            keepalive=s.mqtt_keepalive,
            tls_params=tls_params(s),
            timeout=10,
            # paho's window of QoS 1 publications awaiting their PUBACK (its default, 20, would make every terminal
            # of a busy gateway wait on a few); beyond it paho queues them, in order.
            max_inflight_messages=s.gateway_max_inflight,
        )
        # aiomqtt warns above this many publications awaiting their PUBACK: as many as the window is normal here.
        client.pending_calls_threshold = s.gateway_max_inflight
        return client


async def _until_lost_or(client: aiomqtt.Client, stop: asyncio.Event) -> None:
    """Return when the connection is lost or `stop` is set. The gateway subscribes to nothing, so aiomqtt's message
    iterator yields nothing and only raises when the connection drops."""

    async def lost() -> None:
        with contextlib.suppress(aiomqtt.MqttError):
            async for _ in client.messages:
                pass
        log.warning("lost the broker connection")

    losing = asyncio.ensure_future(lost())
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait((losing, stopping), return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (losing, stopping):
            task.cancel()
        await asyncio.gather(losing, stopping, return_exceptions=True)


@asynccontextmanager
async def connected(settings: Settings, metrics: Metrics) -> AsyncIterator[Broker]:
    """The gateway's broker, connecting (and reconnecting) in the background until the block ends."""
    broker = Broker(settings, metrics)
    ended = asyncio.Event()
    task = asyncio.create_task(broker.keep_connected(ended))
    try:
        yield broker
    finally:
        ended.set()
        await task
