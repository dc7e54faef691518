"""The supervisor process: the rules of domain/supervision.py on the position stream, alerts into the database.

It is a consumer of its own (a persistent MQTT session `YIWANG_SUPERVISOR_CLIENT_ID`, not the collectors'
shared group): the collectors' hot path stays parse-validate-COPY, and one supervisor sees each vehicle's
reports in the order the terminal sent them. It acknowledges a batch after its alerts are committed, so a
crash loses no judgement; a redelivered position raises nothing twice (alert is unique per vehicle, kind
and fix time). Messages the collector would refuse are left to the collector's dead letters.

What the rules remember of each vehicle (where it stood, inside or outside its areas, at rest, the last alert of
each kind, the alarm runs: domain/supervision.py `Watch`) is stored in the transaction that stores the batch's
alerts (table supervisor_watch), and read back at start: a restart neither repeats an alert nor misses one. A batch
is judged on copies of the watches, which replace them once committed: a batch the database refused is judged again
from the same memory. Stored, not rebuilt from positions: the collectors store positions on their own schedule (a
batch the supervisor judges may not be stored yet), the last alert of each kind would need the alerts read back, and
a restart would read hours of every vehicle's track; a row per vehicle costs one upsert per vehicle per batch.
`silent` is kept too (raised once per silence, across restarts), and after a start a silence counts from no earlier
than the start: what came while the supervisor was down may still be queued at the broker. A retired vehicle's
silence raises nothing: it left the fleet (its fixes, if any come, are judged as ever).

Vehicles are read again every `YIWANG_REGISTRY_REFRESH_SECONDS`; the areas (indexed by unit and on a grid of their
boxes, domain/area_index.py: a fix tries only the areas around it, each calendar once) and the working calendars (the
default one and those areas name, their dated days: domain/calendar.py) as soon as their change count moves, which
each batch reads (db/calendar.py `StoredCalendars`, `area_version`): an admin's edit applies to the next batch judged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime

import psycopg
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from collector import position
from collector.contract import Limits
from collector.families import route
from collector.inbox import Received
from collector.invalid import InvalidMessage
from collector.metrics import SupervisorMetrics
from collector.run import consume, limits_from, stop_on_signals
from db import alerts as db_alerts
from db import calendar as db_calendar
from db import trip_requests
from db.pool import open_pool
from domain.area_index import AreaIndex
from domain.motion import MotionRules
from domain.position import Position
from domain.supervision import Alert, Rules, Watch
from domain.topics import POSITION
from yiwang.probe import serve
from yiwang.settings import Settings

log = logging.getLogger(__name__)


def rules_from(settings: Settings) -> Rules:
    """The rules of the settings, with the settings' week and hours and no dated days yet (the supervisor reads the
    calendars, whose NULL hours and workdays are these)."""
    return Rules(
        zone=settings.zone,
        speed_limit_kmh=settings.supervision_speed_limit_kmh,
        moved_m=settings.supervision_moved_m,
        calendar=db_calendar.settings_calendar(settings),
        repeat_seconds=settings.supervision_repeat_seconds,
        silent_ignition_seconds=settings.supervision_silent_ignition_seconds,
        silent_seconds=settings.supervision_silent_seconds,
        motion=MotionRules(  # as trips judge it (api/fleet/tracks.py)
            moving_kmh=settings.trip_moving_kmh,
            stop_radius_m=settings.track_stop_radius_m,
            min_stop_seconds=settings.track_stop_seconds,
            max_gap_seconds=settings.trip_max_gap_seconds,
        ),
    )


class Supervisor:
    """Judges batches of received messages and stores the alerts; the `consume` loop acknowledges them."""

    def __init__(
        self,
        pool: AsyncConnectionPool[AsyncConnection],
        *,
        root: str,
        limits: Limits,
        rules: Rules,
        refresh: float,
        metrics: SupervisorMetrics | None = None,
    ) -> None:
        self._pool = pool
        self._metrics = metrics or SupervisorMetrics()
        self._root = root
        self._limits = limits
        self._rules = rules
        self._calendars = db_calendar.StoredCalendars(rules.calendar)
        self._refresh = refresh
        self._loaded_at = -float("inf")
        self._organisation: dict[str, str] = {}
        self._retired: set[str] = set()
        self._areas = AreaIndex([])
        self._areas_version: int | None = None
        self.watches: dict[str, Watch] = {}
        self._restored = False
        # Silence is measured from no earlier than the start: the broker may still hold what came while it was down.
        self._started = datetime.now(UTC)
        # A batch and a silence check both write watches: one at a time, so neither stores an older memory.
        self._lock = asyncio.Lock()

    async def write(self, batch: Sequence[Received], abandon: asyncio.Event) -> int | None:
        """Judge the batch and commit its alerts, retrying while the database is away.

        Returns:
            How many alerts were stored, or None if `abandon` was set first (the broker sends the batch again).
        """
        fixes = self._fixes(batch)
        delay = 0.2
        while True:
            try:
                stored = await self._judge_and_store(fixes)
            except (psycopg.OperationalError, PoolTimeout) as exc:
                self.database_failed()
                log.warning("database unavailable (%s); retrying in %.1f s", str(exc).strip()[:200], delay)
                try:
                    await asyncio.wait_for(abandon.wait(), delay)
                except TimeoutError:
                    delay = min(delay * 2, 10.0) * random.uniform(0.8, 1.0)
                    continue
                return None
            now = time.time()
            self._metrics.db_ok.set(1)
            self._metrics.last_commit.set(now)
            if batch:
                self._metrics.judge_lag.observe(now - batch[0].at)
            return stored

    def database_failed(self) -> None:
        """What /health and /metrics say while the database refuses: unhealthy until a write succeeds."""
        self._metrics.db_errors.inc()
        self._metrics.db_ok.set(0)

    async def check_silence(self, now: datetime | None = None) -> int:
        """Raise `silent` for terminals that went quiet (sooner for a vehicle in use), not for retired vehicles;
        returns how many were raised."""
        now = now or datetime.now(UTC)
        async with self._lock:
            # The registry as of the refresh too: a vehicle retired since the last batch is known to be.
            async with self._pool.connection() as conn, conn.transaction():
                await self._restore(conn)
                await self._load(conn)
            raised: list[Watch] = []
            alerts: list[Alert] = []
            for vehicle_id, watch in self.watches.items():
                if vehicle_id in self._retired:
                    continue  # it left the fleet: its terminal is expected to fall quiet
                alert = watch.silent(vehicle_id, now, self._rules, since=self._started)
                if alert is not None:
                    alerts.append(alert)
                    raised.append(watch)
            if not alerts:
                return 0
            try:
                async with self._pool.connection() as conn, conn.transaction():
                    stored = await self._store(conn, alerts)
                    states = {a.vehicle_id: w.state() for a, w in zip(alerts, raised, strict=True)}
                    await db_alerts.keep_watches(conn, states)
            except BaseException:
                for watch in raised:  # not committed: the next check raises them again
                    watch.silent_raised = False
                raise
            for alert in alerts:
                self._metrics.raised.labels(alert.kind).inc()
            return stored

    def _fixes(self, batch: Sequence[Received]) -> list[Position]:
        out: list[Position] = []
        for item in batch:
            try:
                family, vehicle_id = route(self._root, item.topic)
                if family is not POSITION:
                    continue
                rows, _ = position.parse(vehicle_id, item.payload, datetime.fromtimestamp(item.at, UTC), self._limits)
            except InvalidMessage:
                continue  # the collector records why
            out.extend(rows)
        return out

    async def _judge_and_store(self, fixes: list[Position]) -> int:
        async with self._lock:
            async with self._pool.connection() as conn, conn.transaction():
                await self._restore(conn)
                await self._load(conn)
                dispatched = await trip_requests.open_requests(conn, "vehicle_id", {f.vehicle_id for f in fixes})
                alerts: list[Alert] = []
                judged: dict[str, Watch] = {}
                count = 0  # the fixes judged: those of unregistered vehicles are skipped, not judged
                for fix in fixes:
                    organisation = self._organisation.get(fix.vehicle_id)
                    if organisation is None:
                        continue  # not registered: the collector refuses it
                    here = self._areas.at(organisation, fix.longitude, fix.latitude, fix.time, self._rules)
                    watch = judged.get(fix.vehicle_id)
                    if watch is None:
                        kept = self.watches.get(fix.vehicle_id)
                        watch = Watch() if kept is None else Watch.restored(kept.state(), self._rules)
                        judged[fix.vehicle_id] = watch
                    alerts += watch.judge_at(fix, dispatched=fix.vehicle_id in dispatched, here=here, rules=self._rules)
                    count += 1
                stored = await self._store(conn, alerts)
                await db_alerts.keep_watches(conn, {v: w.state() for v, w in judged.items()})
            self.watches.update(judged)  # only once committed: a refused batch is judged again from the same memory
            self._metrics.judged.inc(count)
            for alert in alerts:
                self._metrics.raised.labels(alert.kind).inc()
            return stored

    async def _restore(self, conn: AsyncConnection) -> None:
        # Once per process: what the last run remembered, as of its last committed batch.
        if self._restored:
            return
        await self._load(conn)
        self.watches = {v: Watch.restored(state, self._rules) for v, state in (await db_alerts.watches(conn)).items()}
        self._restored = True

    async def _load(self, conn: AsyncConnection) -> None:
        # One row's read per batch: an edited calendar applies to the next fixes, whatever the refresh.
        if await self._calendars.follow(conn):
            self._rules = replace(self._rules, calendar=self._calendars.default, calendars=self._calendars.by_id)
        # Likewise a drawn, changed or removed area, indexed once per read (by unit, on a grid of their boxes): each
        # fix then tries only the areas around it.
        areas_version = await db_alerts.area_version(conn)
        if areas_version != self._areas_version:
            self._areas = AreaIndex(await db_alerts.all_areas(conn))
            self._areas_version = areas_version
        if time.monotonic() - self._loaded_at < self._refresh:
            return
        self._organisation = await db_alerts.organisations_of_vehicles(conn)
        self._retired = await db_alerts.retired_vehicles(conn)
        self._loaded_at = time.monotonic()

    async def _store(self, conn: AsyncConnection, alerts: list[Alert]) -> int:
        if not alerts:
            return 0
        return len(await db_alerts.store(conn, alerts, self._organisation))


async def run(
    settings: Settings, *, stop: asyncio.Event | None = None, metrics: SupervisorMetrics | None = None
) -> None:
    """Run until `stop` is set (SIGTERM and SIGINT set it); `metrics` shows whether it is connected."""
    stop = stop or asyncio.Event()
    metrics = metrics or SupervisorMetrics()
    stop_on_signals(stop)
    own = settings.model_copy(update={"mqtt_client_id": settings.supervisor_client_id, "mqtt_shared_group": None})
    async with (
        open_pool(settings.database_url_of("supervisor"), max_size=2, name="yiwang-supervisor", check=False) as pool,
        serve(metrics, settings.metrics_host, settings.supervisor_metrics_port, "supervisor"),
    ):
        metrics.db_ok.set(1)
        supervisor = Supervisor(
            pool,
            root=settings.topic_root,
            limits=limits_from(settings),
            rules=rules_from(settings),
            refresh=settings.registry_refresh_seconds,
            metrics=metrics,
        )

        async def watch_silence() -> None:
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), settings.supervision_silence_check_seconds)
                try:
                    await supervisor.check_silence()
                except (psycopg.OperationalError, PoolTimeout) as exc:
                    supervisor.database_failed()
                    log.warning("silence check skipped: database unavailable (%s)", str(exc).strip()[:200])

        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(watch_silence())
            await consume(own, supervisor, metrics, stop)
