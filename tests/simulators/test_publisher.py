"""The publisher against a real Mosquitto: what arrives is what the simulator says it published."""

from __future__ import annotations

import asyncio
import shutil
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import aiomqtt
import orjson
import pytest

from simulators.city import City
from simulators.faults import Faults
from simulators.feeds import MeterFeed, VehicleFeed
from simulators.messages import Message
from simulators.meters import local_day
from simulators.publisher import backfill, run_meters, run_vehicles
from tests.support.broker import TESTER, TESTER_PASSWORD
from tests.support.simulators import SEED, start_broker
from yiwang.settings import Settings
from yiwang.stack import Mosquitto

START = datetime(2025, 3, 10, 1, tzinfo=UTC)
Received = list[tuple[str, bytes]]


def sim_settings(broker: Mosquitto, **overrides: object) -> Settings:
    tag = uuid.uuid4().hex[:8]
    values: dict[str, object] = {
        "mqtt_port": broker.port,
        "mqtt_username": TESTER,
        "mqtt_password": TESTER_PASSWORD,
        "mqtt_topic_root": f"sim{tag}",
        "sim_client_id": f"yiwang-sim-{tag}",
        "sim_seed": SEED,
        "sim_acceleration": 86400.0,  # a simulated day per second
        "sim_jt808_share": 0.0,  # every vehicle over MQTT: no gateway here (tests/simulators/test_terminal.py)
        **overrides,
    }
    return Settings(**values)  # type: ignore[arg-type]


