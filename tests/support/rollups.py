"""The roll-ups brought up to date for a test: refreshed until none of its devices is marked stale."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from psycopg import AsyncConnection, sql
from psycopg_pool import AsyncConnectionPool

from db import ingest
from db.pool import open_pool
from db.registry import import_document
from domain.registry import RegistryDocument
from worker import mileage, rollup
from worker.mileage import Basis
from yiwang.settings import Settings

# The zone the tests' settings count in (the default of the setting).
ZONE = ZoneInfo(Settings.model_fields["time_zone"].default)


async def settle(pool: AsyncConnectionPool[AsyncConnection], meters: list[str], zone: ZoneInfo = ZONE) -> None:
    """Refresh the consumption roll-up until none of these meters is marked stale."""
    await _settle(pool, lambda: rollup.refresh(pool, zone), "consumption_stale", "meter_id", meters)


async def read_daily(
    url: str, document: RegistryDocument, per_day: Mapping[str, float], *, first: date, days: int
) -> None:
    """Import the document, store a reading of each meter at each local midnight of `days` days from `first` (10, then
    `per_day` more each day) and bring the consumption roll-up up to date."""
    received = datetime.now(UTC)
    async with open_pool(url, max_size=2, configure=ingest.prepare_connection) as pool:
        async with pool.connection() as conn:
            await import_document(conn, document)
            await conn.commit()
        for meter_id, rise in per_day.items():
            rows = []
            for n in range(days):
                d = first + timedelta(days=n)
                rows.append((meter_id, datetime(d.year, d.month, d.day, tzinfo=ZONE), 10.0 + rise * n, received))
            async with pool.connection() as conn, conn.transaction():
                await ingest.insert_readings(conn, rows)
        await settle(pool, list(per_day))


async def settle_mileage(pool: AsyncConnectionPool[AsyncConnection], basis: Basis, vehicles: Sequence[str]) -> None:
    """Refresh the mileage roll-up until none of these vehicles is marked stale."""
    await _settle(pool, lambda: mileage.refresh(pool, basis), "mileage_stale", "vehicle_id", vehicles)


async def _settle(
    pool: AsyncConnectionPool[AsyncConnection],
    refresh: Callable[[], Awaitable[int]],
    marks: str,
    column: str,
    ids: Sequence[str],
) -> None:
    """Refresh until none of `ids` is marked in the table of marks (a worker's refresher, holding a device's
    mark meanwhile, may leave it marked for a moment)."""
    query = sql.SQL("SELECT count(*) FROM {} WHERE {} = ANY(%s)").format(sql.Identifier(marks), sql.Identifier(column))
    for _ in range(400):
        await refresh()
        async with pool.connection() as conn:
            row = await (await conn.execute(query, (list(ids),))).fetchone()
        if row is not None and row[0] == 0:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{marks}: the roll-up did not settle")
