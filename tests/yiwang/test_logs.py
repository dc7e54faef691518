"""YIWANG_LOG_FORMAT=json: every line a process writes is one JSON object, uvicorn's lines included."""

from __future__ import annotations

import logging
import os
import secrets
import subprocess
import sys

import httpx
import orjson

from tests.support.waiting import wait_until
from yiwang.logs import JsonFormatter
from yiwang.stack import Stack, free_port


def test_a_record_becomes_one_json_object_with_its_message_rendered_and_its_exception() -> None:
    try:
        raise ValueError("bad frame")
    except ValueError:
        record = logging.getLogger("collector.writer").makeRecord(
            "collector.writer", logging.ERROR, __file__, 1, "batch of %d refused", (12,), sys.exc_info()
        )
    line = JsonFormatter("yiwang collect").format(record)
    assert "\n" not in line
    found = orjson.loads(line)
    assert found["level"] == "ERROR"
    assert found["logger"] == "collector.writer"
    assert found["message"] == "batch of 12 refused"
    assert found["process"] == "yiwang collect"
    assert "ValueError: bad frame" in found["exception"]
    assert found["time"].endswith("+00:00")


def test_the_api_and_uvicorn_write_json_lines(stack: Stack) -> None:
    port = free_port()
    env = {
        **os.environ,
        "YIWANG_HOME": str(stack.postgres.home.parent),
        "YIWANG_DATABASE_URL": stack.postgres.url,
        "YIWANG_API_DATABASE_URL": stack.postgres.service_url("api"),
        "YIWANG_API_TOKEN_SECRET": secrets.token_urlsafe(48),
        "YIWANG_API_PORT": str(port),
        "YIWANG_API_METRICS_PORT": str(free_port()),
        "YIWANG_LOG_FORMAT": "json",
        "YIWANG_NO_SUCH_SETTING": "1",
    }
    api = subprocess.Popen(
        [sys.executable, "-m", "yiwang.cli", "api"], env=env, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:

        def answers() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200
            except httpx.TransportError:
                return False

        wait_until(lambda: answers() or api.poll() is not None, 60, "the API answers")
    finally:
        api.terminate()
        out, err = api.communicate(timeout=30)
    lines = [orjson.loads(line) for line in (out + err).splitlines() if line.strip()]
    assert all(line["process"] == "yiwang api" for line in lines)
    loggers = {(line["logger"], line["message"]) for line in lines}
    assert ("yiwang", "YIWANG_NO_SUCH_SETTING is not a setting (yiwang/settings.py) and is ignored") in loggers
    assert ("uvicorn.error", "Application startup complete.") in loggers
    assert any(logger == "uvicorn.access" and "/health" in message for logger, message in loggers)
