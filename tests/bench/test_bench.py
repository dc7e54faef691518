"""The benchmark keeps working: its quick run drains every consumer and prints the whole report.

Figures are not judged here (speed targets live in the benchmark's own PASS/FAIL lines, never in tests);
only that the command a reader of the README runs still runs, stores every row and reports every line.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest


@pytest.mark.slow
def test_bench_ingest_quick_run_reports_every_consumer() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.ingest", "--quick"], capture_output=True, text=True, timeout=280, check=False
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    for line in (
        "paho count-only (ceiling)",
        "aiomqtt iterator count-only",
        "aiomqtt queue_type count-only",
        "per-message INSERT",
        "collector MQTT 3.1.1 ",
        "collector MQTT 5 ",
        "collector MQTT 3.1.1, all resent ",
        "collector MQTT 3.1.1, all resent, readings changed",
        "positions/message",
        "publish -> commit at",
        "every fill outran its consumer's drain",
    ):
        assert line in out, f"missing {line!r} in:\n{out[-3000:]}"
    assert out.count("collector MQTT 3.1.1 >= 0.6 x paho count-only") == 1


@pytest.mark.slow
def test_bench_energy_tiny_run_reports_every_figure() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.energy", "--institutions", "3", "--days", "3", "--repeats", "1"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    for line in (
        "annual indicators, whole city",
        "annual indicators, each institution",
        "monthly series of ",
        "XLSX export (whole city)",
        "survey forms XLSX (whole city)",
        "PASS  survey (db.declared.yearly): ",
        "roll-up build (refresh of every stale meter)",
        "declared corrections (raw puts each in place of its day's readings): 1 applying",
        "roll-up and raw agree:",
    ):
        assert line in out, f"missing {line!r} in:\n{out[-3000:]}"
    # Every figure beside its raw baseline, the energy export alone.
    assert len(re.findall(r"roll-up +[\d,]+ ms  raw +[\d,]+ ms  = +[\d.]+ x", out)) == 4, out[-3000:]
    for target in ("annual city indicators under 1 s", "faster than from raw", "XLSX export under 5 s"):
        assert out.count(target) == 1, f"no PASS/FAIL line for {target!r} in:\n{out[-3000:]}"


@pytest.mark.slow
def test_bench_dispatch_quick_run_reports_every_figure() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.dispatch", "--quick"], capture_output=True, text=True, timeout=240, check=False
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    for line in (
        "live: GET /positions/live",
        "naive DISTINCT ON",
        "track: GET /vehicles/{id}/track",
        "fan-out: publish -> client receipt",
        "fan-out lag p99 < 1 s",
        "every client kept up",
        "per client-minute, permessage-deflate",
        "every vehicle, gzipped",
        "GET ?since=<cursor>",
    ):
        assert line in done.stdout, f"missing {line!r} in:\n{done.stdout[-3000:]}"


@pytest.mark.slow
def test_bench_rls_quick_run_times_every_query_both_ways() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.rls", "--quick", "--repeats", "1"],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    for query in ("a track", "a report", "the live map", "one meter's readings", "a roll-up"):
        lines = [line for line in out.splitlines() if query in line]
        assert [line.split()[-5] for line in lines] == ["unit", "all"], out
    # The policies hold: a unit user sees its own 2 of the 100 vehicles, whoever sees every unit sees all 100.
    report = [line.split() for line in out.splitlines() if "a report" in line]
    assert [row[-4] for row in report] == ["2", "100"], out


@pytest.mark.slow
def test_bench_gateway_quick_run_stores_every_fix_once() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.gateway", "--quick"], capture_output=True, text=True, timeout=180, check=False
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    # Both paths of both kinds of frame, side by side, then the idle connections' memory.
    for path in ("0x0200 direct MQTT", "0x0200 gateway", "0x0704 direct MQTT", "0x0704 gateway"):
        assert len(re.findall(rf"^{path} +[\d,]+ +[\d,]+ +[\d,]+ +[\d,]+ +[\d.]+ ", out, re.MULTILINE)) == 1, out
    assert re.search(r"[\d.]+ KiB per idle connection", out), out
    assert "PASS  every fix stored exactly once, nothing published twice, every frame answered success" in out
    assert "PASS  every idle terminal answered a heartbeat (500)" in out
    for target in ("frames/s answered and positions/s stored", "KiB of gateway memory per idle connection"):
        assert out.count(target) == 1, f"no PASS/FAIL line for {target!r} in:\n{out[-3000:]}"


@pytest.mark.slow
def test_bench_supervision_quick_run_judges_areas_and_delivers_every_alert() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.supervision", "--quick"], capture_output=True, text=True, timeout=180, check=False
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    # Both ways beside the baseline, then the delivery latency.
    for label in ("50 areas", "no area"):
        assert re.search(rf"^{label} +[\d,]+ +[\d.]+ +\d+% +[\d,]+ +[\d.]+$", out, re.MULTILINE), out
    assert re.search(r"delivered 30: p50 [\d,]+ ms  p99 [\d,]+ ms", out), out
    assert "PASS  the areas raised what only areas raise" in out
    assert "PASS  every alert delivered exactly once (30 of 30, 0 twice)" in out
    for target in ("fixes/s written (", "publish -> webhook p99 < "):
        assert out.count(target) == 1, f"no PASS/FAIL line for {target!r} in:\n{out[-3000:]}"
