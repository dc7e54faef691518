"""bench.autosave keeps working: its quick run prices each autosave interval and kills the broker under each.

Figures are not judged here (the benchmark's own PASS/FAIL line judges the window); only that the command runs and
prints every line of its report.
"""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.slow
def test_bench_autosave_quick_run_reports_the_cost_and_the_window() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.autosave", "--quick"], capture_output=True, text=True, timeout=400, check=False
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    for line in (
        "no persistence ",
        "autosave_interval 1 s ",
        "autosave_interval 5 s (default)",
        "autosave_interval 10 s ",
        "each save stalls the broker",
        "lost msgs (each kill)",
        "the default (autosave_interval 5): a kill -9 loses",
    ):
        assert line in out, f"missing {line!r} in:\n{out[-3000:]}"
    assert out.count("no kill lost more than its save period") == 1, out[-3000:]
