"""The broker's TLS listener, with a certificate the test makes: devices and the collector over TLS."""

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

from collector.metrics import Metrics
from collector.run import run as run_collector
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


@pytest.fixture(scope="module")
def tls_broker() -> Iterator[tuple[Mosquitto, Path]]:
    home = make_stack_home("tls")
    ca, cert, key = make_certificates(home)
    broker = Mosquitto(home / "mosquitto", free_port(), tls_port=free_port(), certfile=cert, keyfile=key)
    open_broker(broker)
    broker.start()
    try:
        yield broker, ca
    finally:
        broker.stop()
        shutil.rmtree(home, ignore_errors=True)


def tls(ca: Path) -> aiomqtt.TLSParameters:
    return aiomqtt.TLSParameters(ca_certs=str(ca), cert_reqs=ssl.CERT_REQUIRED)


async def test_a_client_that_trusts_the_ca_talks_over_tls(tls_broker: tuple[Mosquitto, Path]) -> None:
    broker, ca = tls_broker
    login = {"username": TESTER, "password": TESTER_PASSWORD}
    async with aiomqtt.Client("127.0.0.1", broker.tls_port or 0, tls_params=tls(ca), **login) as client:  # type: ignore[arg-type]
        await client.subscribe("tls/meter/m1/reading", qos=1)
        await client.publish("tls/meter/m1/reading", b"over tls", qos=1)
        async with asyncio.timeout(5):
            async for message in client.messages:
                assert message.payload == b"over tls"
                break


# paho leaves the socket of a failed TLS handshake to the garbage collector: its ResourceWarning, not ours.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
async def test_plain_tcp_and_an_untrusted_certificate_are_refused_at_the_tls_port(
    tls_broker: tuple[Mosquitto, Path], tmp_path: Path
) -> None:
    broker, _ = tls_broker
    login = {"username": TESTER, "password": TESTER_PASSWORD}
    with pytest.raises(aiomqtt.MqttError):
        async with aiomqtt.Client("127.0.0.1", broker.tls_port or 0, timeout=3, **login):  # type: ignore[arg-type]
            pass
    other_ca, _, _ = make_certificates(tmp_path)
    with pytest.raises(aiomqtt.MqttError):
        async with aiomqtt.Client("127.0.0.1", broker.tls_port or 0, tls_params=tls(other_ca), timeout=3, **login):  # type: ignore[arg-type]
            pass
    gc.collect()  # collect paho's leaked socket here, inside this test's warning filter


async def test_the_collector_reads_over_tls(
    stack: Stack, tls_broker: tuple[Mosquitto, Path], devices: Devices, tag: str
) -> None:
    broker, ca = tls_broker
    settings = settings_for(stack, tag, mqtt_port=broker.tls_port, mqtt_tls_ca_file=ca)
    stop = asyncio.Event()
    metrics = Metrics()
    collector = asyncio.create_task(run_collector(settings, stop=stop, metrics=metrics))
    try:
        await eventually(lambda: metrics.registry.get_sample_value("yiwang_collector_mqtt_connected") == 1)
        stream = reading_messages(settings.topic_root, devices.meters[0], 500)
        async with aiomqtt.Client(
            "127.0.0.1", broker.tls_port or 0, tls_params=tls(ca), username=TESTER, password=TESTER_PASSWORD
        ) as device:
            await asyncio.gather(*(device.publish(t, p, qos=1) for t, p in stream))
        stored = "SELECT count(*) FROM reading WHERE meter_id = %s"
        assert await wait_for_count(settings.database_url, stored, [devices.meters[0]], 500) == 500
    finally:
        stop.set()
        await asyncio.wait_for(collector, 30)
