"""A group robot slow to answer, as a process of its own: each POST is written as a JSON file into a folder the
moment it arrives, and answered `{"errcode": 0}` only after `hold` seconds. Deliveries to it stay in flight long
enough to kill their sender mid-send.

Run as `python -m tests.support.slow_robot PORT FOLDER HOLD`.
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
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.support.receivers import Receiver
from tests.support.waiting import wait_until
from yiwang.stack import free_port


@contextmanager
def slow_robot(folder: Path, hold: float) -> Iterator[Receiver]:
    """The robot on a free loopback port, stopped when the block ends."""
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "tests.support.slow_robot", str(port), str(folder), str(hold)])
    try:
        wait_until(lambda: _accepts(port) or process.poll() is not None, 15, "the slow robot to listen")
        assert process.poll() is None, f"the slow robot exited with {process.returncode}"
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


def _serve(port: int, folder: Path, hold: float) -> None:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            name = f"{time.time_ns()}-{threading.get_ident()}"
            (folder / f"{name}.part").write_text(
                json.dumps({"path": self.path, "body": json.loads(body)}, ensure_ascii=False), encoding="utf-8"
            )
            os.replace(folder / f"{name}.part", folder / f"{name}.json")  # arrived: recorded before it is answered
            time.sleep(hold)  # the robot being slow is the point
            answer = b'{"errcode": 0, "errmsg": "ok"}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
    server.shutdown()


if __name__ == "__main__":
    port_text, folder_text, hold_text = sys.argv[1:4]
    _serve(int(port_text), Path(folder_text), float(hold_text))
