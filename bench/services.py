"""What the dispatch benchmarks share: a fleet registered in one go, and the collector and the API running as the
README's commands run them (`yiwang collect`, `yiwang api`), against a benchmark's own stack."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg

from api.access.users import create_user
from db.registry import import_document
from domain.registry import Organisation, RegistryDocument, Vehicle
from yiwang.stack import Stack, free_port

DISPATCHER = "bench-dispatcher"


async def register_fleet(url: str, vehicles: int, units: int, *, energy: str, password: str) -> None:
    """Vehicles v0.. spread over units u000.., and the dispatcher who watches them all (DISPATCHER, `password`)."""
    document = RegistryDocument(
        organisations=[Organisation(id=f"u{u:03d}", name=f"单位 {u}") for u in range(units)],
        vehicles=[
            Vehicle(id=f"v{i}", organisation_id=f"u{i % units:03d}", plate=f"赣H{i:05d}", energy=energy)  # type: ignore[arg-type]
            for i in range(vehicles)
        ],
    )
    async with await psycopg.AsyncConnection.connect(url) as conn:
        await import_document(conn, document)
        await create_user(conn, DISPATCHER, password, "dispatcher")


@contextlib.contextmanager
def collector_and_api(stack: Stack, root: str, home: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """The collector and the API on `stack` (topic root `root`, logs in `home`) until the block ends: the API's
    address, once it answers, and its process (for its CPU and memory)."""
    api_port = free_port()
    env = {
        **os.environ,
        "YIWANG_DATABASE_URL": stack.postgres.url,
        "YIWANG_MQTT_PORT": str(stack.mosquitto.port),
        "YIWANG_MQTT_TOPIC_ROOT": root,
        "YIWANG_METRICS_PORT": str(free_port()),
        "YIWANG_API_PORT": str(api_port),
        "YIWANG_API_METRICS_PORT": str(free_port()),
        "YIWANG_API_TOKEN_SECRET": secrets.token_urlsafe(48),
        "YIWANG_API_ACCESS_TOKEN_MINUTES": "120",
        "YIWANG_LOG_LEVEL": "WARNING",
    }
    cli = [sys.executable, "-m", "yiwang.cli"]
    base = f"http://127.0.0.1:{api_port}"
    with (
        _process([*cli, "collect"], env, home / "collector.log"),
        _process([*cli, "api"], env, home / "api.log") as api,
    ):
        _wait_http(f"{base}/health", api)
        yield base, api


@contextlib.contextmanager
def _process(argv: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("ab") as out:
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=out)
    try:
        yield proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_http(url: str, proc: subprocess.Popen[bytes], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer")
