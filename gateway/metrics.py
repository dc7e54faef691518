"""Prometheus metrics of the gateway, and a tiny HTTP endpoint serving them and a health check."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import orjson
from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

log = logging.getLogger(__name__)


class Metrics:
    """The gateway's counters; one instance per gateway, each with its own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.connections = Gauge("yiwang_gateway_connections", "Terminal connections open now.", registry=r)
        self.connections_refused = Counter(
            "yiwang_gateway_connections_refused",
            "Connections closed as they opened: jt808_max_connections were open.",
            registry=r,
        )
        self.frames = Counter(
            "yiwang_gateway_frames", "Frames read from terminals (good or refused).", ["message"], registry=r
        )
        self.published = Counter(
            "yiwang_gateway_positions_published", "Fixes published to the broker and acknowledged by it.", registry=r
        )
        self.refused = Counter(
            "yiwang_gateway_refused", "Frames, messages and fixes recorded as dead letters.", ["reason"], registry=r
        )
        self.unanswered = Counter(
            "yiwang_gateway_unanswered",
            "Messages left unanswered because the broker or the database was away (the terminal sends again).",
            registry=r,
        )
        self.mqtt_connected = Gauge("yiwang_gateway_mqtt_connected", "1 while connected to the broker.", registry=r)
        self.listening = Gauge("yiwang_gateway_listening", "1 while terminals can connect.", registry=r)

    def health(self) -> tuple[bool, dict[str, object]]:
        """Healthy while terminals can connect and the broker takes publications."""
        connected = self.mqtt_connected._value.get() == 1
        listening = self.listening._value.get() == 1
        return connected and listening, {
            "mqtt_connected": connected,
            "listening": listening,
            "connections": int(self.connections._value.get()),
        }


@asynccontextmanager
async def serve(metrics: Metrics, host: str, port: int) -> AsyncIterator[asyncio.Server]:
    """Serve GET /metrics and GET /health until the block ends. Port 0 picks a free port."""

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
    log.info("gateway metrics and health at http://%s:%s/metrics and /health", address[0], address[1])
    try:
        yield server
    finally:
        server.close()
        await server.wait_closed()
