"""The gateway killed (SIGKILL) in the middle of a terminal's blind-zone upload loses nothing: what it had not
answered the terminal sends again, and each fix is stored once, in the order of fix times."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import urllib.request
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from collector.metrics import Metrics as CollectorMetrics
from domain.jt808 import terminal as t
from domain.jt808.responses import RegistrationResult, Result
from tests.support.gateway import gateway_settings
from tests.support.registry import Devices, plate, register_devices, terminal_id
from tests.support.terminal import Answer, Terminal, fixes
from tests.support.waiting import count, eventually, wait_for_count
from yiwang.settings import Settings
from yiwang.stack import free_port

pytestmark = pytest.mark.slow

POSITIONS = "SELECT count(*) FROM position WHERE vehicle_id = %s"
MESSAGES, FIXES_EACH = 200, 10


@pytest.fixture
async def devices(settings: Settings, tag: str) -> Devices:
    """The collector fixture's vehicles, with JT/T 808 terminal ids."""
    return await register_devices(settings.database_url, tag, meters=0, vehicles=1, terminals=True)


def spawn_gateway(settings: Settings) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "YIWANG_DATABASE_URL": settings.database_url,
        "YIWANG_GATEWAY_DATABASE_URL": settings.database_url_of("gateway"),
        "YIWANG_MQTT_PORT": str(settings.mqtt_port),
        "YIWANG_MQTT_USERNAME": str(settings.mqtt_username),
        "YIWANG_MQTT_PASSWORD": str(settings.mqtt_password),
        "YIWANG_MQTT_TOPIC_ROOT": settings.topic_root,
        "YIWANG_GATEWAY_CLIENT_ID": settings.gateway_client_id,
        "YIWANG_JT808_PORT": str(settings.jt808_port),
        "YIWANG_GATEWAY_METRICS_PORT": str(settings.gateway_metrics_port),
        "YIWANG_LOG_LEVEL": "WARNING",
    }
    return subprocess.Popen([sys.executable, "-m", "yiwang.cli", "gateway", "jt808"], env=env)


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


async def test_the_gateway_killed_mid_batch_loses_nothing(
    settings: Settings, devices: Devices, collector: CollectorMetrics, tag: str
) -> None:
    s = gateway_settings(settings, tag, gateway_metrics_port=free_port())
    vehicle, phone = devices.vehicles[0], terminal_id(tag, 0)
    track = fixes(MESSAGES * FIXES_EACH, start=datetime.now(UTC) - timedelta(days=2))
    bodies = [t.batch_body(track[i : i + FIXES_EACH], blind=True) for i in range(0, len(track), FIXES_EACH)]
    first = spawn_gateway(s)
    try:
        await eventually(lambda: healthy(s.gateway_metrics_port), 20)
        terminal = await Terminal.connect(s.jt808_port, phone, plate=plate(tag, 0))
        result, code = await terminal.register()
        assert result == RegistrationResult.SUCCESS
        assert await terminal.authenticate(code) == Result.SUCCESS
        # The whole blind zone at once, message after message, as a terminal that does not wait between them.
        sent = {}
        for index, body in enumerate(bodies):
            sent[await terminal.send(t.LOCATION_BATCH, body)] = index
        answered: set[int] = set()
        try:
            while True:
                answer: Answer = await terminal.answer(10)
                assert answer.result == Result.SUCCESS
                answered.add(sent[answer.reply_serial])
                if len(answered) == 20:
                    first.send_signal(signal.SIGKILL)
                    first.wait(10)
        except (ConnectionError, TimeoutError):
            pass  # the gateway is gone: what it answered before is in `answered`
        await terminal.close()
        stored_at_kill = count(s.database_url, POSITIONS, [vehicle])
        assert 20 <= len(answered) < MESSAGES, "the kill must land in the middle of the upload"
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()

    second = spawn_gateway(s)
    try:
        await eventually(lambda: healthy(s.gateway_metrics_port), 20)
        # The terminal connects again with the code it has (kept in the database), and sends what was not answered.
        terminal = await Terminal.connect(s.jt808_port, phone)
        try:
            assert await terminal.authenticate(code) == Result.SUCCESS
            for index, body in enumerate(bodies):
                if index not in answered:
                    assert (await terminal.ask(t.LOCATION_BATCH, body)).result == Result.SUCCESS
        finally:
            await terminal.close()
        total = len(track)
        assert await wait_for_count(s.database_url, POSITIONS, [vehicle], total, seconds=60) == total
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(30) == 0
    assert stored_at_kill < total
    with psycopg.connect(s.database_url) as conn:
        stored = conn.execute(
            "SELECT time, odometer FROM position WHERE vehicle_id = %s ORDER BY time", (vehicle,)
        ).fetchall()
    assert [row[0] for row in stored] == [fix.time for fix in track]
    assert [row[1] for row in stored] == [fix.mileage for fix in track]
