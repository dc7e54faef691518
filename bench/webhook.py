"""A group robot's webhook for bench.supervision: answers like 企业微信 ({"errcode": 0}) and notes, a JSON line per
request, when it arrived (epoch seconds) and the body. A process of its own, as a real receiver is.

    python -m bench.webhook PORT OUT.jsonl      (until SIGTERM)
"""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def serve(port: int, out: Path) -> None:
    lock = threading.Lock()
    sink = out.open("a", encoding="utf-8")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            at = time.time()  # before reading the body: the delivery has arrived
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            answer = b'{"errcode": 0, "errmsg": "ok"}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)
            with lock:
                sink.write(json.dumps({"at": at, "body": json.loads(body)}, ensure_ascii=False) + "\n")
                sink.flush()

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    stop.wait()
    server.shutdown()
    sink.close()


if __name__ == "__main__":
    serve(int(sys.argv[1]), Path(sys.argv[2]))
