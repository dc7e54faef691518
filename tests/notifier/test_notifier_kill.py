"""A real `yiwang notify` process SIGKILLed while its deliveries are in flight (a robot slow to answer), then started
again: no delivery is lost. The guarantee is at least once: those in flight at the kill are sent again once their
lease (YIWANG_NOTIFY_LEASE_SECONDS) ends, so the robot may see them twice; every other one exactly once."""

from __future__ import annotations

import collections
import os
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from db.alerts import store
from domain.supervision import Alert
from tests.support.notifier import add_rule, deliveries
from tests.support.receivers import Receiver
from tests.support.registry import Devices
from tests.support.slow_robot import slow_robot
from tests.support.waiting import count, wait_until
from yiwang.settings import Settings
from yiwang.stack import free_port

pytestmark = pytest.mark.slow

HOLD = 3.0  # the robot answers this long after a message arrives
LEASE = 8.0  # above the attempt's timeout (5 s), which is above HOLD: a running notifier never sends one twice
IN_FLIGHT = 5  # alerts whose deliveries the kill interrupts
WHILE_DOWN = 3  # alerts raised while no notifier runs


@pytest.fixture
def robot(tmp_path: Path) -> Iterator[Receiver]:
    with slow_robot(tmp_path / "robot", HOLD) as receiver:
        yield receiver


def spawn_notifier(settings: Settings, metrics_port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "YIWANG_HOME": str(settings.home),
        "YIWANG_DATABASE_URL": settings.database_url,
        "YIWANG_NOTIFIER_DATABASE_URL": settings.database_url_of("notifier"),
        "YIWANG_NOTIFIER_METRICS_PORT": str(metrics_port),
        "YIWANG_NOTIFIER_POLL_SECONDS": "0.2",
        "YIWANG_NOTIFY_TIMEOUT_SECONDS": "5",
        "YIWANG_NOTIFY_LEASE_SECONDS": str(LEASE),
        "YIWANG_LOG_LEVEL": "WARNING",
    }
    return subprocess.Popen([sys.executable, "-m", "yiwang.cli", "notify"], env=env)


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


async def raise_alerts(url: str, vehicle: str, organisation: str, times: list[datetime]) -> list[int]:
    """Red alerts stored in one transaction, as the supervisor stores a batch's: one sweep plans and sends them all."""
    alerts = [Alert(vehicle, "area_exit", "red", t, t, 29.3, 117.2, 40.0, "left") for t in times]
    async with await psycopg.AsyncConnection.connect(url) as conn:
        ids = await store(conn, alerts, {vehicle: organisation})
        await conn.commit()
    return ids


def arrivals(robot: Receiver) -> collections.Counter[int]:
    """How often each alert reached the robot (by the id its message names)."""
    found: collections.Counter[int] = collections.Counter()
    for message in robot.received():
        found.update(int(i) for i in re.findall(r"\(alert (\d+)\)", message["body"]["markdown"]["content"]))
    return found


async def test_a_notifier_killed_mid_send_loses_no_delivery(
    notifier_settings: Settings, unit: Devices, robot: Receiver
) -> None:
    url, org = notifier_settings.database_url, unit.organisation
    rule = await add_rule(url, name="慢机器人", organisation_id=org, channel="wecom",
                          target=f"http://127.0.0.1:{robot.port}/cgi-bin/webhook/send?key=slow")  # fmt: skip
    pending = "SELECT count(*) FROM notification_delivery WHERE rule_id = %s AND status = 'pending'"
    metrics_port = free_port()
    notifier = spawn_notifier(notifier_settings, metrics_port)
    try:
        wait_until(lambda: healthy(metrics_port) or notifier.poll() is not None, 30, "the notifier to be healthy")
        assert notifier.poll() is None, f"the notifier exited with {notifier.returncode}"
        then = datetime.now(UTC)
        before = await raise_alerts(url, unit.vehicles[0], org, [then + timedelta(seconds=n) for n in range(IN_FLIGHT)])
        # Every message has reached the robot (one sweep sent them together), none is answered yet: kill the notifier
        # mid-send.
        wait_until(lambda: sum(arrivals(robot).values()) >= IN_FLIGHT, 30, "the deliveries to be in flight")
        notifier.send_signal(signal.SIGKILL)
        notifier.wait(10)
        assert count(url, pending, (rule,)) == IN_FLIGHT  # none was recorded as sent: the answers never came
        after = await raise_alerts(url, unit.vehicles[1], org, [then + timedelta(seconds=n) for n in range(WHILE_DOWN)])
        notifier = spawn_notifier(notifier_settings, metrics_port)
        planned = "SELECT count(*) FROM notification_delivery WHERE rule_id = %s"

        def all_sent() -> bool:
            return count(url, planned, (rule,)) == IN_FLIGHT + WHILE_DOWN and count(url, pending, (rule,)) == 0

        wait_until(lambda: all_sent() or notifier.poll() is not None, LEASE + 4 * HOLD + 30, "every delivery sent")
        assert notifier.poll() is None, f"the notifier exited with {notifier.returncode}"
    finally:
        if notifier.poll() is None:
            notifier.send_signal(signal.SIGTERM)
            notifier.wait(30)

    recorded = await deliveries(url, rule)
    assert sorted(d["alert_ids"][0] for d in recorded) == sorted(before + after)
    assert {(d["status"], d["attempts"]) for d in recorded} == {("sent", 1)}  # the killed attempt left no record
    # At least once: those in flight at the kill reached the robot twice, the others once; none was lost.
    reached = arrivals(robot)
    assert {a: reached[a] for a in before} == dict.fromkeys(before, 2)
    assert {a: reached[a] for a in after} == dict.fromkeys(after, 1)
