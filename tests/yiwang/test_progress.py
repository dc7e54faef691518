"""Long commands say how far they are: what is done of how much, the rate, the time left."""

from __future__ import annotations

import io
import os
import subprocess
import sys

from tests.support.broker import TESTER, TESTER_PASSWORD
from yiwang.progress import Progress, line
from yiwang.stack import Stack


def test_a_line_says_done_of_total_rate_and_time_left() -> None:
    assert line("energy rebuild", 1234, 5000, "meters", 30.0) == (
        "energy rebuild: 1,234 of 5,000 meters (24.7%), 41 meters/s, about 1 min 32 s left"
    )
    assert (
        line("backfill", 5000, 5000, "days", 7260.0)
        == "backfill: 5,000 of 5,000 days (100.0%), 0.7 days/s, done in 2 h 01 min"
    )
    # Before a total is known, and before any time has passed: no percentage, no rate.
    assert line("import", 10, None, "rows", 0.1) == "import: 10 rows"


def test_a_log_gets_a_plain_line_every_so_often_and_the_last_one() -> None:
    now = [0.0]
    out = io.StringIO()  # not a terminal
    progress = Progress("mileage rebuild", "vehicles", total=100, stream=out, every=10, clock=lambda: now[0])
    for step in range(1, 101):
        now[0] = step * 0.5  # 50 s in all: a line at 0.5 s, then every 10 s
        progress.update(step)
    progress.finish()
    lines = out.getvalue().splitlines()
    assert "\r" not in out.getvalue()
    assert len(lines) == 6  # 0.5, 10.5, 20.5, 30.5, 40.5 s, and the end
    assert lines[-1] == "mileage rebuild: 100 of 100 vehicles (100.0%), 2.0 vehicles/s, done in 50 s"


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_one_line_rewritten_in_place() -> None:
    now = [0.0]
    out = _Terminal()
    progress = Progress("backfill", "days", total=3, stream=out, clock=lambda: now[0])
    for day in (1, 2, 3):
        now[0] += 1
        progress.update(day)
    progress.finish()
    text = out.getvalue()
    assert text.count("\r\x1b[K") == 4
    assert text.endswith("done in 3 s\n")
    assert text.count("\n") == 1


def test_a_backfill_says_how_far_it_is_as_it_goes(stack: Stack, tag: str) -> None:
    # Long work used to be silent until it ended: a backfill through the real broker now tells, line by line (its
    # output is not a terminal here), the hours of history put in of all of them, and how it ended.
    env = {
        **os.environ,
        "YIWANG_HOME": str(stack.postgres.home.parent),
        "YIWANG_MQTT_PORT": str(stack.mosquitto.port),
        "YIWANG_MQTT_USERNAME": TESTER,
        "YIWANG_MQTT_PASSWORD": TESTER_PASSWORD,
        "YIWANG_MQTT_TOPIC_ROOT": f"t{tag}",
        "YIWANG_SIM_INSTITUTIONS": "2",
        "YIWANG_SIM_VEHICLES": "2",
        "YIWANG_PROGRESS_SECONDS": "0.001",
    }
    done = subprocess.run(
        [sys.executable, "-m", "yiwang.cli", "simulate", "backfill", "--days", "0.5"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("backfill: ")]
    assert len(lines) >= 3, done.stderr  # a line an hour of history, and the last
    assert " of 12 hours of history (" in lines[0]
    assert lines[-1].startswith("backfill: 12 of 12 hours of history (100.0%)")
    assert "done in" in lines[-1]
