"""db.ingest against the real database: counting refusals that several collectors record."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import psycopg

from db.ingest import count_dead_letters, insert_dead_letters
from yiwang.stack import Stack


async def test_a_count_is_added_once_where_two_collectors_each_made_the_minutes_row(stack: Stack, tag: str) -> None:
    """Two collectors of one shared group may each insert the `rate_limited` row of one device and minute; a later
    count must go to one of them, or the sum of `refused` (what an operator reads) would count it twice."""
    minute, device = datetime(2026, 3, 2, 8, 0, tzinfo=UTC), f"m-{tag}"
    payload = b'{"register": 1}'

    def row(refused: int) -> tuple[object, ...]:
        digest = hashlib.sha256(payload).digest()
        return (minute, f"t/meter/{device}/reading", payload, "rate_limited", "", device, len(payload), digest, refused)

    async with await psycopg.AsyncConnection.connect(stack.postgres.url, autocommit=True) as conn:
        await insert_dead_letters(conn, [row(3), row(4)])  # each collector's first row of the minute
        await count_dead_letters(conn, [row(5)])
        cur = await conn.execute("SELECT count(*), sum(refused) FROM dead_letter WHERE device_id = %s", [device])
        assert await cur.fetchone() == (2, 12)
