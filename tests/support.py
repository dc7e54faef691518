"""What the tests share: registering devices, publishing through the broker, waiting for rows."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import aiomqtt
import orjson
import paho.mqtt.client as paho
import psycopg
from paho.mqtt.enums import CallbackAPIVersion
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from api.energy import rollup
from collector import access
from collector.topics import topic
from db.broker_accounts import ServiceAccount
from db.registry import Institution, Meter, Organisation, RegistryDocument, Vehicle, import_document
from yiwang.stack import Mosquitto

BASE_TIME = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)

# The tests' own broker account: collector, gateway and observer under any topic root (tests use a
# root per test, so the ACL is written for the root "+"). Anonymous access is off, as in production.
TESTER = "tester"
TESTER_PASSWORD = access.new_secret()
TESTER_ROLES = ["collector", "gateway", "observer"]
ANY_ROOT = "+"


def open_broker(broker: Mosquitto) -> None:
    """Let the tester in to a broker that has no database behind it (started or not)."""
    tester = ServiceAccount(TESTER, TESTER_ROLES, access.mosquitto_hash(TESTER_PASSWORD))
    broker.home.mkdir(parents=True, exist_ok=True)
    access.write_files(broker.passwords_file, broker.acl_file, *access.render(ANY_ROOT, [tester], []))
    if broker.running():
        broker.reload()
        wait_until_admitted(broker.port)


def wait_until_admitted(port: int, username: str = TESTER, password: str = TESTER_PASSWORD) -> None:
    """A reload is a signal that the broker acts on a moment later: wait until it lets the account in."""
    deadline = time.monotonic() + 10
    while True:
        client = paho.Client(CallbackAPIVersion.VERSION2)
        client.username_pw_set(username, password)
        try:
            client.connect("127.0.0.1", port)
            client.loop_start()
            connected = client.is_connected() or _wait(client.is_connected, 1.0)
        finally:
            client.disconnect()
            client.loop_stop()
        if connected:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"the broker on {port} does not let {username} in")
        time.sleep(0.1)


def _wait(predicate: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


async def open_broker_from_database(url: str, broker: Mosquitto) -> None:
    """Let the tester in through the database, as `yiwang broker sync` does, with every device credential."""
    async with await psycopg.AsyncConnection.connect(url) as conn:
        await access.add_service_account(conn, TESTER, TESTER_ROLES, TESTER_PASSWORD)
        await conn.commit()
        await access.sync(conn, ANY_ROOT, broker.passwords_file, broker.acl_file)
    broker.reload()
    await asyncio.to_thread(wait_until_admitted, broker.port)


@dataclass(frozen=True)
class Devices:
    organisation: str
    meters: list[str]
    vehicles: list[str]


async def register_devices(url: str, tag: str, *, meters: int, vehicles: int) -> Devices:
    """Register an organisation with one institution, its meters and vehicles, through the registry import."""
    org = f"org-{tag}"
    inst = f"inst-{tag}"
    document = RegistryDocument(
        organisations=[Organisation(id=org, name=f"测试单位 {tag}")],
        institutions=[Institution(id=inst, organisation_id=org, name=f"测试机关 {tag}", category="agency")],
        meters=[
            Meter(id=f"m-{tag}-{i}", institution_id=inst, energy_type="electricity", unit="kWh") for i in range(meters)
        ],
        vehicles=[
            Vehicle(id=f"v-{tag}-{i}", organisation_id=org, plate=f"赣H·{tag}{i}", energy="battery_electric")
            for i in range(vehicles)
        ],
    )
    async with await psycopg.AsyncConnection.connect(url) as conn:
        await import_document(conn, document)
    return Devices(org, [m.id for m in document.meters], [v.id for v in document.vehicles])


def reading_payload(i: int, *, meter: str | None = None, start: datetime = BASE_TIME) -> dict[str, object]:
    body: dict[str, object] = {"time": (start + timedelta(minutes=15 * i)).isoformat(), "register": 1000.0 + i}
    if meter:
        body["meter"] = meter
    return body


def position_payload(i: int, *, start: datetime = BASE_TIME, **extra: object) -> dict[str, object]:
    return {
        "time": int((start + timedelta(seconds=10 * i)).timestamp() * 1000),
        "latitude": 29.29 + i * 1e-4,
        "longitude": 117.20 + i * 1e-4,
        "speed": 30.0,
        "heading": 45.0,
        "odometer": 1000.0 + i * 0.1,
        "ignition": True,
        **extra,
    }


Message = tuple[str, bytes]


def reading_messages(root: str, meter: str, count: int, *, first: int = 0) -> list[Message]:
    return [
        (topic(root, "meter", meter, "reading"), orjson.dumps(reading_payload(i))) for i in range(first, first + count)
    ]


def position_messages(root: str, vehicle: str, count: int, *, first: int = 0) -> list[Message]:
    return [
        (topic(root, "vehicle", vehicle, "position"), orjson.dumps(position_payload(i)))
        for i in range(first, first + count)
    ]


async def publish(
    port: int,
    messages: Iterable[Message],
    *,
    window: int = 500,
    client_id: str | None = None,
    username: str = TESTER,
    password: str = TESTER_PASSWORD,
) -> int:
    """Publish at QoS 1 through the broker, `window` at a time, each confirmed by the broker."""
    sent = 0
    async with aiomqtt.Client(
        "127.0.0.1", port, identifier=client_id, max_inflight_messages=window, username=username, password=password
    ) as client:
        client.pending_calls_threshold = 2 * window
        chunk: list[Message] = []
        for message in messages:
            chunk.append(message)
            if len(chunk) >= window:
                await asyncio.gather(*(client.publish(t, p, qos=1) for t, p in chunk))
                sent += len(chunk)
                chunk = []
        if chunk:
            await asyncio.gather(*(client.publish(t, p, qos=1) for t, p in chunk))
            sent += len(chunk)
    return sent


def count(url: str, query: str, params: Sequence[object] = ()) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(query, params).fetchone()  # type: ignore[arg-type]
        assert row is not None
        return int(row[0])


async def wait_for_count(
    url: str, query: str, params: Sequence[object], expected: int, *, seconds: float = 30.0
) -> int:
    """Poll until the query counts `expected`, then make sure it stays there a moment (no extras)."""
    deadline = time.monotonic() + seconds
    value = -1
    while time.monotonic() < deadline:
        value = await asyncio.to_thread(count, url, query, params)
        if value >= expected:
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.3)
    return await asyncio.to_thread(count, url, query, params)


async def eventually(predicate: Callable[[], bool], seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(0.05)


async def publish_steadily(
    port: int, messages: Sequence[Message], *, rate: float, window: int = 200, client_id: str = "test-publisher"
) -> int:
    """Publish at about `rate` messages/s, surviving broker restarts: a window not confirmed by the
    broker is published again after reconnecting (the collector's writes are idempotent)."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    done = 0
    while done < len(messages):
        try:
            async with aiomqtt.Client(
                "127.0.0.1",
                port,
                identifier=client_id,
                max_inflight_messages=window,
                timeout=5,
                username=TESTER,
                password=TESTER_PASSWORD,
            ) as client:
                client.pending_calls_threshold = 2 * window
                while done < len(messages):
                    chunk = messages[done : done + window]
                    await asyncio.gather(*(client.publish(t, p, qos=1) for t, p in chunk))
                    done += len(chunk)
                    ahead = started + done / rate - loop.time()
                    if ahead > 0:
                        await asyncio.sleep(ahead)
        except aiomqtt.MqttError:
            await asyncio.sleep(0.2)
    return done


async def settle(pool: AsyncConnectionPool[AsyncConnection], meters: list[str]) -> None:
    """Refresh the consumption roll-up until none of these meters is marked stale (the API's own
    refresher may hold the lock meanwhile)."""
    for _ in range(400):
        await rollup.refresh(pool, ZoneInfo("Asia/Shanghai"))
        async with pool.connection() as conn:
            cur = await conn.execute("SELECT count(*) FROM consumption_stale WHERE meter_id = ANY(%s)", (meters,))
            row = await cur.fetchone()
        if row is not None and row[0] == 0:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the consumption roll-up did not settle")
