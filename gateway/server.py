"""The gateway process: the database pool, the broker connection, the metrics endpoint and the terminals' TCP
server, each opened once here and closed in reverse order when `stop` is set (SIGTERM and SIGINT set it)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from db.pool import open_pool
from gateway import broker as broker_module
from gateway.metrics import Metrics
from gateway.session import Limits, Session
from yiwang.probe import serve
from yiwang.settings import Settings

log = logging.getLogger(__name__)

# A position payload holds at most this many items (the collector's limit, docs/device-protocol.md "Limits").
_MAX_ITEMS = 1000


def limits_from(settings: Settings) -> Limits:
    return Limits(
        idle_seconds=settings.jt808_idle_seconds,
        max_refusals=settings.jt808_max_refusals,
        multipacket_seconds=settings.jt808_multipacket_seconds,
        max_payload_bytes=settings.max_payload_bytes,
        max_items=_MAX_ITEMS,
        prefix_bytes=settings.dead_letter_prefix_bytes,
    )


async def run(settings: Settings, *, stop: asyncio.Event | None = None, metrics: Metrics | None = None) -> None:
    """Serve terminals until `stop` is set; then stop listening and close every terminal's connection (a message
    not answered by then is sent again by its terminal).

    Raises:
        psycopg_pool.PoolTimeout: the database cannot be reached at start-up.
        OSError: the terminals' address cannot be listened on.
    """
    stop = stop or asyncio.Event()
    metrics = metrics or Metrics()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    async with (
        open_pool(settings.database_url_of("gateway"), min_size=1, max_size=4, name="yiwang-gateway") as pool,
        serve(metrics, settings.metrics_host, settings.gateway_metrics_port, "gateway"),
        broker_module.connected(settings, metrics) as broker,
    ):
        sessions: set[asyncio.Task[None]] = set()
        limits = limits_from(settings)

        async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            if len(sessions) >= settings.jt808_max_connections:
                metrics.connections_refused.inc()
                writer.close()
                return
            session = Session(
                reader, writer, pool=pool, broker=broker, metrics=metrics, root=settings.topic_root, limits=limits
            )
            # A task of its own, which the shutdown cancels: asyncio logs a cancelled connection callback as an error.
            task = asyncio.create_task(session.run())
            sessions.add(task)
            metrics.connections.inc()
            try:
                await asyncio.wait([task])
            finally:
                sessions.discard(task)
                metrics.connections.dec()
            if not task.cancelled() and (exc := task.exception()) is not None:
                # A fault of the gateway's own ends this connection, logged, never another one.
                log.error("a terminal connection failed", exc_info=exc)
                writer.close()

        server = await asyncio.start_server(accept, settings.jt808_host, settings.jt808_port)
        address = server.sockets[0].getsockname()
        log.info("JT/T 808 terminals at %s:%s", address[0], address[1])
        metrics.listening.set(1)
        try:
            await stop.wait()
        finally:
            metrics.listening.set(0)
            server.close()
            for task in list(sessions):
                task.cancel()
            await asyncio.gather(*sessions, return_exceptions=True)
            await server.wait_closed()
