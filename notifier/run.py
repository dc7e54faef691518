"""The notifier process: the database pool, the metrics endpoint, a LISTEN for new alerts, and the loop of sweeps,
each opened once here and closed when `stop` is set (SIGTERM and SIGINT set it).

A sweep, every notifier_poll_seconds or as soon as alerts are announced: judge energy events every
energy_watch_seconds (notifier/energy_watch.py: raised as alerts, planned in the same sweep), clear alerts whose
cause ended, escalate those unacknowledged too long (planning their escalation deliveries in the same transaction),
plan deliveries of new alerts (moving the cursor in the same transaction), then send what is due. Each delivery is
sent on its own with a timeout: a receiver that is down costs its own deliveries a retry, never the others or the
notifier.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import httpx
import psycopg
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from db import notifications as notifications_db
from db.alerts import ALERT_CHANNEL
from db.calendar import StoredCalendars, settings_calendar
from db.live import listen
from db.pool import open_pool
from db.sealing import Sealer, Unsealable
from domain.notifications import ROBOTS, Rule, retry_delay
from notifier import energy_watch, lifecycle, messages
from notifier.channels import Undelivered, addresses, post_webhook, send_email
from notifier.metrics import Metrics
from notifier.planner import plan_alerts
from yiwang.probe import serve
from yiwang.settings import Settings

log = logging.getLogger(__name__)

_BATCH = 500
_SEND_AT_ONCE = 20
# Deliveries taken per sweep: five rounds of those sent at once, so that each is tried well within its lease.
_CLAIM = _SEND_AT_ONCE * 5

# What time it is for planning (quiet hours, digest periods) and for what is due: the wall clock, or a test's.
Clock = Callable[[], datetime]


def wall_clock() -> datetime:
    return datetime.now(UTC)


async def run(
    settings: Settings, *, stop: asyncio.Event | None = None, metrics: Metrics | None = None, clock: Clock = wall_clock
) -> None:
    """Follow alerts and deliver by the rules until `stop` is set; `clock` says what time it is for planning and for
    what is due.

    Raises:
        psycopg_pool.PoolTimeout: the database cannot be reached at start-up.
    """
    stop = stop or asyncio.Event()
    metrics = metrics or Metrics()
    metrics.poll_seconds = settings.notifier_poll_seconds
    sealer = Sealer(settings.secret_keys())  # a key that is not one refuses the start
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    url = settings.database_url_of("notifier")
    wake = asyncio.Event()
    calendars = StoredCalendars(settings_calendar(settings))  # read again only when they change
    async with (
        open_pool(url, min_size=1, max_size=4, name="yiwang-notifier") as pool,
        serve(metrics, settings.metrics_host, settings.notifier_metrics_port, "notifier"),
        httpx.AsyncClient(timeout=settings.notify_timeout_seconds) as client,
    ):
        listener = asyncio.create_task(_listen(url, wake))
        watched: float | None = None  # monotonic time of the energy watch's last judgement
        try:
            while not stop.is_set():
                watch = watched is None or time.monotonic() - watched >= settings.energy_watch_seconds
                if watch:
                    watched = time.monotonic()
                try:
                    await sweep(
                        pool, client, settings, metrics, clock=clock, calendars=calendars, sealer=sealer, watch=watch
                    )
                except (psycopg.OperationalError, PoolTimeout) as exc:
                    log.warning("notifier: the database did not answer (%s); retrying", str(exc).strip()[:200])
                wake.clear()
                waits = [asyncio.create_task(stop.wait()), asyncio.create_task(wake.wait())]
                await asyncio.wait(waits, timeout=settings.notifier_poll_seconds, return_when=asyncio.FIRST_COMPLETED)
                for w in waits:
                    w.cancel()
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener


async def sweep(
    pool: AsyncConnectionPool[AsyncConnection],
    client: httpx.AsyncClient,
    settings: Settings,
    metrics: Metrics,
    *,
    clock: Clock,
    calendars: StoredCalendars,
    sealer: Sealer,
    watch: bool,
) -> None:
    """One round, at `clock`'s time: judge energy events (`watch`: when due, as run() schedules them), clear,
    escalate, plan, send what is due."""
    zone = settings.zone
    async with pool.connection() as conn:
        if watch:
            try:
                async with conn.transaction():
                    # Where notifications begin is fixed before the first events are raised: they are news.
                    await notifications_db.cursor(conn)
                    raised, cleared = await energy_watch.watch(conn, settings, clock(), calendars)
                metrics.energy_raised.inc(raised)
                metrics.cleared.inc(cleared)
            except psycopg.OperationalError:
                raise
            except Exception:  # a fault of ours with the data judged: logged, the deliveries go on
                log.exception("the energy watch failed; it judges again in %s s", settings.energy_watch_seconds)
        async with conn.transaction():
            metrics.cleared.inc(await lifecycle.clear(conn, settings, calendars))
        async with conn.transaction():
            last_id, start_id = await notifications_db.cursor(conn)
            rules = [_opened(rule, sealer) for rule, _ in await notifications_db.enabled_rules(conn)]
            now = clock()
            escalated = await lifecycle.escalate(conn, settings.alert_escalate_seconds, start_id, now)
            metrics.escalated.inc(len(escalated))
            metrics.planned.inc(await plan_alerts(conn, rules, escalated, "escalation", now, zone))
        while True:
            async with conn.transaction():
                new = await notifications_db.alerts_after(conn, last_id, _BATCH)
                if not new:
                    break
                metrics.planned.inc(await plan_alerts(conn, rules, new, "new", now, zone))
                last_id = new[-1]["id"]
                await notifications_db.move_cursor(conn, last_id)
        async with conn.transaction():
            # Leased long enough for every attempt of the batch to end (each round's attempts have their timeout;
            # SMTP's applies to each of its steps, so twice it), unless the setting says otherwise: another notifier
            # leaves them alone meanwhile; one killed mid-send leaves them to be tried again after.
            lease = settings.notify_lease_seconds or (
                settings.notify_timeout_seconds * 2 * (_CLAIM // _SEND_AT_ONCE) + 60
            )
            due = await notifications_db.claim(conn, _CLAIM, lease, now=clock())
    if due:
        limit = asyncio.Semaphore(_SEND_AT_ONCE)

        async def one(delivery: dict[str, Any]) -> None:
            async with limit:
                await _deliver(pool, client, settings, metrics, sealer, delivery, clock=clock)

        async with asyncio.TaskGroup() as group:
            for delivery in due:
                group.create_task(one(delivery))
    metrics.swept()


async def _deliver(  # noqa: PLR0917 - the sweep's parts, then the delivery
    pool: AsyncConnectionPool[AsyncConnection],
    client: httpx.AsyncClient,
    settings: Settings,
    metrics: Metrics,
    sealer: Sealer,
    delivery: dict[str, Any],
    *,
    clock: Clock,
) -> None:
    """Try one delivery and record how it went, at `clock`'s time (a retry is due from it)."""
    channel: str = delivery["channel"]
    escalation = delivery["key"].startswith("escalation")
    target: str = delivery["target"]  # a robot's URL masked: as recorded, not where it is sent
    async with pool.connection() as conn:
        alerts = await notifications_db.alerts_of(conn, delivery["alert_ids"])
        if channel == "email":
            # Who has the role now: an address changed or a user disabled since the alert counts at sending.
            named = addresses(delivery["rule_target"] or "")
            if delivery["role"] is not None:
                named += await notifications_db.role_addresses(conn, delivery["role"], delivery["organisation_id"])
            target = ", ".join(dict.fromkeys(named))
    error: str | None = None
    try:
        secret = None if delivery["secret"] is None else sealer.open(delivery["secret"])
        # A robot's webhook URL is its rule's (sealed: the delivery records it masked).
        to = sealer.open(delivery["rule_target"]) if channel in ROBOTS else target
        await _send(client, settings, channel, to, secret=secret, alerts=alerts, escalation=escalation)
    except Unsealable as e:
        error = f"the rule's webhook URL or secret cannot be read: {e}"
    except Undelivered as e:
        error = str(e)
    except Exception as e:  # a fault of ours with this one delivery: recorded and retried, never the others' end
        log.exception("delivery %s failed unexpectedly", delivery["id"])
        error = f"internal error: {e!r}"
    now = clock()
    async with pool.connection() as conn:
        if error is None:
            await notifications_db.sent(conn, delivery["id"], target, now=now)
            metrics.delivered.labels(channel).inc()
            return
        attempts = delivery["attempts"] + 1
        if attempts >= settings.notify_max_attempts:
            await notifications_db.failed(conn, delivery["id"], error, retry_in=None, now=now)
            metrics.dead.inc()
            log.warning("delivery %s is dead after %d attempts: %s", delivery["id"], attempts, error)
        else:
            delay = retry_delay(attempts, settings.notify_retry_seconds, settings.notify_retry_max_seconds)
            await notifications_db.failed(conn, delivery["id"], error, retry_in=delay, now=now)
            metrics.failed.labels(channel).inc()


