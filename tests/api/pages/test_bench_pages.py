"""bench.pages keeps working: its quick run measures the map in Chromium and prints every line of its report.

Figures are not judged here (the target is the benchmark's own "target:" line); only that the command runs.
"""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.slow
def test_bench_pages_quick_run_reports_the_page_and_its_baseline() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.pages", "--quick"], capture_output=True, text=True, timeout=280, check=False
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    for line in ("the page: one canvas, grid clusters", "baseline: empty map", "the layer drew", "target: median"):
        assert line in out, f"missing {line!r} in:\n{out[-3000:]}"
