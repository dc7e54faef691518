"""The collector process: connect, take batches, write, acknowledge; reconnect; drain on SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import signal
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Protocol

import aiomqtt
import psycopg
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from collector import mqtt
from collector.contract import Limits
from collector.inbox import Inbox, Received
from collector.metrics import Metrics
from collector.writer import KnownDevices, Writer
from db import ingest
from db.pool import open_pool
from domain.device_rate import Allowance, DeviceRate
from yiwang.probe import serve
from yiwang.settings import Settings

log = logging.getLogger(__name__)


def limits_from(settings: Settings) -> Limits:
    return Limits(
        max_payload_bytes=settings.max_payload_bytes,
        max_future=timedelta(seconds=settings.max_future_seconds),
        oldest=datetime.fromisoformat(settings.oldest_time),
    )


def rate_from(settings: Settings) -> DeviceRate:
    return DeviceRate(
        Allowance(settings.device_messages_per_minute, settings.device_bytes_per_minute, settings.device_burst_minutes)
    )


def stop_on_signals(stop: asyncio.Event) -> None:
    """SIGTERM and SIGINT set `stop` (where the loop can take signals: not in a thread, not on Windows)."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)


async def run(
    settings: Settings,
    *,
    stop: asyncio.Event | None = None,
    metrics: Metrics | None = None,
    writer_type: type[Writer] = Writer,
) -> None:
    """Run until `stop` is set (SIGTERM and SIGINT set it): what was received by then is written
    and acknowledged before the connection closes.

    Raises:
        psycopg_pool.PoolTimeout: the database cannot be reached at start-up.
    """
    stop = stop or asyncio.Event()
    metrics = metrics or Metrics()
    stop_on_signals(stop)
    async with (
        open_pool(
            settings.database_url_of("collector"),
            min_size=settings.db_pool_min,
            max_size=2,
            name="yiwang-collector",
            # The writer retries a batch on a failed connection; a check before each batch costs a round trip.
            check=False,
            configure=ingest.prepare_connection,
        ) as pool,
        serve(metrics, settings.metrics_host, settings.metrics_port, "collector"),
    ):
        metrics.db_ok.set(1)
        writer = writer_type(
            pool,
            root=settings.topic_root,
            limits=limits_from(settings),
            devices=KnownDevices(settings.registry_refresh_seconds, settings.zone),
            metrics=metrics,
            retry_max=settings.db_retry_max_seconds,
            rate=rate_from(settings),
            prefix_bytes=settings.dead_letter_prefix_bytes,
        )
        async with asyncio.TaskGroup() as tasks:
            pruning = tasks.create_task(prune_dead_letters(pool, settings, metrics, stop))
            await consume(settings, writer, metrics, stop)
            pruning.cancel()


async def prune_dead_letters(
    pool: AsyncConnectionPool[AsyncConnection], settings: Settings, metrics: Metrics, stop: asyncio.Event
) -> None:
    """Until `stop`, now and every `dead_letter_prune_seconds`: delete dead letters past their retention and each
    device's beyond its newest `dead_letter_max_per_device`. Every collector of a group does it; deleting what
    another deleted costs nothing. A failed turn is logged and tried again at the next."""
    while not stop.is_set():
        try:
            async with pool.connection(timeout=5) as conn, conn.transaction():
                deleted = await ingest.prune_dead_letters(
                    conn,
                    before=datetime.now(UTC) - timedelta(days=settings.dead_letter_retention_days),
                    per_device=settings.dead_letter_max_per_device,
                )
            metrics.pruned.inc(deleted)
            if deleted:
                log.info("deleted %d dead letters past their retention or their device's bound", deleted)
        except (psycopg.OperationalError, PoolTimeout) as exc:
            log.warning("dead letters not pruned: database unavailable (%s)", str(exc).strip()[:200])
        except psycopg.Error:
            log.exception("dead letters not pruned")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), settings.dead_letter_prune_seconds)


class BatchWriter(Protocol):
    """What the consume loop hands batches to: the collector's Writer, or the supervisor."""

    async def write(self, batch: Sequence[Received], abandon: asyncio.Event) -> object | None:
        """Commit the batch; None when `abandon` was set before it could be (it is not acknowledged)."""
        ...


async def consume(settings: Settings, writer: BatchWriter, metrics: Metrics, stop: asyncio.Event) -> None:
    """The reconnect loop: one connection after another until `stop`."""
    delay = 0.5
    while not stop.is_set():
        inbox = Inbox(settings.batch_size, settings.batch_wait_ms / 1000, settings.inbox_limit)
        try:
            async with mqtt.connect(settings, inbox, metrics) as session:
                log.info("connected to mqtt://%s:%s", settings.mqtt_host, settings.mqtt_port)
                metrics.mqtt_connected.set(1)
                delay = 0.5
                await _pump(session, inbox, writer, metrics, stop)
        except aiomqtt.MqttError as exc:
            log.warning("broker connection lost or refused (%s); reconnecting in %.1f s", exc, delay)
        finally:
            metrics.mqtt_connected.set(0)
            metrics.backlog.set(0)
            metrics.paused.set(0)
        if not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
            delay = min(delay * 2, 10.0) * random.uniform(0.8, 1.0)


async def _pump(
    session: mqtt.Session, inbox: Inbox, writer: BatchWriter, metrics: Metrics, stop: asyncio.Event
) -> None:
    """Write and acknowledge batches until the connection is lost or `stop` is set.

    Raises:
        aiomqtt.MqttError: the connection was lost (the caller reconnects).
    """
    lost = asyncio.Event()
    # Give up a batch whose write keeps failing only when its connection is gone or we are stopping:
    # the broker keeps what we never acknowledged. While the database works, every received message
    # is written, even after the connection dropped: a broker that crashed may not have saved it, and
    # a broker that did sends it again, which the idempotent writes absorb.
    give_up = asyncio.Event()

    async def watch_connection() -> None:
        await session.lost()
        lost.set()
        give_up.set()
        inbox.close()

    async def watch_stop() -> None:
        await stop.wait()
        give_up.set()
        inbox.close()

    async with asyncio.TaskGroup() as tasks:
        watchers = [tasks.create_task(watch_connection()), tasks.create_task(watch_stop())]
        while batch := await inbox.take():
            metrics.backlog.set(inbox.qsize() + len(batch))
            if await writer.write(batch, give_up) is not None and not lost.is_set():
                session.ack(batch)
        for watcher in watchers:
            watcher.cancel()
    if lost.is_set() and not stop.is_set():
        raise aiomqtt.MqttError("connection to the broker lost")
