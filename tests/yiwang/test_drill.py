"""`yiwang drill` against a running `yiwang run`: a kill -9 of the collector or of the supervisor and a restart of the
broker in the middle of the drill's own stream lose nothing, the supervisor judges every fix through to the last, and
the run starts each killed process again. A loss is a confirmed key not stored, whatever else was; the drill's
devices, quiet after it, raise no silence."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from collector.inbox import Received
from collector.metrics import SupervisorMetrics
from collector.run import limits_from
from collector.supervisor import Supervisor, rules_from
from db.pool import open_pool
from domain.topics import POSITION
from tests.support.energy_events import judge, read
from tests.support.stack import make_stack_home, run_environment, start_run
from yiwang.drill import METERS, ORGANISATION, Drills, Outcome, key_of, stream
from yiwang.settings import Settings


@pytest.fixture
def run_env() -> Iterator[dict[str, str]]:
    home = make_stack_home("drill")
    env = run_environment(home, sim_institutions="3", sim_vehicles="4")
    yield env
    subprocess.run([sys.executable, "-m", "yiwang.cli", "stack", "down"], env=env, check=False, timeout=60)
    subprocess.run(["rm", "-rf", str(home)], check=False)


@pytest.mark.slow
def test_drills_kill_the_collector_and_the_supervisor_and_restart_the_broker_mid_stream_and_nothing_is_lost(
    run_env: dict[str, str],
) -> None:
    run, text = start_run(run_env, history_days=0, seconds=180)
    assert run.stdout is not None
    try:
        assert "Yiwang is running" in text, text
        pids = Path(run_env["YIWANG_HOME"]) / "run"
        first = {name: int((pids / f"{name}.pid").read_text()) for name in ("collector", "supervisor")}
        drills = ["collector", "supervisor", "broker"]
        drill = subprocess.run(
            [sys.executable, "-m", "yiwang.cli", "drill", *drills, "--messages", "600", "--rate", "150"],
            env=run_env,
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )
        assert drill.returncode == 0, drill.stdout + drill.stderr
        lines = {line.split()[0]: line for line in drill.stdout.splitlines() if line.endswith("ok")}
        assert set(lines) == set(drills), drill.stdout
        for line in lines.values():
            # The broker confirmed the whole stream and every item of it was stored, once.
            assert "sent 600, stored 600" in line, line
            assert "lost 0, doubled 0" in line, line
        # `yiwang run` started each killed process again, under a new pid.
        for name, pid in first.items():
            assert int((pids / f"{name}.pid").read_text()) != pid, name
    finally:
        run.send_signal(signal.SIGINT)
        run.wait(60)
        run.stdout.close()
    assert run.returncode == 0
    assert not list(pids.iterdir())


NOW = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)
A, B, C, D = ((f"drill-m0{i}", NOW + timedelta(seconds=i)) for i in range(1, 5))


def test_a_drill_fails_on_a_loss_a_double_or_no_recovery() -> None:
    sent = frozenset({A, B, C})
    assert Outcome("collector", confirmed=sent, stored=sent, recovery_seconds=1.0).ok
    assert not Outcome("collector", confirmed=sent, stored=frozenset({A, B}), recovery_seconds=1.0).ok
    assert not Outcome("broker", confirmed=sent, stored=sent, doubled=1, recovery_seconds=1.0).ok
    assert not Outcome("database", confirmed=sent, stored=sent, recovery_seconds=None).ok
    assert not Outcome("supervisor", confirmed=sent, stored=sent, recovery_seconds=1.0, unjudged=1).ok
    assert Outcome("worker", skipped="no worker is running").ok


def test_a_row_stored_but_never_confirmed_does_not_hide_a_confirmed_one_lost() -> None:
    # As many stored as confirmed, and C, confirmed, is not among them: a loss (a count of rows saw none).
    outcome = Outcome("broker", confirmed=frozenset({A, B, C}), stored=frozenset({A, B, D}), recovery_seconds=1.0)
    assert (outcome.sent, outcome.lost) == (3, 1)
    assert not outcome.ok
    assert "sent 3, stored 3 (0 at the fault), lost 1," in outcome.line()


def test_the_key_of_each_message_of_the_stream_is_its_device_and_time() -> None:
    messages = stream("yiwang", NOW, 4)
    assert [key_of(m) for m in messages] == [
        ("drill-m01", NOW), ("drill-v01", NOW), ("drill-m02", NOW), ("drill-v02", NOW),
    ]  # fmt: skip


async def test_the_drills_devices_quiet_after_a_drill_raise_no_silence(settings: Settings) -> None:
    drill = Drills(settings, settings, messages=200, rate=100.0, recovery_seconds=10.0)
    await drill.prepare()
    # The drill's meters read two days ago, stored as the collector stores them, and quiet since.
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
    for meter in METERS:
        await read(settings.database_url, meter, [(start, 1000.0), (start + timedelta(seconds=1), 1000.1)])
    await judge(settings, datetime.now(UTC))
    # The drill's vehicles' positions judged by the supervisor (as ever: they count), then quiet for two hours.
    positions = [m for m in stream(settings.topic_root, datetime.now(UTC), 200) if m.family == POSITION.name]
    batch = [Received(time.time(), m.topic, m.payload, i, 1) for i, m in enumerate(positions, 1)]
    metrics = SupervisorMetrics()
    async with open_pool(settings.database_url_of("supervisor"), max_size=1) as pool:
        supervisor = Supervisor(pool, root=settings.topic_root, limits=limits_from(settings),
                                rules=rules_from(settings), refresh=60, metrics=metrics)  # fmt: skip
        await supervisor.write(batch, asyncio.Event())
        await supervisor.check_silence(datetime.now(UTC) + timedelta(hours=2))
    assert metrics.registry.get_sample_value("yiwang_supervisor_fixes_judged_total") == len(positions)
    async with await psycopg.AsyncConnection.connect(settings.database_url) as conn:
        # (Silence only: after working hours, a fix at rest with the ignition off raises `parking`, whatever the drill.)
        cur = await conn.execute(
            """SELECT kind, meter_id, vehicle_id FROM alert
                WHERE organisation_id = %s AND kind IN ('silent', 'meter_silent')""",
            [ORGANISATION],
        )
        assert await cur.fetchall() == []
