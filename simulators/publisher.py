"""Publishing the simulators over MQTT at QoS 1: one reconnecting connection, live runs on a sim clock, backfill.

Messages go into an outbox; a fixed number of workers (the in-flight window) publish from it, each
waiting for the broker's PUBACK. A message is counted only once confirmed. When the connection drops,
the messages in flight go back to the outbox and are published again after reconnecting: the broker
may then hold a message twice, which the collector's idempotent writes absorb, and no count is lost.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import Counter, deque
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

import aiomqtt
from aiomqtt import ProtocolVersion

from broker.tls import tls_params
from simulators.city import City
from simulators.clock import SimClock
from simulators.codes import JT808_CODES, Codes
from simulators.faults import Faults, Injected
from simulators.feeds import MeterFeed, VehicleFeed
from simulators.messages import Message
from simulators.meters import day_start, local_day
from simulators.terminal import connected, on_jt808
from yiwang.settings import Settings

log = logging.getLogger(__name__)

LIVE_WINDOW = 200  # messages in flight at once in a live run
BACKFILL_WINDOW = 1000  # in a backfill: as fast as the broker acknowledges
_BACKOFF = (0.1, 5.0)  # s, first and longest wait before reconnecting
_PUBLISH_TIMEOUT = 30.0  # s for a PUBACK before the connection counts as broken

Kind = Literal["meters", "vehicles"]


@dataclass
class Tally:
    """What the broker confirmed, what the collector should make of it, and what was injected.

    `items` counts the readings and positions the collector should store: items of confirmed messages
    that are neither duplicates nor malformed, and fixes the JT/T 808 gateway acknowledged. `dead_letters` counts
    the malformed messages by the reason the collector should record. `terminals` counts what the JT/T 808
    terminals did (simulators/terminal.py).
    """

    messages: Counter[str] = field(default_factory=Counter)
    items: Counter[str] = field(default_factory=Counter)
    duplicates: int = 0
    dead_letters: Counter[str] = field(default_factory=Counter)
    injected: Injected = field(default_factory=Injected)
    reconnects: int = 0
    resent: int = 0
    terminals: Counter[str] = field(default_factory=Counter)

    def confirm(self, message: Message) -> None:
        self.messages[message.family] += 1
        if message.duplicate:
            self.duplicates += 1
        elif message.verdict is not None:
            self.dead_letters[message.verdict] += 1
        else:
            self.items[message.family] += message.items

    def summary(self) -> dict[str, object]:
        """Plain data for a log line or the command's output."""
        return {
            "messages": dict(self.messages),
            "items": dict(self.items),
            "duplicates": self.duplicates,
            "dead_letters": {str(k): v for k, v in self.dead_letters.items()},
            "injected": {str(k): v for k, v in self.injected.counts.items()},
            "reconnects": self.reconnects,
            "resent": self.resent,
            "jt808": dict(self.terminals),
        }


class Outbox:
    """Messages on their way to the broker; each is counted once the broker has confirmed it."""

    def __init__(self, tally: Tally, capacity: int) -> None:
        self.tally = tally
        self._queue: asyncio.Queue[Message] = asyncio.Queue(capacity)
        self._again: deque[Message] = deque()
        self._open = 0
        self._settled = asyncio.Event()
        self._settled.set()

    async def put(self, message: Message) -> None:
        """Queue a message; waits while the outbox is full (the broker sets the pace)."""
        self._open += 1
        self._settled.clear()
        await self._queue.put(message)

    async def put_all(self, messages: Iterable[Message]) -> None:
        for message in messages:
            await self.put(message)

    async def take(self) -> Message:
        if self._again:
            return self._again.popleft()
        return await self._queue.get()

    def give_back(self, message: Message) -> None:
        """A message whose publication was interrupted: it goes out again first."""
        self._again.append(message)
        self.tally.resent += 1

    def confirm(self, message: Message) -> None:
        self.tally.confirm(message)
        self._open -= 1
        if not self._open:
            self._settled.set()

    async def settled(self) -> None:
        """Wait until every queued message is confirmed."""
        await self._settled.wait()


@asynccontextmanager
async def publishing(
    settings: Settings, identifier: str, *, tally: Tally, window: int = LIVE_WINDOW
) -> AsyncIterator[Outbox]:
    """An outbox drained by a connection that reconnects by itself; on exit, waits until all is confirmed.

    Args:
        settings: the broker (mqtt_host, mqtt_port, credentials, protocol, keepalive).
        identifier: the MQTT client id.
        tally: where confirmed messages are counted.
        window: messages in flight at once (`max_inflight_messages` of the client).
    """
    outbox = Outbox(tally, capacity=4 * window)
    async with asyncio.TaskGroup() as group:
        delivery = group.create_task(_deliver(settings, identifier, outbox, window))
        try:
            yield outbox
            await outbox.settled()
        finally:
            delivery.cancel()


