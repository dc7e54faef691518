"""The broker's TLS listener for devices, with a certificate the test makes: what they send over TLS is stored."""

from __future__ import annotations

import asyncio
import gc
import shutil
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import aiomqtt
import pytest

from broker import access
from collector.metrics import Metrics
from collector.run import run as run_collector
from db.broker_accounts import DeviceAccount
from tests.support.broker import TESTER, TESTER_PASSWORD, open_broker
from tests.support.messages import reading_messages
from tests.support.registry import Devices
from tests.support.stack import make_stack_home, settings_for
from tests.support.waiting import eventually, wait_for_count
from yiwang.stack import Mosquitto, Stack, free_port


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A CA, and a server certificate it signed for localhost and 127.0.0.1: (ca, cert, key)."""
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=Yiwang test CA",
             "-keyout", "ca.key", "-out", "ca.crt", cwd=folder)  # fmt: skip
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
             "-keyout", "server.key", "-out", "server.csr", cwd=folder)  # fmt: skip
    (folder / "san.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
             "-days", "1", "-extfile", "san.ext", "-out", "server.crt", cwd=folder)  # fmt: skip
    return folder / "ca.crt", folder / "server.crt", folder / "server.key"


# A device of the TLS broker's own (it has no database behind it).
DEVICE = "tls-meter"
DEVICE_PASSWORD = access.new_secret()


def device_account(device_id: str, password: str) -> DeviceAccount:
    return DeviceAccount(device_id, "meter", access.mosquitto_hash(password))


@pytest.fixture(scope="module")
def tls_broker() -> Iterator[tuple[Mosquitto, Path]]:
    home = make_stack_home("tls")
    ca, cert, key = make_certificates(home)
    broker = Mosquitto(home / "mosquitto", free_port(), tls_port=free_port(), certfile=cert, keyfile=key)
    open_broker(broker, [device_account(DEVICE, DEVICE_PASSWORD)])
    broker.start()
    try:
        yield broker, ca
    finally:
        broker.stop()
        shutil.rmtree(home, ignore_errors=True)


def tls(ca: Path) -> aiomqtt.TLSParameters:
    return aiomqtt.TLSParameters(ca_certs=str(ca), cert_reqs=ssl.CERT_REQUIRED)


async def test_a_device_that_trusts_the_ca_talks_over_tls(tls_broker: tuple[Mosquitto, Path]) -> None:
    broker, ca = tls_broker
    own = f"tls/meter/{DEVICE}/reading"
    async with aiomqtt.Client("127.0.0.1", broker.port, username=TESTER, password=TESTER_PASSWORD) as service:
        await service.subscribe(own, qos=1)
        async with aiomqtt.Client(
            "127.0.0.1", broker.tls_port or 0, tls_params=tls(ca), username=DEVICE, password=DEVICE_PASSWORD
        ) as device:
            await device.publish(own, b"over tls", qos=1)
        async with asyncio.timeout(5):
            async for message in service.messages:
                assert message.payload == b"over tls"
                break


async def test_a_service_account_is_refused_at_the_devices_tls_port(tls_broker: tuple[Mosquitto, Path]) -> None:
    broker, ca = tls_broker
    with pytest.raises(aiomqtt.MqttError):
        async with aiomqtt.Client(
            "127.0.0.1", broker.tls_port or 0, tls_params=tls(ca), username=TESTER, password=TESTER_PASSWORD
        ):
            pass


# paho leaves the socket of a failed TLS handshake to the garbage collector: its ResourceWarning, not ours.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
async def test_plain_tcp_and_an_untrusted_certificate_are_refused_at_the_tls_port(
    tls_broker: tuple[Mosquitto, Path], tmp_path: Path
) -> None:
    broker, _ = tls_broker
    login = {"username": DEVICE, "password": DEVICE_PASSWORD}
    with pytest.raises(aiomqtt.MqttError):
        async with aiomqtt.Client("127.0.0.1", broker.tls_port or 0, timeout=3, **login):  # type: ignore[arg-type]
            pass
    other_ca, _, _ = make_certificates(tmp_path)
    with pytest.raises(aiomqtt.MqttError):
        async with aiomqtt.Client("127.0.0.1", broker.tls_port or 0, tls_params=tls(other_ca), timeout=3, **login):  # type: ignore[arg-type]
            pass
    gc.collect()  # collect paho's leaked socket here, inside this test's warning filter


async def _connect_when_admitted(port: int, ca: Path, username: str, password: str) -> aiomqtt.Client:
    """A reload is a signal that the broker acts on a moment later: a connected client once it lets the device in."""
    async with asyncio.timeout(10):
        while True:
            client = aiomqtt.Client("127.0.0.1", port, tls_params=tls(ca), username=username, password=password)
            try:
                await client.__aenter__()
            except aiomqtt.MqttError:
                await asyncio.sleep(0.1)
                continue
            return client


async def test_what_a_device_sends_over_tls_is_stored(
    stack: Stack, tls_broker: tuple[Mosquitto, Path], devices: Devices, tag: str
) -> None:
    broker, ca = tls_broker
    secret = access.new_secret()
    open_broker(broker, [device_account(DEVICE, DEVICE_PASSWORD), device_account(devices.meters[0], secret)])
    settings = settings_for(stack, tag, mqtt_port=broker.port)
    stop = asyncio.Event()
    metrics = Metrics()
    collector = asyncio.create_task(run_collector(settings, stop=stop, metrics=metrics))
    try:
        await eventually(lambda: metrics.registry.get_sample_value("yiwang_collector_mqtt_connected") == 1)
        stream = reading_messages(settings.topic_root, devices.meters[0], 500)
        device = await _connect_when_admitted(broker.tls_port or 0, ca, devices.meters[0], secret)
        try:
            await asyncio.gather(*(device.publish(t, p, qos=1) for t, p in stream))
        finally:
            await device.__aexit__(None, None, None)
        stored = "SELECT count(*) FROM reading WHERE meter_id = %s"
        assert await wait_for_count(settings.database_url, stored, [devices.meters[0]], 500) == 500
    finally:
        stop.set()
        await asyncio.wait_for(collector, 30)
