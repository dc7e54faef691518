"""Who may speak to the broker: nobody anonymous, each device only for itself, nobody subscribing as a device."""

from __future__ import annotations

import asyncio
import csv
import os
import subprocess
import sys
from pathlib import Path

import aiomqtt
import orjson
import psycopg
import pytest

from broker import access
from collector.metrics import Metrics
from db.broker_accounts import DeviceAccount, ServiceAccount
from domain.topics import topic
from tests.support.broker import ANY_ROOT, device_port, files_of, issue, publish, wait_until_admitted
from tests.support.messages import reading_payload
from tests.support.registry import Devices
from tests.support.waiting import wait_for_count
from yiwang.settings import Settings
from yiwang.stack import Stack


async def test_anonymous_and_wrong_passwords_are_refused(stack: Stack, devices: Devices) -> None:
    for port in (stack.mosquitto.port, device_port(stack)):
        with pytest.raises(aiomqtt.MqttError):
            async with aiomqtt.Client("127.0.0.1", port):
                pass
    await issue(stack, devices.meters[0])
    with pytest.raises(aiomqtt.MqttError):
        async with aiomqtt.Client("127.0.0.1", device_port(stack), username=devices.meters[0], password="guess"):
            pass


async def test_a_device_publishes_only_to_its_own_topic(
    stack: Stack, settings: Settings, devices: Devices, collector: Metrics
) -> None:
    meter, other = devices.meters[0], devices.meters[1]
    secret = await issue(stack, meter)
    root = settings.topic_root
    as_meter = {"username": meter, "password": secret}
    # Speaking for another meter and for a vehicle: the broker drops both (MQTT 3.1.1 has no refusal code).
    await publish(
        device_port(stack), [(topic(root, "meter", other, "reading"), orjson.dumps(reading_payload(1)))], **as_meter
    )
    await publish(
        device_port(stack),
        [(topic(root, "vehicle", devices.vehicles[0], "position"), orjson.dumps(reading_payload(1)))],
        **as_meter,
    )
    await publish(
        device_port(stack), [(topic(root, "meter", meter, "reading"), orjson.dumps(reading_payload(2)))], **as_meter
    )
    url = settings.database_url
    assert await wait_for_count(url, "SELECT count(*) FROM reading WHERE meter_id = %s", [meter], 1) == 1
    assert await wait_for_count(url, "SELECT count(*) FROM reading WHERE meter_id = %s", [other], 0) == 0
    assert await wait_for_count(url, "SELECT count(*) FROM dead_letter WHERE topic LIKE %s", [f"{root}/%"], 0) == 0


async def test_a_device_receives_nothing_even_from_its_own_topic(
    stack: Stack, settings: Settings, devices: Devices
) -> None:
    vehicle = devices.vehicles[0]
    secret = await issue(stack, vehicle)
    own = topic(settings.topic_root, "vehicle", vehicle, "position")
    got: list[str] = []
    async with aiomqtt.Client("127.0.0.1", device_port(stack), username=vehicle, password=secret) as device:
        # Mosquitto grants the SUBSCRIBE but checks read access for every delivery: none reaches a device.
        await device.subscribe(own, qos=1)
        await device.subscribe(f"{settings.topic_root}/#", qos=1)

        async def listen() -> None:
            async for message in device.messages:
                got.append(message.topic.value)  # noqa: PERF401 - as they arrive, until cancelled

        listening = asyncio.create_task(listen())
        await publish(stack.mosquitto.port, [(own, orjson.dumps(reading_payload(1)))])
        await asyncio.sleep(1.0)
        listening.cancel()
    assert got == []


def test_the_acl_grants_each_role_and_device_what_it_needs_and_nothing_else() -> None:
    services = [
        ServiceAccount("collector", ["collector"], "$7$x"),
        ServiceAccount("sim", ["gateway"], "$7$y"),
        ServiceAccount("api", ["api"], "$7$z"),
        ServiceAccount("emqx", ["emqx_gateway"], "$7$w"),
    ]
    devices = [DeviceAccount("m1", "meter", "$7$a"), DeviceAccount("v1", "vehicle", "$7$b")]
    passwords, device_passwords, acl, skipped = access.render("yiwang", services, devices)
    assert passwords.splitlines() == ["collector:$7$x", "sim:$7$y", "api:$7$z", "emqx:$7$w"]
    assert device_passwords.splitlines() == ["m1:$7$a", "v1:$7$b"]
    assert skipped == []
    blocks = {b.splitlines()[0]: b.splitlines()[1:] for b in acl.split("\n\n")[1:]}
    assert blocks == {
        "user collector": [
            "topic read yiwang/meter/+/reading",
            "topic read yiwang/vehicle/+/position",
            # EMQX's JT/T 808 up topic, outside the root: read when the collector's YIWANG_EMQX_JT808 is on.
            "topic read jt808/+/+/up",
        ],
        "user sim": ["topic write yiwang/meter/+/reading", "topic write yiwang/vehicle/+/position"],
        "user api": ["topic read yiwang/vehicle/+/position"],
        # EMQX where it bridges into this broker: its own up topic, and nothing under the root.
        "user emqx": ["topic write jt808/+/+/up"],
        "user m1": ["topic write yiwang/meter/m1/reading"],
        "user v1": ["topic write yiwang/vehicle/v1/position"],
    }


