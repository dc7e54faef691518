"""bench.collectors keeps working: its quick run drains one backlog with 1 and with 2 collectors and reports both.

Figures are not judged here (the target is the benchmark's own PASS/FAIL line); only that the command runs, loses
and doubles nothing (it exits non-zero if it does) and prints every line of its report.
"""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.slow
def test_bench_collectors_quick_run_reports_one_and_two_collectors() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.collectors", "--quick"], capture_output=True, text=True, timeout=280, check=False
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    for line in (
        "CPU during the drain",
        "\n1 ",
        "\n2 ",
        "1 collector(s), CPU per message in us: Mosquitto",
        "2 collector(s), CPU per message in us: Mosquitto",
        "2 collectors would do",
        "nothing lost, nothing doubled",
    ):
        assert line in out, f"missing {line!r} in:\n{out[-3000:]}"
    assert out.count("2 collectors >= 1.0 x 1 collector") == 1, out[-3000:]
