"""The notifier in tests: running in the test's event loop, alerts raised as the supervisor stores them, rules
written as the API writes them, and the deliveries read back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from db.alerts import store
from domain.supervision import Alert, AlertKind, Level
from notifier.metrics import Metrics
from notifier.run import Clock, run, wall_clock
from tests.support.waiting import eventually
from yiwang.settings import Settings


@asynccontextmanager
async def notifying(settings: Settings, clock: Clock = wall_clock) -> AsyncIterator[Metrics]:
    """A notifier (on `clock`'s time) until the block ends, then stopped as by SIGTERM; started once its first sweep
    ended."""
    stop, metrics = asyncio.Event(), Metrics()
    task = asyncio.create_task(run(settings, stop=stop, metrics=metrics, clock=clock))
    await eventually(lambda: metrics.sweeps > 0 or task.done(), 15)
    if task.done():
        task.result()
    try:
        yield metrics
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


async def raise_alert(  # noqa: PLR0917 (an alert's own facts)
    url: str, vehicle: str, organisation: str, kind: AlertKind, level: Level, time: datetime, **fix: Any
) -> int:
    """An alert stored as the supervisor stores it (announced on commit); its id."""
    alert = Alert(
        vehicle, kind, level, time, time, fix.get("latitude", 29.3), fix.get("longitude", 117.2),
        fix.get("speed", 40.0), fix.get("detail", f"test {kind}"),
    )  # fmt: skip
    async with await psycopg.AsyncConnection.connect(url) as conn:
        ids = await store(conn, [alert], {vehicle: organisation})
        await conn.commit()
    assert len(ids) == 1
    return ids[0]


async def add_rule(url: str, **values: Any) -> int:
    """A notification rule with these columns' values; its id."""
    names = list(values)
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        cur = await conn.execute(
            f"INSERT INTO notification_rule ({', '.join(names)}) VALUES ({', '.join(['%s'] * len(names))}) "
            "RETURNING id",
            [values[n] for n in names],
        )
        row = await cur.fetchone()
    assert row is not None
    return int(row[0])


async def deliveries(url: str, rule_id: int) -> list[dict[str, Any]]:
    """A rule's deliveries, in id order."""
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        cur = conn.cursor(row_factory=dict_row)
        await cur.execute("SELECT * FROM notification_delivery WHERE rule_id = %s ORDER BY id", (rule_id,))
        return await cur.fetchall()


async def remove_rules(url: str, organisation: str) -> None:
    """A test's rules and their deliveries gone, so that no later notifier tries them."""
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute("DELETE FROM notification_rule WHERE organisation_id = %s", (organisation,))
