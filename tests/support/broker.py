"""The tests' broker account and what they do through the broker: publish, at a rate, surviving restarts."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Sequence

import aiomqtt
import paho.mqtt.client as paho
import psycopg
from paho.mqtt.enums import CallbackAPIVersion

from broker import access
from db.broker_accounts import DeviceAccount, ServiceAccount
from tests.support.messages import Message
from tests.support.waiting import wait_until
from yiwang.stack import Mosquitto, Stack

# The tests' own broker account: collector, gateway and observer under any topic root (tests use a
# root per test, so the ACL is written for the root "+"). Anonymous access is off, as in production.
TESTER = "tester"
TESTER_PASSWORD = access.new_secret()
TESTER_ROLES = ["collector", "gateway", "observer"]
ANY_ROOT = "+"
# The account that stands for EMQX's JT/T 808 gateway where EMQX bridges into this broker: it may publish on EMQX's
# up topic (jt808/+/+/up) and nowhere else.
EMQX_GATEWAY = "emqx-gateway"
EMQX_GATEWAY_PASSWORD = access.new_secret()


def files_of(broker: Mosquitto) -> access.Files:
    return access.Files(broker.passwords_file, broker.device_passwords_file, broker.acl_file)


def open_broker(broker: Mosquitto, devices: Sequence[DeviceAccount] = ()) -> None:
    """Let the tester (and these devices) in to a broker that has no database behind it (started or not)."""
    tester = ServiceAccount(TESTER, TESTER_ROLES, access.mosquitto_hash(TESTER_PASSWORD))
    broker.home.mkdir(parents=True, exist_ok=True)
    access.write_files(files_of(broker), access.render(ANY_ROOT, [tester], devices))
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
            try:
                wait_until(client.is_connected, 1.0, "connected", every=0.01)
                connected = True
            except TimeoutError:
                connected = False
        finally:
            client.disconnect()
            client.loop_stop()
        if connected:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"the broker on {port} does not let {username} in")
        time.sleep(0.1)


async def open_broker_from_database(url: str, broker: Mosquitto) -> None:
    """Let the tester in through the database, as `yiwang broker sync` does, with every device credential."""
    async with await psycopg.AsyncConnection.connect(url) as conn:
        await access.add_service_account(conn, TESTER, TESTER_ROLES, TESTER_PASSWORD)
        await access.add_service_account(conn, EMQX_GATEWAY, ["emqx_gateway"], EMQX_GATEWAY_PASSWORD)
        await conn.commit()
        await access.sync(conn, ANY_ROOT, files_of(broker))
    broker.reload()
    await asyncio.to_thread(wait_until_admitted, broker.port)


async def issue(stack: Stack, device_id: str) -> str:
    """A new secret for one registered device, in force at the broker (sync and reload, no restart)."""
    async with await psycopg.AsyncConnection.connect(stack.postgres.url) as conn:
        issued = await access.issue_device_credentials(conn, renew=[device_id])
        await conn.commit()
        await access.sync(conn, ANY_ROOT, files_of(stack.mosquitto))
    stack.mosquitto.reload()
    secret = {d: p for _, d, p in issued}[device_id]
    await asyncio.to_thread(wait_until_admitted, device_port(stack), device_id, secret)
    return secret


def device_port(stack: Stack) -> int:
    """The devices' listener, where the client id is the user name."""
    assert stack.mosquitto.device_port is not None
    return stack.mosquitto.device_port


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
