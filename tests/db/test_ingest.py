"""db.ingest against the real database: counting refusals that several collectors record, and each meter's first and
last reading kept beside the readings."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import psycopg

from db import ingest
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


async def test_a_meters_span_takes_late_and_resent_readings_and_only_widens(stack: Stack, tag: str) -> None:
    """Coverage and data quality read a meter's first and last reading ever from `reading_span`: it must hold what
    `reading` holds, whatever order the batches come in (a blind zone's late batch, a redelivery)."""
    meters = [f"m-{tag}-a", f"m-{tag}-b"]
    at = datetime(2026, 3, 2, tzinfo=UTC)
    received = datetime.now(UTC)

    def rows(meter: str, *hours: int) -> list[tuple[object, ...]]:
        return [(meter, at + timedelta(hours=h), float(h), received) for h in hours]

    async def spans(conn: psycopg.AsyncConnection) -> dict[str, tuple[datetime, datetime]]:
        cur = await conn.execute(
            "SELECT meter_id, earliest, latest FROM reading_span WHERE meter_id = ANY(%s)", [meters]
        )
        return {meter: (earliest, latest) for meter, earliest, latest in await cur.fetchall()}

    async with await psycopg.AsyncConnection.connect(stack.postgres.url) as conn:
        await ingest.prepare_connection(conn)
        batches = [
            rows(meters[0], 10, 11) + rows(meters[1], 5),
            rows(meters[0], 2, 3),  # late: before the first
            rows(meters[0], 11, 12),  # partly redelivered: the fallback path
            rows(meters[1], 5),  # wholly redelivered: nothing new stored
        ]
        for batch in batches:
            async with conn.transaction():
                await ingest.insert_readings(conn, batch)
        expected = {
            meters[0]: (at + timedelta(hours=2), at + timedelta(hours=12)),
            meters[1]: (at + timedelta(hours=5),) * 2,
        }
        assert await spans(conn) == expected
        cur = await conn.execute(
            "SELECT meter_id, min(time), max(time) FROM reading WHERE meter_id = ANY(%s) GROUP BY 1", [meters]
        )
        assert {meter: (first, last) for meter, first, last in await cur.fetchall()} == expected
