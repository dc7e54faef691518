"""The roll-ups brought up to date for a test: refreshed until none of its devices is marked stale."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from api.energy import rollup
from api.fleet import mileage
from api.fleet.mileage import Basis


async def settle(pool: AsyncConnectionPool[AsyncConnection], meters: list[str]) -> None:
    """Refresh the consumption roll-up until none of these meters is marked stale (the API's own
    refresher may hold the lock meanwhile)."""
    for _ in range(400):
        await rollup.refresh(pool, ZoneInfo("Asia/Shanghai"))
        async with pool.connection() as conn:
            cur = await conn.execute("SELECT count(*) FROM consumption_stale WHERE meter_id = ANY(%s)", (meters,))
            row = await cur.fetchone()
        if row is not None and row[0] == 0:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the consumption roll-up did not settle")


async def settle_mileage(pool: AsyncConnectionPool[AsyncConnection], basis: Basis, vehicles: Sequence[str]) -> None:
    """Refresh until none of these vehicles is marked stale (another refresher may hold one meanwhile)."""
    for _ in range(400):
        await mileage.refresh(pool, basis)
        async with pool.connection() as conn:
            cur = await conn.execute("SELECT count(*) FROM mileage_stale WHERE vehicle_id = ANY(%s)", (list(vehicles),))
            row = await cur.fetchone()
        if row is not None and row[0] == 0:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the mileage roll-up did not settle")
