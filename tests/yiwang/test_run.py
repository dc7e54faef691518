"""The README's first command ends in `yiwang run`: the whole system with simulators, data flowing."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from simulators.city import build_city
from simulators.terminal import on_jt808
from tests.support.stack import make_stack_home, run_environment, start_run
from tests.support.waiting import count, wait_until
from yiwang.settings import Settings


@pytest.fixture
def run_env() -> Iterator[dict[str, str]]:
    home = make_stack_home("run")
    env = run_environment(home, sim_institutions="6", sim_vehicles="8")
    yield env
    subprocess.run([sys.executable, "-m", "yiwang.cli", "stack", "down"], env=env, check=False, timeout=60)
    subprocess.run(["rm", "-rf", str(home)], check=False)


@pytest.mark.slow
def test_yiwang_run_starts_everything_and_meters_flow_into_the_database(run_env: dict[str, str]) -> None:
    run, text = start_run(run_env, history_days=1, seconds=180)
    assert run.stdout is not None
    try:
        assert "Yiwang is running" in text, text
        # It says where to look, and those places answer.
        api = f"http://127.0.0.1:{run_env['YIWANG_API_PORT']}"
        assert f"{api}/docs" in text
        assert httpx.get(f"{api}/health", timeout=5).json() == {"ok": True, "database": "ok"}
        # The admin it prints can log in, and sees the simulated city's units.
        password = (Path(run_env["YIWANG_HOME"]) / "admin_password").read_text().strip()
        assert f"admin / {password}" in text
        login = httpx.post(f"{api}/auth/token", data={"username": "admin", "password": password}, timeout=10)
        assert login.status_code == 200, login.text
        token = login.json()["access_token"]
        units = httpx.get(f"{api}/organisations", headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert units.status_code == 200, units.text
        for port in (
            "YIWANG_METRICS_PORT",
            "YIWANG_SUPERVISOR_METRICS_PORT",
            "YIWANG_GATEWAY_METRICS_PORT",
            "YIWANG_NOTIFIER_METRICS_PORT",
            "YIWANG_WORKER_METRICS_PORT",
        ):
            assert httpx.get(f"http://127.0.0.1:{run_env[port]}/health", timeout=5).status_code == 200
        assert f"terminals connect to 127.0.0.1:{run_env['YIWANG_JT808_PORT']}" in text
        url = run_env["YIWANG_DATABASE_URL"]
        with psycopg.connect(url) as conn:
            meters = conn.execute("SELECT count(*) FROM meter").fetchone()
            with_history = conn.execute(
                "SELECT count(DISTINCT meter_id) FROM reading WHERE time > now() - interval '1 day'"
            ).fetchone()
            dead = conn.execute("SELECT count(*) FROM dead_letter").fetchone()
            connected = conn.execute(
                """SELECT DISTINCT application_name, usename FROM pg_stat_activity
                   WHERE application_name IN ('yiwang-api', 'yiwang-collector', 'yiwang-supervisor',
                                              'yiwang-gateway', 'yiwang-notifier', 'yiwang-worker')"""
            ).fetchall()
        # Each process as its own role (db/roles.py), none as the owner or a superuser.
        assert sorted(connected) == [
            ("yiwang-api", "yiwang_api"),
            ("yiwang-collector", "yiwang_collector"),
            ("yiwang-gateway", "yiwang_gateway"),
            ("yiwang-notifier", "yiwang_notifier"),
            ("yiwang-supervisor", "yiwang_supervisor"),
            ("yiwang-worker", "yiwang_worker"),
        ]
        # The backfill went through the broker and the collector: every registered meter has its day.
        assert meters is not None
        assert meters[0] > 0
        assert with_history == meters
        assert dead == (0,)
        # The worker, not the API, counts the history into the roll-up.
        wait_until(
            lambda: count(url, "SELECT count(DISTINCT meter_id) FROM consumption_day") == meters[0],
            120,
            "every meter's history counted by the worker",
        )
        # Both paths carry the fleet: the vehicles of the default share (20 %: two of the eight) through the JT/T 808
        # gateway, the others over MQTT. Parked terminals report every 5 minutes, each at an offset of its own within
        # them; with this seed one of each kind reports within the first minute.
        city = build_city(Settings().sim_seed, 6, 8)
        jt808 = {v.id for v in city.vehicles if on_jt808(city.seed, v.id, Settings().sim_jt808_share)}
        assert 0 < len(jt808) < len(city.vehicles)

        def reporting() -> set[str]:
            with psycopg.connect(url) as conn:
                return {row[0] for row in conn.execute("SELECT DISTINCT vehicle_id FROM position").fetchall()}

        wait_until(lambda: bool(reporting() & jt808) and bool(reporting() - jt808), 150, "a fix by each path")
        metrics = httpx.get(f"http://127.0.0.1:{run_env['YIWANG_GATEWAY_METRICS_PORT']}/metrics", timeout=5).text
        published = re.search(r"^yiwang_gateway_positions_published_total (\S+)$", metrics, re.M)
        assert published is not None
        assert float(published.group(1)) > 0
    finally:
        run.send_signal(signal.SIGINT)
        run.wait(60)
        run.stdout.close()
    assert run.returncode == 0
    logs = Path(run_env["YIWANG_HOME"]) / "logs"
    assert {p.name for p in logs.iterdir()} >= {
        "collector.log",
        "supervisor.log",
        "api.log",
        "meters.log",
        "vehicles.log",
        "gateway.log",
        "notifier.log",
        "worker.log",
    }
    # Ctrl-C stopped what it started: the collector, the supervisor, the API and the gateway no longer answer.
    for port in (
        "YIWANG_METRICS_PORT",
        "YIWANG_SUPERVISOR_METRICS_PORT",
        "YIWANG_API_PORT",
        "YIWANG_GATEWAY_METRICS_PORT",
        "YIWANG_NOTIFIER_METRICS_PORT",
        "YIWANG_WORKER_METRICS_PORT",
        "YIWANG_JT808_PORT",
    ):
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{run_env[port]}/health", timeout=5)


@pytest.mark.slow
def test_yiwang_run_names_the_service_that_failed_and_leaves_nothing_running(run_env: dict[str, str]) -> None:
    """The API cannot listen (its port is taken): `yiwang run` says so, and says nothing runs, instead of
    "Yiwang is running" with the API's address that would answer "connection refused"."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", int(run_env["YIWANG_API_PORT"])))
        taken.listen()
        done = subprocess.run(
            [sys.executable, "-m", "yiwang.cli", "run", "--history-days", "0"],
            env=run_env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    assert done.returncode != 0
    assert "Yiwang is running" not in done.stdout
    logs = Path(run_env["YIWANG_HOME"]) / "logs"
    api_log = logs / "api.log"
    assert re.search(rf"the api exited with \d+ before it was healthy: see {re.escape(str(api_log))}", done.stderr)
    assert "address already in use" in api_log.read_text()
    # The collector and supervisor it had started are stopped: their health ports no longer answer.
    for port in ("YIWANG_METRICS_PORT", "YIWANG_SUPERVISOR_METRICS_PORT"):
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{run_env[port]}/health", timeout=5)