@asynccontextmanager
async def listening(port: int, root: str, *, identifier: str | None = None) -> AsyncIterator[Received]:
    """Everything published under the root, in arrival order; with an identifier, a persistent session
    that survives broker restarts (Mosquitto keeps its queue on disk)."""
    got: Received = []
    ready = asyncio.Event()

    async def listen() -> None:
        while True:
            try:
                async with aiomqtt.Client(
                    "127.0.0.1",
                    port,
                    identifier=identifier,
                    clean_session=identifier is None,
                    username=TESTER,
                    password=TESTER_PASSWORD,
                ) as client:
                    await client.subscribe(f"{root}/#", qos=1)
                    ready.set()
                    async for message in client.messages:
                        got.append((str(message.topic), bytes(message.payload)))
            except aiomqtt.MqttError:
                await asyncio.sleep(0.1)

    task = asyncio.create_task(listen())
    try:
        await asyncio.wait_for(ready.wait(), 10)
        yield got
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def eventually(predicate: Callable[[], bool], seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(0.05)


def expected_meters(city: City, settings: Settings, faults: Faults, hours: float) -> list[Message]:
    """The same run, generated again without a broker: the simulator is deterministic."""
    start = START.timestamp()
    feed = MeterFeed(
        city, seed=SEED, root=settings.topic_root, faults=faults, interval=settings.sim_meter_interval_s, start=start
    )
    out: list[Message] = []
    t = feed.first_tick(start)
    while t < start + hours * 3600:
        out += feed.tick(t)
        t += feed.interval
    return out


def as_received(messages: list[Message]) -> Counter[tuple[str, bytes]]:
    return Counter((m.topic, m.payload) for m in messages)


async def test_run_meters_publishes_what_the_simulator_says(broker: Mosquitto, city: City) -> None:
    settings = sim_settings(broker)
    async with listening(broker.port, settings.topic_root) as got:
        tally = await run_meters(settings, city, start=START, stop_after=6 * 3600)
        await eventually(lambda: len(got) >= tally.messages["reading"])
        await asyncio.sleep(0.2)
    expected = expected_meters(city, settings, Faults(), 6)
    assert len(expected) == 24 * sum(1 for m in city.meters if m.installed_on < START.date())
    assert Counter(got) == as_received(expected)
    assert tally.messages["reading"] == len(expected) == tally.items["reading"]
    assert tally.reconnects == tally.resent == 0
    assert not tally.dead_letters


async def test_faults_reach_the_broker_as_counted(broker: Mosquitto, city: City) -> None:
    settings = sim_settings(broker, sim_faults=1.0)
    faults = Faults(level=1.0, malformed=0.05, duplicate=0.05, gaps_per_day=2, lates_per_day=2)
    async with listening(broker.port, settings.topic_root) as got:
        tally = await run_meters(settings, city, start=START, stop_after=12 * 3600, faults=faults)
        await eventually(lambda: len(got) >= tally.messages["reading"])
        await asyncio.sleep(0.2)
    expected = expected_meters(city, settings, faults, 12)
    assert Counter(got) == as_received(expected)
    assert tally.dead_letters == Counter(m.verdict for m in expected if m.verdict is not None)
    assert tally.duplicates == sum(m.duplicate for m in expected) > 0
    assert tally.items["reading"] == sum(m.items for m in expected if m.verdict is None and not m.duplicate)
    assert tally.injected.counts["gap"] > 0
    assert tally.injected.counts["late"] > 0


async def test_run_vehicles_publishes_what_the_simulator_says(broker: Mosquitto, city: City) -> None:
    settings = sim_settings(broker, sim_acceleration=7200.0)
    async with listening(broker.port, settings.topic_root) as got:
        tally = await run_vehicles(settings, city, start=START, stop_after=3600)
        await eventually(lambda: len(got) >= tally.messages["position"])
        await asyncio.sleep(0.2)
    feed = VehicleFeed(
        city, seed=SEED, root=settings.topic_root, faults=Faults(), interval=settings.sim_vehicle_interval_s,
        start=START.timestamp(),
    )  # fmt: skip
    expected: list[Message] = []
    t, end = START.timestamp(), START.timestamp() + 3600
    while t < end:
        t = min(t + settings.sim_vehicle_interval_s, end)
        expected += feed.step(t)
    assert len(expected) > len(city.vehicles)
    assert Counter(got) == as_received(expected)
    assert tally.messages["position"] == len(expected)
    assert tally.items["position"] == sum(m.items for m in expected)


async def test_backfill_puts_history_in_as_arrays_day_by_day(broker: Mosquitto, city: City) -> None:
    settings = sim_settings(broker)
    start, end = datetime(2025, 1, 6, tzinfo=UTC), datetime(2025, 1, 8, 12, tzinfo=UTC)
    async with listening(broker.port, settings.topic_root) as got:
        tally = await backfill(settings, city, start, end)
        await eventually(lambda: len(got) >= sum(tally.messages.values()))
        await asyncio.sleep(0.2)
    assert all(payload.startswith(b"[") for _, payload in got)
    meters = MeterFeed(
        city, seed=SEED, root=settings.topic_root, faults=Faults(), interval=900, start=start.timestamp(),
        end=end.timestamp(),
    )  # fmt: skip
    days = range(local_day(start.timestamp()), local_day(end.timestamp()) + 1)
    readings = [m for day in days for m in meters.day(day, start.timestamp(), end.timestamp())]
    assert tally.items["reading"] == sum(m.items for m in readings) == len(city.meters) * 2.5 * 96
    assert Counter(t for t, _ in got if "/meter/" in t) == Counter(m.topic for m in readings)
    assert tally.messages["position"] > 0
    assert tally.items["position"] > 100 * tally.messages["position"] / 2
    times = [_seconds(item["time"]) for _, payload in got for item in orjson.loads(payload)]
    assert start.timestamp() <= min(times), "history of [start, end) only"
    assert max(times) < end.timestamp(), "history of [start, end) only"
    assert len(got) == sum(tally.messages.values())


def _seconds(value: object) -> float:
    return value / 1000 if isinstance(value, int) else datetime.fromisoformat(str(value)).timestamp()


@pytest.mark.slow
async def test_the_publisher_rides_out_a_broker_restart(city: City) -> None:
    broker = start_broker()
    try:
        settings = sim_settings(broker, sim_acceleration=86400 / 4)
        async with listening(broker.port, settings.topic_root, identifier=f"listener-{settings.sim_client_id}") as got:
            run = asyncio.create_task(run_meters(settings, city, start=START, stop_after=86400))
            await asyncio.sleep(1.0)
            broker.stop()
            await asyncio.sleep(1.0)
            broker.start()
            tally = await asyncio.wait_for(run, 60)
            expected = as_received(expected_meters(city, settings, Faults(), 24))
            # Resent messages may arrive twice, so wait for every one rather than for a number.
            await eventually(lambda: set(got) >= set(expected), 30)
        assert tally.reconnects >= 1
        assert tally.messages["reading"] == sum(expected.values()), "each message counted once, none lost"
        received = Counter(got)
        assert all(received[key] >= n for key, n in expected.items()), "nothing the broker confirmed went missing"
        assert set(received) == set(expected)
    finally:
        broker.stop()
        shutil.rmtree(broker.home.parent, ignore_errors=True)