def _opened(rule: Rule, sealer: Sealer) -> Rule:
    """The rule with its robot's webhook URL readable (its deliveries record it masked: Rule.recipients)."""
    if rule.channel not in ROBOTS or rule.target is None:
        return rule
    try:
        return replace(rule, target=sealer.open(rule.target))
    except Unsealable:
        return replace(rule, target="(sealed with an unknown key)")


async def _send(
    client: httpx.AsyncClient,
    settings: Settings,
    channel: str,
    target: str,
    *,
    secret: str | None,
    alerts: list[dict[str, Any]],
    escalation: bool,
) -> None:
    zone = settings.zone
    if not alerts:
        raise Undelivered("its alerts no longer exist")
    if channel == "email":
        body = messages.text(alerts, zone, escalation=escalation)
        await send_email(settings, addresses(target), messages.subject(alerts, escalation=escalation), body)
    elif channel == "wecom":
        await post_webhook(client, target, messages.wecom(alerts, zone, escalation=escalation))
    elif channel == "dingtalk":
        url = messages.dingtalk_url(target, secret, datetime.now(UTC))
        await post_webhook(client, url, messages.dingtalk(alerts, zone, escalation=escalation))
    else:
        raise Undelivered(f"no channel {channel!r}")


async def _listen(url: str, wake: asyncio.Event) -> None:
    """Wake the loop when alerts are committed (a lost notification waits for the next poll)."""
    delay = 0.5
    while True:
        try:
            async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
                await listen(conn, ALERT_CHANNEL)
                delay = 0.5
                async for _ in conn.notifies():
                    wake.set()
        except psycopg.OperationalError as exc:
            log.warning("notifier: not listening to the database (%s); retrying", str(exc).strip()[:200])
        await asyncio.sleep(delay)
        delay = min(delay * 2, 30.0)
