"""The login counters' SQL: pruning forgets idle counters but not a pair's recent login."""

from __future__ import annotations

import uuid
from datetime import timedelta

import psycopg

from db.access import prune_login_counters
from yiwang.stack import Stack


async def test_idle_counters_are_pruned_but_a_pair_that_logged_in_lately_is_kept(stack: Stack) -> None:
    tag = uuid.uuid4().hex[:8]
    rows = {  # name: (at, succeeded_at), as ages
        f"idle-{tag}": ("2 days", None),
        f"known-{tag}": ("2 days", "10 days"),
        f"forgotten-{tag}": ("2 days", "100 days"),
        f"busy-{tag}": ("1 minute", None),
    }
    async with await psycopg.AsyncConnection.connect(stack.postgres.url, autocommit=True) as conn:
        for name, (age, succeeded) in rows.items():
            await conn.execute(
                """INSERT INTO login_counter (kind, name, address, level, at, succeeded_at)
                   VALUES ('pair', %s, '10.0.0.1', 1, now() - %s::interval, now() - %s::interval)""",
                (name, age, succeeded),
            )
        await prune_login_counters(conn, idle=timedelta(days=1), known_for=timedelta(days=90))
        cur = await conn.execute("SELECT name FROM login_counter WHERE name LIKE %s ORDER BY name", (f"%-{tag}",))
        assert [row[0] for row in await cur.fetchall()] == [f"busy-{tag}", f"known-{tag}"]
