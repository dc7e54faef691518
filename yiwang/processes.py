"""The processes `yiwang run` starts, as other commands find them: a pid file each under YIWANG_HOME/run, and the
health URL each answers (`yiwang drill` kills them by pid and waits for their health)."""

from __future__ import annotations

import os
import urllib.request
from pathlib import Path

from yiwang.settings import Settings


def run_folder(settings: Settings) -> Path:
    """Where `yiwang run` keeps a pid file per process it started (`collector.pid`...)."""
    return settings.home / "run"


def write_pid(settings: Settings, name: str, pid: int) -> None:
    folder = run_folder(settings)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.pid").write_text(f"{pid}\n", encoding="utf-8")


def remove_pid(settings: Settings, name: str) -> None:
    (run_folder(settings) / f"{name}.pid").unlink(missing_ok=True)


def pid_of(settings: Settings, name: str) -> int | None:
    """The pid of the process `yiwang run` started under this name, if its file names one that is alive."""
    try:
        pid = int((run_folder(settings) / f"{name}.pid").read_text(encoding="utf-8").strip())
    except (FileNotFoundError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:  # alive, another user's
        return pid
    return pid


def health_urls(settings: Settings) -> dict[str, str]:
    """Each long-running process's health check, by the name `yiwang run` starts it under."""
    return {
        "collector": f"http://{settings.metrics_host}:{settings.metrics_port}/health",
        "supervisor": f"http://{settings.metrics_host}:{settings.supervisor_metrics_port}/health",
        "api": f"http://{settings.api_host}:{settings.api_port}/health",
        "gateway": f"http://{settings.metrics_host}:{settings.gateway_metrics_port}/health",
        "notifier": f"http://{settings.metrics_host}:{settings.notifier_metrics_port}/health",
        "worker": f"http://{settings.metrics_host}:{settings.worker_metrics_port}/health",
    }


def healthy(url: str) -> bool:
    """Whether the health check answers 200 now."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own processes' endpoints
            return bool(response.status == 200)
    except OSError:
        return False
