"""What a read replica (a streaming standby) and its primary say of their WAL: where the primary's ends and how far
the replica has replayed it (domain/replica.py judges it). Every function here may be called by any role."""

from __future__ import annotations

from datetime import datetime

from psycopg import AsyncConnection

from domain.replica import Replay


async def wal_end(primary: AsyncConnection) -> tuple[str, datetime]:
    """Where the primary's WAL ends now, and the primary's clock then: everything committed by that moment lies
    before it."""
    cur = await primary.execute("SELECT pg_current_wal_lsn()::text, clock_timestamp()")
    row = await cur.fetchone()
    assert row is not None
    return str(row[0]), row[1]


async def replay(replica: AsyncConnection, primary_wal_end: tuple[str, datetime]) -> Replay:
    """How far the replica has replayed, against the primary's `wal_end` read before. Times are the primary's clock
    (a replayed commit's timestamp is the primary's), so a skewed replica clock says nothing wrong."""
    lsn, at = primary_wal_end
    cur = await replica.execute(
        """SELECT pg_is_in_recovery(),
                  coalesce(pg_last_wal_replay_lsn() >= %s::pg_lsn, false),
                  pg_last_xact_replay_timestamp()""",
        (lsn,),
    )
    row = await cur.fetchone()
    assert row is not None
    recovering, caught_up, replayed_at = row
    return Replay(recovering=recovering, caught_up=caught_up, replayed_at=replayed_at, checked_at=at)
