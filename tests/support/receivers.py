"""Receivers of the notifier's messages, each a real process of its own: an SMTP server (aiosmtpd) and an HTTP
webhook receiver, both writing what they receive as JSON files into a folder the test reads.

The webhook receiver answers like a group robot ({"errcode": 0, "errmsg": "ok"}), except on paths that ask it to fail:
`/fail-N/...` answers HTTP 500 to the first N requests on that path, `/down/...` always answers 500.

Run as `python -m tests.support.receivers smtp|webhook PORT FOLDER`.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.support.waiting import wait_until
from yiwang.stack import free_port


@dataclass(frozen=True)
class Receiver:
    port: int
    folder: Path

    def received(self) -> list[dict[str, Any]]:
        """What arrived, oldest first."""
        return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(self.folder.glob("*.json"))]


@contextmanager
def receiving(kind: str, folder: Path) -> Iterator[Receiver]:
    """A receiver process (`smtp` or `webhook`) on a free loopback port, stopped when the block ends."""
    command = ["-m", "tests.support.receivers", kind, "{port}", str(folder)]
    with serving(folder, f"the {kind} receiver", command) as receiver:
        yield receiver


@contextmanager
def serving(folder: Path, name: str, command: list[str]) -> Iterator[Receiver]:
    """A receiver process (`python` with `command`, `{port}` in it replaced by a free loopback port) that writes what
    it receives into `folder`; stopped when the block ends."""
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    process = subprocess.Popen([sys.executable, *(arg.replace("{port}", str(port)) for arg in command)])
    try:
        wait_until(lambda: _accepts(port) or process.poll() is not None, 15, f"{name} to listen")
        assert process.poll() is None, f"{name} exited with {process.returncode}"
        yield Receiver(port, folder)
    finally:
        process.terminate()
        process.wait(10)


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _record(folder: Path, what: dict[str, Any]) -> None:
    """One file per message, written whole before it appears (renamed into place)."""
    name = f"{time.time_ns()}-{threading.get_ident()}"
    partial = folder / f"{name}.part"
    partial.write_text(json.dumps(what, ensure_ascii=False), encoding="utf-8")
    os.replace(partial, folder / f"{name}.json")


def _smtp(port: int, folder: Path) -> None:
    from aiosmtpd.controller import Controller  # noqa: PLC0415 (only the receiver process needs it)

    class Handler:
        async def handle_DATA(self, _server: object, _session: object, envelope: Any) -> str:
            _record(
                folder,
                {"from": envelope.mail_from, "to": list(envelope.rcpt_tos), "data": envelope.content.decode()},
            )
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    _wait_for_term()
    controller.stop()


def _webhook(port: int, folder: Path) -> None:
    seen: dict[str, int] = {}
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            parts = urlsplit(self.path)
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with lock:
                seen[parts.path] = seen.get(parts.path, 0) + 1
                n = seen[parts.path]
            first = parts.path.strip("/").split("/")[0]
            failing = first == "down" or (first.startswith("fail-") and n <= int(first.removeprefix("fail-")))
            _record(
                folder,
                {
                    "path": parts.path,
                    "query": {k: v[0] for k, v in parse_qs(parts.query).items()},
                    "body": json.loads(body),
                    "answered": 500 if failing else 200,
                },
            )
            answer = b'{"errcode": 500, "errmsg": "down"}' if failing else b'{"errcode": 0, "errmsg": "ok"}'
            self.send_response(500 if failing else 200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _wait_for_term()
    server.shutdown()


def _wait_for_term() -> None:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()


if __name__ == "__main__":
    kind, port_text, folder_text = sys.argv[1:4]
    {"smtp": _smtp, "webhook": _webhook}[kind](int(port_text), Path(folder_text))
