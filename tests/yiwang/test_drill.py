"""`yiwang drill` against a running `yiwang run`: a kill -9 of the collector or of the supervisor and a restart of the
broker in the middle of the drill's own stream lose nothing, the supervisor judges every fix through to the last, and
the run starts each killed process again."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.stack import make_stack_home, run_environment, start_run
from yiwang.drill import Outcome


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


def test_a_drill_fails_on_a_loss_a_double_or_no_recovery() -> None:
    assert Outcome("collector", sent=10, stored=10, recovery_seconds=1.0).ok
    assert not Outcome("collector", sent=10, stored=9, recovery_seconds=1.0).ok
    assert not Outcome("broker", sent=10, stored=10, doubled=1, recovery_seconds=1.0).ok
    assert not Outcome("database", sent=10, stored=10, recovery_seconds=None).ok
    assert not Outcome("supervisor", sent=10, stored=10, recovery_seconds=1.0, unjudged=1).ok
    assert Outcome("worker", skipped="no worker is running").ok
