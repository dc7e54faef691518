"""Alerts inserted by several processes at once are all planned: the supervisor holding an alert id uncommitted
while the energy watch commits a higher one must not let a sweep move the notifier's cursor past the lower one
(db/alerts.py lock_inserts)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import psycopg

from db import energy_events as events_db
from db.alerts import store
from domain.energy_events import EnergyEvent
from domain.supervision import Alert
from tests.support.notifier import add_rule, deliveries, notifying, remove_rules
from tests.support.registry import register_devices
from tests.support.waiting import count, eventually
from yiwang.settings import Settings

WAITING_ON_A_LOCK = "SELECT count(*) FROM pg_locks WHERE pid = %s AND NOT granted"


async def test_an_alert_committed_after_a_higher_id_is_still_planned(notifier_settings: Settings, tag: str) -> None:
    url = notifier_settings.database_url
    unit = await register_devices(url, f"o{tag}", meters=0, vehicles=1)
    [vehicle] = unit.vehicles
    institution = f"inst-o{tag}"
    rule = await add_rule(url, name="全部", organisation_id=unit.organisation, channel="email",
                          target="all@example.org")  # fmt: skip
    now = datetime.now(UTC).replace(microsecond=0)
    try:
        async with (
            notifying(notifier_settings) as metrics,
            await psycopg.AsyncConnection.connect(notifier_settings.database_url_of("supervisor")) as supervisor,
            await psycopg.AsyncConnection.connect(notifier_settings.database_url_of("notifier")) as watch,
        ):
            # The supervisor's batch: its alert's id taken, not committed yet.
            alert = Alert(vehicle, "parking", "yellow", now, now, 29.3, 117.2, 0.0, "test parking")
            [lower] = await store(supervisor, [alert], {vehicle: unit.organisation})

            # Meanwhile an energy event is raised and committed (a higher id).
            async def raise_event() -> int:
                event = EnergyEvent("quota_near", institution, None, "yellow", now - timedelta(days=1), "test quota")
                async with watch.transaction():
                    [raised] = await events_db.raise_events(watch, [event])
                return raised

            raising = asyncio.create_task(raise_event())
            pid = watch.info.backend_pid
            await eventually(lambda: raising.done() or count(url, WAITING_ON_A_LOCK, (pid,)) == 1)
            swept = metrics.sweeps
            await eventually(lambda: metrics.sweeps >= swept + 3)  # sweeps that plan what is committed so far
            await supervisor.commit()
            higher = await raising
            assert higher > lower

            async def planned() -> list[int]:
                return sorted(i for d in await deliveries(url, rule) for i in d["alert_ids"])

            swept = metrics.sweeps
            await eventually(lambda: metrics.sweeps >= swept + 3)
            assert await planned() == [lower, higher]
    finally:
        await remove_rules(url, unit.organisation)
