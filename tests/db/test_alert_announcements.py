"""Alerts stored are announced on commit, however many one batch raises: a NOTIFY payload must stay under
PostgreSQL's 8,000 bytes, and a batch of 1,000 fixes can raise more than 1,000 alerts (a fleet entering its
after-hours zones at once), whose ids alone are longer than that."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta

import orjson
import psycopg

from db.alerts import ALERT_CHANNEL, store
from db.live import listen
from domain.supervision import Alert
from tests.support.waiting import eventually
from yiwang.stack import Stack

BURST = 2000  # ids of 4 to 7 digits: 12,000 bytes or more as one JSON list


async def test_a_batch_of_thousands_of_alerts_is_stored_and_every_id_announced(stack: Stack) -> None:
    url = stack.postgres.url
    at = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    alerts = [
        Alert(f"burst-{i}", "area_entry", "red", at + timedelta(seconds=i), at, 29.3, 117.2, 40.0, "burst")
        for i in range(BURST)
    ]
    announced: list[int] = []
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as listener:
        await listen(listener, ALERT_CHANNEL)

        async def follow() -> None:
            async for note in listener.notifies():
                announced.extend(orjson.loads(note.payload))

        following = asyncio.create_task(follow())
        try:
            async with await psycopg.AsyncConnection.connect(url) as conn:
                ids = await store(conn, alerts, {a.vehicle_id: "burst" for a in alerts})
                await conn.commit()
            assert len(ids) == BURST

            await eventually(lambda: set(ids) <= set(announced), 15)
            assert sorted(announced) == sorted(ids)  # each once
        finally:
            following.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await following
            async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
                await conn.execute("DELETE FROM alert WHERE vehicle_id LIKE 'burst-%'")
