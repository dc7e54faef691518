"""Prometheus metrics of the API: requests by route template and status, their latency, WebSocket clients, and the
database's size; served at /metrics on the metrics port (yiwang/probe.py), never on the public port.

Labels are the route's template (`/vehicles/{vehicle_id}/track`), never the raw path: a path carries ids, so labels
by path would grow a series per vehicle, and one caller walking random paths could fill the API's memory and
Prometheus's disk. A request that matched no route (a static page, a 404) counts under `unrouted`.
"""

from __future__ import annotations

import asyncio
import logging
import time

import psycopg
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from db import sizes

log = logging.getLogger(__name__)

# Requests that matched no route of the app: static pages, 404s, probes of paths that do not exist.
UNROUTED = "unrouted"
# HTTP's methods; any other a client invents counts as OTHER (a label per invented method would be unbounded too).
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OTHER = "other"
_SECONDS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
# The event loop is timed by a timer due every this many seconds: ten wake-ups a second, nothing beside the traffic.
LOOP_WATCH_SECONDS = 0.1
_LAG_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)


class Metrics:
    """The API's counters; one instance per app, each with its own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "yiwang_api_requests",
            "HTTP requests answered, by route template, method and status.",
            ["route", "method", "status"],
            registry=r,
        )
        self.seconds = Histogram(
            "yiwang_api_request_seconds",
            "From a request's arrival to the end of its answer, by route template.",
            ["route"],
            buckets=_SECONDS_BUCKETS,
            registry=r,
        )
        self.loop_lag = Histogram(
            "yiwang_api_event_loop_lag_seconds",
            f"How late the event loop ran a timer due every {LOOP_WATCH_SECONDS:g} s: a sample of what a turn of a "
            "request or of a map client's send waits behind the loop's other work, or for a busy machine's core.",
            buckets=_LAG_BUCKETS,
            registry=r,
        )
        self.websockets = Gauge(
            "yiwang_api_websocket_clients", "WebSocket clients connected now (accepted, not yet closed).", registry=r
        )
        self.quota_alerts = Counter(
            "yiwang_api_quota_alerts_raised",
            "quota_near alerts raised by this process's quota watch (api/energy/quota_watch.py).",
            registry=r,
        )
        # With a read replica set (api/reads.py): where reports and exports were read, and how far behind it was.
        self.reads = Counter(
            "yiwang_api_reads",
            "Reports, exports and survey files read, by source: replica, or primary when the replica was passed over.",
            ["source"],
            registry=r,
        )
        self.replica_failed = Counter(
            "yiwang_api_replica_reads_failed",
            "Reads the read replica ended midway (recovery conflict, session ended, connection lost), each then read "
            "again from the primary.",
            registry=r,
        )
        self.replica_lag = Gauge(
            "yiwang_api_replica_lag_seconds",
            "How far behind the primary the read replica's figures were at its last answer (0: caught up).",
            registry=r,
        )
        self.database_bytes = Gauge(
            "yiwang_database_size_bytes",
            "The database's size on disk (pg_database_size), measured periodically.",
            registry=r,
        )

    def health(self) -> tuple[bool, dict[str, object]]:
        """The API's own health is GET /health on its public port (it checks the database); this port only serves
        the metrics, so it is healthy while it answers."""
        return True, {}


def route_of(scope: Scope) -> str:
    """The template of the route the router matched (FastAPI leaves it in the scope), else UNROUTED."""
    path = getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) else UNROUTED


class MetricsMiddleware:
    """Counts every HTTP request by route template, method and status with its duration, and the WebSocket clients
    connected. Pure ASGI: it sees the status as it is sent and the route once the router has matched."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets if the app raises before it answers

        async def send_counted(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_counted)
        finally:
            route = route_of(scope)
            method = scope["method"] if scope["method"] in METHODS else OTHER
            self.metrics.requests.labels(route, method, str(status)).inc()
            self.metrics.seconds.labels(route).observe(time.perf_counter() - started)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        accepted = False

        async def send_counted(message: Message) -> None:
            nonlocal accepted
            await send(message)
            if message["type"] == "websocket.accept" and not accepted:
                accepted = True
                self.metrics.websockets.inc()

        try:
            await self.app(scope, receive, send_counted)
        finally:
            if accepted:
                self.metrics.websockets.dec()


async def measure_database(pool: AsyncConnectionPool[AsyncConnection], metrics: Metrics, every: float) -> None:
    """Until cancelled, every `every` seconds: the database's size into metrics.database_bytes. A database that does
    not answer leaves the last figure (the API's /health says it is away)."""
    while True:
        try:
            async with pool.connection(timeout=5) as conn:
                metrics.database_bytes.set(await sizes.database_bytes(conn))
        except (psycopg.OperationalError, PoolTimeout) as exc:
            log.warning("database size not measured: database unavailable (%s)", str(exc).strip()[:200])
        await asyncio.sleep(every)


async def watch_loop(metrics: Metrics, every: float = LOOP_WATCH_SECONDS) -> None:
    """Until cancelled: how late the event loop wakes a timer due `every` seconds on, into metrics.loop_lag.

    A sample of what a turn of any task waits (a request's after each database round trip, a map client's send):
    a request latency that grows with this lag is the loop's, work held on it (a slow callback, a thread holding
    the GIL) or a machine whose cores are busy elsewhere, not the database's. The soak of a city on one 2-core
    machine (docs/figures.md) is where it was first needed."""
    loop = asyncio.get_running_loop()
    while True:
        due = loop.time() + every
        await asyncio.sleep(every)
        metrics.loop_lag.observe(max(loop.time() - due, 0.0))
