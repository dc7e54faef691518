"""A test's settings on the session's TimescaleDB and Mosquitto, and folders for stacks of its own."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.support.broker import TESTER, TESTER_PASSWORD
from yiwang.settings import Settings
from yiwang.stack import Stack, free_port


def make_stack_home(name: str) -> Path:
    # pytest's own tmp folders are private to root; the postgres user must reach the cluster folder.
    home = Path(tempfile.mkdtemp(prefix=f"yiwang-{name}-"))
    home.chmod(0o755)
    return home


def run_environment(home: Path, **settings: str) -> dict[str, str]:
    """The environment of a `yiwang run` of its own in `home`: every port free, a small PostgreSQL; `settings` are
    more YIWANG_* variables, by setting name (sim_vehicles="8")."""
    return {
        **os.environ,
        "YIWANG_HOME": str(home),
        # The password is in the file the stack writes on its first start (yiwang/stack.py).
        "YIWANG_DATABASE_URL": f"postgresql://yiwang@127.0.0.1:{free_port()}/yiwang?passfile={home}/postgres/pgpass",
        "YIWANG_MQTT_PORT": str(free_port()),
        "YIWANG_MQTT_DEVICE_PORT": str(free_port()),
        "YIWANG_METRICS_PORT": str(free_port()),
        "YIWANG_SUPERVISOR_METRICS_PORT": str(free_port()),
        "YIWANG_API_PORT": str(free_port()),
        "YIWANG_API_METRICS_PORT": str(free_port()),
        "YIWANG_JT808_PORT": str(free_port()),
        "YIWANG_GATEWAY_METRICS_PORT": str(free_port()),
        "YIWANG_NOTIFIER_METRICS_PORT": str(free_port()),
        "YIWANG_WORKER_METRICS_PORT": str(free_port()),
        "YIWANG_DB_SHARED_BUFFERS": "128MB",
    } | {f"YIWANG_{name.upper()}": value for name, value in settings.items()}


def start_run(env: dict[str, str], history_days: int, seconds: float) -> tuple[subprocess.Popen[str], str]:
    """`yiwang run` started with this environment: its process, and what it printed until it said how to stop it
    (or ended, or `seconds` passed). The caller stops the process."""
    run = subprocess.Popen(
        [sys.executable, "-m", "yiwang.cli", "run", "--history-days", str(history_days)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert run.stdout is not None
    printed: list[str] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        line = run.stdout.readline()
        if not line:
            break
        printed.append(line)
        if line.startswith("Stop with Ctrl-C"):
            break
    return run, "".join(printed)


def settings_for(s: Stack, tag: str, **overrides: object) -> Settings:
    """Settings of one test: its own topic root and client id, small batches, the tester's broker account, the
    processes' own database roles (database_url, the owner's, is for the test's own setup)."""
    values: dict[str, object] = {
        "database_url": s.postgres.url,
        # Each process as its own role: the tests exercise the grants (db/roles.py).
        **{f"{service}_database_url": s.postgres.service_url(service) for service in s.postgres.roles},
        "mqtt_port": s.mosquitto.port,
        "mqtt_topic_root": f"t{tag}",
        "mqtt_client_id": f"yiwang-collector-{tag}",
        "metrics_port": 0,
        "supervisor_metrics_port": 0,
        "api_metrics_port": 0,
        "worker_metrics_port": 0,
        "batch_size": 200,
        "batch_wait_ms": 20,
        "home": s.postgres.home.parent,
        "mqtt_username": TESTER,
        "mqtt_password": TESTER_PASSWORD,
        **overrides,
    }
    return Settings(**values)  # type: ignore[arg-type]
