"""No device can take a service's MQTT session: at the devices' listener the client id is the user name, and a
device's password does not open the services' listener."""

from __future__ import annotations

import asyncio
import contextlib

import aiomqtt
import psycopg
import pytest

from broker import access
from collector.metrics import Metrics
from tests.support.broker import ANY_ROOT, files_of, issue, publish
from tests.support.messages import position_messages
from tests.support.registry import Devices
from tests.support.waiting import wait_for_count
from yiwang.settings import Settings
from yiwang.stack import Stack


async def _take_session(port: int, client_id: str, username: str, password: str, stop: asyncio.Event) -> int:
    """Connect as `client_id` again and again (a persistent session, as the collector's), until `stop`; returns how
    many connections the broker accepted."""
    accepted = 0
    while not stop.is_set():
        with contextlib.suppress(aiomqtt.MqttError, TimeoutError):
            async with aiomqtt.Client(
                "127.0.0.1", port, identifier=client_id, username=username, password=password, clean_session=False
            ) as thief:
                accepted += 1
                # Whatever the stolen session was subscribed to arrives here and is acknowledged by paho.
                async with asyncio.timeout(0.5):
                    async for _ in thief.messages:
                        pass
        await asyncio.sleep(0)
    return accepted


async def test_a_device_cannot_take_the_collectors_session(
    stack: Stack, settings: Settings, devices: Devices, collector: Metrics
) -> None:
    meter, vehicle = devices.meters[0], devices.vehicles[0]
    secret = await issue(stack, meter)
    # Where devices log in, a meter with its own password and the collector's client id fights for the session
    # while 100 positions are published at QoS 1 (acknowledged by the broker).
    stop = asyncio.Event()
    attack = asyncio.create_task(
        _take_session(stack.mosquitto.device_port, settings.mqtt_client_id, meter, secret, stop)
    )
    try:
        sent = 0
        for start in range(0, 100, 10):
            sent += await publish(settings.mqtt_port, position_messages(settings.topic_root, vehicle, 10, first=start))
            await asyncio.sleep(0.05)  # give the attack room between publishes: it runs while they do
    finally:
        stop.set()
        accepted = await attack
    assert sent == 100
    assert accepted > 0  # it logged in as itself: the client id it asked for was not given
    stored = "SELECT count(*) FROM position WHERE vehicle_id = %s"
    assert await wait_for_count(settings.database_url, stored, [vehicle], 100, seconds=20) == 100
    assert collector.registry.get_sample_value("yiwang_collector_mqtt_connected") == 1


async def test_a_devices_password_does_not_open_the_services_listener(
    stack: Stack, settings: Settings, devices: Devices
) -> None:
    meter = devices.meters[1]
    secret = await issue(stack, meter)
    with pytest.raises(aiomqtt.MqttError):
        async with aiomqtt.Client(
            "127.0.0.1", settings.mqtt_port, identifier=settings.mqtt_client_id, username=meter, password=secret
        ):
            pass


async def test_a_device_named_as_a_services_client_id_cannot_log_in(
    stack: Stack, settings: Settings, devices: Devices, collector: Metrics
) -> None:
    # Registered before ids were checked, with the collector's client id, which a device's session would take.
    named = settings.mqtt_client_id
    async with await psycopg.AsyncConnection.connect(stack.postgres.url) as conn:
        await conn.execute(
            "INSERT INTO meter (id, institution_id, energy_type, unit) "
            "SELECT %s, institution_id, energy_type, unit FROM meter WHERE id = %s",
            (named, devices.meters[2]),
        )
        issued = await access.issue_device_credentials(conn, renew=[named])
        await conn.commit()
        synced = await access.sync(conn, ANY_ROOT, files_of(stack.mosquitto))
        await conn.execute("DELETE FROM device_credential WHERE device_id = %s", [named])
        await conn.execute("DELETE FROM meter WHERE id = %s", [named])
        await conn.commit()
    stack.mosquitto.reload()
    assert any(repr(named) in reason for reason in synced.skipped)
    secret = {d: p for _, d, p in issued}[named]
    assert stack.mosquitto.device_port is not None
    with pytest.raises(aiomqtt.MqttError):
        async with aiomqtt.Client("127.0.0.1", stack.mosquitto.device_port, username=named, password=secret):
            pass
    vehicle = devices.vehicles[1]
    assert await publish(settings.mqtt_port, position_messages(settings.topic_root, vehicle, 20)) == 20
    stored = "SELECT count(*) FROM position WHERE vehicle_id = %s"
    assert await wait_for_count(settings.database_url, stored, [vehicle], 20) == 20
