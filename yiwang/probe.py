"""The tiny HTTP endpoint of every background process (collector, supervisor, gateway): GET /metrics for
Prometheus and GET /health for a load balancer, compose's health checks and `yiwang run`. Beside the settings, not in
a service's package, so that the services share it without importing one another."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Protocol

import orjson
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

log = logging.getLogger(__name__)


class Probed(Protocol):
    """What a process serves: its metrics' registry, and whether it is healthy (with the details said)."""

    registry: CollectorRegistry

    def health(self) -> tuple[bool, dict[str, object]]: ...


@asynccontextmanager
async def serve(metrics: Probed, host: str, port: int, name: str) -> AsyncIterator[asyncio.Server]:
    """Serve GET /metrics and GET /health until the block ends. Port 0 picks a free port; `name` is for the log."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            writer.close()
            return
        path = request.split(b" ", 2)[1] if request.count(b" ") >= 2 else b""
        if path == b"/metrics":
            status, ctype, body = "200 OK", CONTENT_TYPE_LATEST, generate_latest(metrics.registry)
        elif path == b"/health":
            ok, detail = metrics.health()
            status = "200 OK" if ok else "503 Service Unavailable"
            ctype, body = "application/json", orjson.dumps({"ok": ok, **detail})
        else:
            status, ctype, body = "404 Not Found", "text/plain", b"try /metrics or /health\n"
        head = f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        writer.write(head.encode() + body)
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, host, port)
    address = server.sockets[0].getsockname()
    log.info("%s metrics and health at http://%s:%s/metrics and /health", name, address[0], address[1])
    try:
        yield server
    finally:
        server.close()
        await server.wait_closed()