def _client(settings: Settings, identifier: str, window: int) -> aiomqtt.Client:
    client = aiomqtt.Client(
        settings.mqtt_host,
        settings.mqtt_port,
        identifier=identifier,
        username=settings.mqtt_username,
        password=settings.mqtt_password,
        protocol=ProtocolVersion.V5 if settings.mqtt_protocol == "5" else ProtocolVersion.V311,
        keepalive=settings.mqtt_keepalive,
        max_inflight_messages=window,
        tls_params=tls_params(settings),
        timeout=_PUBLISH_TIMEOUT,
    )
    # A full window is the normal state here, not the warning aiomqtt means it to be.
    client.pending_calls_threshold = window + 16
    return client


async def _deliver(settings: Settings, identifier: str, outbox: Outbox, window: int) -> None:
    """Publish from the outbox for ever, reconnecting with backoff whenever the broker goes away."""
    backoff = _BACKOFF[0]
    while True:
        try:
            async with _client(settings, identifier, window) as client:
                backoff = _BACKOFF[0]
                async with asyncio.TaskGroup() as group:
                    group.create_task(_watch(client))
                    for _ in range(window):
                        group.create_task(_work(client, outbox))
        except* aiomqtt.MqttError as errors:
            outbox.tally.reconnects += 1
            log.warning(
                "MQTT broker %s:%s unreachable or lost (%s); reconnecting in %.1f s",
                settings.mqtt_host,
                settings.mqtt_port,
                errors.exceptions[0],
                backoff,
            )
        await asyncio.sleep(backoff)
        backoff = min(backoff * 2, _BACKOFF[1])


async def _watch(client: aiomqtt.Client) -> None:
    """Raise as soon as the connection drops (aiomqtt's message iterator does), so the workers stop at once
    instead of each waiting out its PUBACK timeout."""
    async for _ in client.messages:
        pass
    raise aiomqtt.MqttError("the broker closed the connection")


async def _work(client: aiomqtt.Client, outbox: Outbox) -> None:
    while True:
        message = await outbox.take()
        try:
            await client.publish(message.topic, message.payload, qos=1)
        except BaseException:
            outbox.give_back(message)
            raise
        outbox.confirm(message)


def faults_of(settings: Settings) -> Faults:
    """Every kind of fault, at the `sim_faults` level."""
    return Faults(level=settings.sim_faults)


async def run_meters(
    settings: Settings,
    city: City,
    *,
    start: datetime | None = None,
    stop_after: float | None = None,
    faults: Faults | None = None,
    tally: Tally | None = None,
) -> Tally:
    """Publish every meter's reading each `sim_meter_interval_s` of sim time, until cancelled or `stop_after`.

    Args:
        settings: broker, topic root, seed, interval, acceleration (`sim_*`).
        city: whose meters.
        start: sim time at the start (default now); readings fall on the interval's boundaries.
        stop_after: sim seconds after `start` to stop at; None runs until cancelled.
        faults: what to inject; default every kind at the `sim_faults` level.
        tally: counts to update as messages are confirmed (readable after a cancellation too).

    Returns:
        The tally, once everything published has been confirmed.
    """
    tally = tally if tally is not None else Tally()
    clock = SimClock(start or datetime.now(UTC), settings.sim_acceleration)
    feed = MeterFeed(
        city,
        seed=settings.sim_seed,
        root=settings.topic_root,
        faults=faults if faults is not None else faults_of(settings),
        interval=settings.sim_meter_interval_s,
        start=clock.start,
        injected=tally.injected,
    )
    end = clock.start + stop_after if stop_after is not None else math.inf
    async with publishing(settings, f"{settings.sim_client_id}-meters", tally=tally) as outbox:
        t = feed.first_tick(clock.start)
        while t < end:
            await clock.sleep_until(t)
            await outbox.put_all(feed.tick(t))
            t += feed.interval
    return tally