async def test_yiwang_broker_devices_issues_credentials_that_work_at_once(
    stack: Stack, settings: Settings, devices: Devices, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "YIWANG_DATABASE_URL": settings.database_url,
        "YIWANG_HOME": str(settings.home),
        "YIWANG_MQTT_PORT": str(settings.mqtt_port),
        "YIWANG_MQTT_TOPIC_ROOT": ANY_ROOT,  # as the tests' own ACL, which this rewrites
    }
    out = tmp_path / "credentials.csv"
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "yiwang.cli", "broker", "devices", "--out", str(out)],
        env=env, capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    rows = {row["device_id"]: row for row in csv.DictReader(out.read_text().splitlines())}
    vehicle = rows[devices.vehicles[1]]
    assert vehicle["kind"] == "vehicle"
    assert vehicle["username"] == devices.vehicles[1]
    own = topic(settings.topic_root, "vehicle", devices.vehicles[1], "position")
    got: list[bytes] = []
    async with aiomqtt.Client(
        "127.0.0.1", settings.mqtt_port, username=settings.mqtt_username, password=settings.mqtt_password
    ) as observer:
        await observer.subscribe(own, qos=1)
        login = {"username": vehicle["username"], "password": vehicle["password"]}
        await asyncio.to_thread(wait_until_admitted, device_port(stack), *login.values())
        await publish(device_port(stack), [(own, b"{}")], **login)
        async with asyncio.timeout(5):
            async for message in observer.messages:
                got.append(bytes(message.payload))  # type: ignore[arg-type]
                break
    assert got == [b"{}"]


def _yiwang_broker(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "YIWANG_DATABASE_URL": settings.database_url,
        "YIWANG_HOME": str(settings.home),
        "YIWANG_MQTT_TOPIC_ROOT": ANY_ROOT,  # as the tests' own ACL, which this rewrites
    }
    return subprocess.run(
        [sys.executable, "-m", "yiwang.cli", "broker", *args],
        env=env, capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip


async def test_broker_sync_leaves_out_a_bad_entry_and_provisions_every_other(
    stack: Stack, settings: Settings, devices: Devices, tag: str
) -> None:
    # Registered before ids were checked: one with ':' and one with a service account's name.
    service, colon = f"svc-{tag}", f"m:{tag}"
    async with await psycopg.AsyncConnection.connect(settings.database_url) as conn:
        await access.add_service_account(conn, service, ["gateway"], access.new_secret())
        for bad in (service, colon):
            await conn.execute(
                "INSERT INTO meter (id, institution_id, energy_type, unit) "
                "SELECT %s, institution_id, energy_type, unit FROM meter WHERE id = %s",
                (bad, devices.meters[0]),
            )
        await access.issue_device_credentials(conn)
        await conn.commit()
    done = await asyncio.to_thread(_yiwang_broker, settings, "devices", "--renew", devices.meters[2])
    assert done.returncode == 0, done.stderr
    assert f"left out device {service!r}" in done.stderr
    assert f"left out device {colon!r}" in done.stderr
    secret = next(
        row.split(",")[3] for row in done.stdout.splitlines() if row.startswith(f"meter,{devices.meters[2]},")
    )
    await asyncio.to_thread(wait_until_admitted, device_port(stack), devices.meters[2], secret)
    async with await psycopg.AsyncConnection.connect(settings.database_url) as conn:
        await conn.execute("DELETE FROM device_credential WHERE device_id = ANY(%s)", [[service, colon]])
        await conn.execute("DELETE FROM meter WHERE id = ANY(%s)", [[service, colon]])
        await conn.execute("DELETE FROM service_account WHERE username = %s", [service])
        await conn.commit()


@pytest.mark.parametrize("existing", ["file", "symlink"])
async def test_broker_devices_out_never_writes_over_a_file_or_through_a_link(
    settings: Settings, devices: Devices, tmp_path: Path, existing: str
) -> None:
    target = tmp_path / "readable-by-all.txt"
    target.write_text("kept\n")
    target.chmod(0o644)
    out = tmp_path / "credentials.csv"
    if existing == "file":
        out = target
    else:
        out.symlink_to(target)
    done = await asyncio.to_thread(
        _yiwang_broker, settings, "devices", "--renew", devices.vehicles[2], "--out", str(out)
    )
    assert done.returncode != 0
    assert "exists" in done.stderr
    assert target.read_text() == "kept\n"
    assert oct(target.stat().st_mode & 0o777) == "0o644"
    assert devices.vehicles[2] not in done.stdout


async def test_a_retired_vehicle_is_refused_at_the_next_sync(
    stack: Stack, settings: Settings, devices: Devices
) -> None:
    """A vehicle that left the fleet (auctioned or scrapped) keeps its terminal, in anyone's hands: its credential
    stops working once `yiwang broker sync` has run, as at EMQX, which reads the same view (migration 0041)."""
    vehicle = devices.vehicles[0]
    secret = await issue(stack, vehicle)
    async with await psycopg.AsyncConnection.connect(settings.database_url) as conn:
        await conn.execute(
            "UPDATE vehicle SET lifecycle = 'retired', retired_on = current_date, retired_how = 'scrapped' "
            "WHERE id = %s",
            [vehicle],
        )
        await conn.commit()
        await access.sync(conn, ANY_ROOT, files_of(stack.mosquitto))
    assert f"\n{vehicle}:" not in "\n" + stack.mosquitto.device_passwords_file.read_text()
    stack.mosquitto.reload()
    # The reload takes a moment: wait until another device's new secret is in force, then try the retired one.
    await issue(stack, devices.vehicles[1])
    with pytest.raises(aiomqtt.MqttError):
        async with aiomqtt.Client("127.0.0.1", device_port(stack), username=vehicle, password=secret):
            pass
