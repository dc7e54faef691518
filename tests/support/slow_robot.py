"""A group robot slow to answer, as a process of its own: each POST is written as a JSON file into a folder the
moment it arrives, and answered `{"errcode": 0}` only after `hold` seconds. Deliveries to it stay in flight long
enough to kill their sender mid-send.

Run as `python -m tests.support.slow_robot PORT FOLDER HOLD`.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.support.receivers import Receiver, serving


@contextmanager
def slow_robot(folder: Path, hold: float) -> Iterator[Receiver]:
    """The robot on a free loopback port, stopped when the block ends."""
    with serving(
        folder, "the slow robot", ["-m", "tests.support.slow_robot", "{port}", str(folder), str(hold)]
    ) as robot:
        yield robot


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
