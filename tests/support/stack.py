"""A test's settings on the session's TimescaleDB and Mosquitto, and folders for stacks of its own."""

from __future__ import annotations

import tempfile
from pathlib import Path

from tests.support.broker import TESTER, TESTER_PASSWORD
from yiwang.settings import Settings
from yiwang.stack import Stack


def make_stack_home(name: str) -> Path:
    # pytest's own tmp folders are private to root; the postgres user must reach the cluster folder.
    home = Path(tempfile.mkdtemp(prefix=f"yiwang-{name}-"))
    home.chmod(0o755)
    return home


def settings_for(s: Stack, tag: str, **overrides: object) -> Settings:
    """Settings of one test: its own topic root and client id, small batches, the tester's broker account."""
    values: dict[str, object] = {
        "database_url": s.postgres.url,
        "mqtt_port": s.mosquitto.port,
        "mqtt_topic_root": f"t{tag}",
        "mqtt_client_id": f"collector-{tag}",
        "metrics_port": 0,
        "supervisor_metrics_port": 0,
        "batch_size": 200,
        "batch_wait_ms": 20,
        "home": s.postgres.home.parent,
        "mqtt_username": TESTER,
        "mqtt_password": TESTER_PASSWORD,
        **overrides,
    }
    return Settings(**values)  # type: ignore[arg-type]