async def run_vehicles(
    settings: Settings,
    city: City,
    *,
    start: datetime | None = None,
    stop_after: float | None = None,
    faults: Faults | None = None,
    tally: Tally | None = None,
) -> Tally:
    """Drive the city's vehicles and publish their terminals' reports, until cancelled or `stop_after`.

    The fleet advances every `sim_vehicle_interval_s` of sim time; terminals report at that interval
    with the ignition on, every 5 minutes parked, and upload blind-zone arrays when back in coverage.
    A share of the fleet (`sim_jt808_share`) reports over JT/T 808 to the gateway at `jt808_host:jt808_port`
    instead (simulators/terminal.py); faults are injected into the MQTT messages only.
    Args as `run_meters`.
    """
    tally = tally if tally is not None else Tally()
    clock = SimClock(start or datetime.now(UTC), settings.sim_acceleration)
    jt808 = [i for i, v in enumerate(city.vehicles) if on_jt808(settings.sim_seed, v.id, settings.sim_jt808_share)]
    feed = VehicleFeed(
        city,
        seed=settings.sim_seed,
        root=settings.topic_root,
        faults=faults if faults is not None else faults_of(settings),
        interval=settings.sim_vehicle_interval_s,
        start=clock.start,
        injected=tally.injected,
        jt808=jt808,
    )
    end = clock.start + stop_after if stop_after is not None else math.inf
    async with (
        publishing(settings, f"{settings.sim_client_id}-vehicles", tally=tally) as outbox,
        connected(
            city,
            jt808,
            seed=settings.sim_seed,
            host=settings.jt808_host,
            port=settings.jt808_port,
            counts=tally.terminals,
            items=tally.items,
            codes=Codes(settings.home / JT808_CODES),
        ) as terminals,
    ):
        t = clock.start
        while t < end:
            t = min(t + settings.sim_vehicle_interval_s, end)
            await clock.sleep_until(t)
            # Stepping thousands of vehicles takes a while: off the loop, so the connections keep talking.
            messages, uploads = await asyncio.to_thread(feed.advance, t)
            terminals.report(uploads)
            await outbox.put_all(messages)
    return tally


async def backfill(
    settings: Settings,
    city: City,
    start: datetime,
    end: datetime,
    kinds: Iterable[Kind] = ("meters", "vehicles"),
    *,
    faults: Faults | None = None,
    tally: Tally | None = None,
    window: int = BACKFILL_WINDOW,
    told: Callable[[float, float], None] | None = None,
) -> Tally:
    """Put the history of [start, end) in through the same MQTT ingest path, as fast as the broker takes it.

    Day by day, so that the database fills its chunks in time order: each meter's readings of the day
    in one array message, then the vehicles' fixes in arrays of up to 200 (blind-zone fixes keep their
    mark). The client id ends in `-backfill`, which is how the broker's log tells history from live data.

    Args:
        settings: broker, topic root, seed and intervals (`sim_*`).
        city: whose devices.
        start: first instant of the history (timezone-aware).
        end: the instant after it.
        kinds: "meters", "vehicles" or both.
        faults: what to inject; default every kind at the `sim_faults` level (late batches do not apply).
        tally: counts to update.
        window: messages in flight at once.
        told: hears the hours of history put in so far and of all of it, as they go.

    Returns:
        The tally, once the broker confirmed everything.
    """
    chosen = set(kinds)
    if not chosen <= {"meters", "vehicles"}:
        raise ValueError(f"kinds are 'meters' and 'vehicles', not {sorted(chosen - {'meters', 'vehicles'})}")
    tally = tally if tally is not None else Tally()
    faults = faults if faults is not None else faults_of(settings)
    t0, t1 = start.timestamp(), end.timestamp()
    seed, root, injected = settings.sim_seed, settings.topic_root, tally.injected
    meters: MeterFeed | None = None
    vehicles: VehicleFeed | None = None
    if "meters" in chosen:
        meters = MeterFeed(
            city, seed=seed, root=root, faults=faults, interval=settings.sim_meter_interval_s, start=t0, end=t1,
            injected=injected,
        )  # fmt: skip
    if "vehicles" in chosen:
        vehicles = VehicleFeed(
            city, seed=seed, root=root, faults=faults, interval=settings.sim_vehicle_interval_s, start=t0,
            injected=injected,
        )  # fmt: skip
    async with publishing(settings, f"{settings.sim_client_id}-backfill", tally=tally, window=window) as outbox:
        hours = (t1 - t0) / 3600

        def tell(until: float) -> None:
            if told is not None:
                told((until - t0) / 3600, hours)

        for day in range(local_day(t0), local_day(t1) + 1):
            if meters is not None:
                await outbox.put_all(await asyncio.to_thread(meters.day, day, t0, t1))
                if vehicles is None:
                    tell(min(t1, day_start(day + 1)))
            if vehicles is not None:
                hour, last = max(t0, day_start(day)), min(t1, day_start(day + 1))
                while hour < last:
                    until = min(hour + 3600, last)
                    # Fix times are whole seconds; stop just short of `until` to keep [start, end) half-open.
                    batch = await asyncio.to_thread(vehicles.history, until - 1e-3, flush=until >= last)
                    await outbox.put_all(batch)
                    hour = until
                    tell(until)
    return tally
