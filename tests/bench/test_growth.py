"""bench/growth keeps working: its quick run grows the history in two steps and reports every figure of each.

Figures are not judged here (the flatness targets are the benchmark's own PASS/FAIL lines, never a test's); only
that the command runs, stores every live message once, reads every track, map and indicator, and reports them.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest


@pytest.mark.slow
def test_bench_growth_quick_run_reports_every_figure_at_each_size() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.growth", "--quick"], capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    # One row per size: positions, readings, days, disk, then ingest and the three queries, each with its ratio.
    for size, positions, days in (("100k", "98,400", 1), ("1M", "984,000", 10)):
        row = rf"^ +{size} +{positions} +[\d,]+ +{days} +[\d.]+" + r" +[\d,.]+ +[\d.]+" * 4 + "$"
        assert re.search(row, out, re.MULTILINE), f"no row for {size} in:\n{out[-3000:]}"
    for line in ("disk: position ", "track_hour ", "time of each step (s):", "planning ", "load average"):
        assert line in out, f"missing {line!r} in:\n{out[-3000:]}"
    for target in ("ingest at 1M within 10% of 100k", "one-day track at 1M within 2 x", "live map at 1M within 2 x",
                   "annual indicators (city) at 1M within 2 x"):  # fmt: skip
        assert len(re.findall(rf"^  (PASS|FAIL)  {re.escape(target)}", out, re.MULTILINE)) == 1, out[-3000:]
