"""SQL of retention: raw hypertables' old chunks dropped (or the full edition's policy set) through the owner's
`apply_retention` (migration 0039), compressed on the full edition through `apply_compression` (0043), and audit
rows moved to audit_log_archive. worker/retention.py takes the turns."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import cast

from psycopg import AsyncConnection

# The raw hypertables retention applies to; what is made from them (roll-ups, packed hours) is kept for good.
RAW = ("position", "reading")


async def edition(conn: AsyncConnection) -> str:
    """TimescaleDB's license: `apache` (no policies; the worker drops chunks) or `timescale` (the full edition)."""
    cur = await conn.execute("SELECT current_setting('timescaledb.license', true)")
    row = await cur.fetchone()
    return str(row[0]) if row is not None and row[0] else "apache"


async def apply(conn: AsyncConnection, table: str, keep: timedelta | None) -> int:
    """Keep `table`'s raw rows for `keep` (None: for good); returns the chunks dropped now (0 on the full edition,
    whose own job drops them)."""
    if table not in RAW:
        raise ValueError(f"retention applies to {', '.join(RAW)}, not {table}")
    cur = await conn.execute("SELECT apply_retention(%s::regclass, %s::interval)", (table, keep))
    row = await cur.fetchone()
    return int(row[0]) if row is not None and row[0] is not None else 0


async def compress(conn: AsyncConnection, table: str, after: timedelta | None) -> str:
    """Compress `table`'s chunks older than `after` (None: no more); returns 'on', 'off', or 'unavailable' on the
    Apache edition, which has no compression (nothing is changed there)."""
    if table not in RAW:
        raise ValueError(f"compression applies to {', '.join(RAW)}, not {table}")
    cur = await conn.execute("SELECT apply_compression(%s::regclass, %s::interval)", (table, after))
    row = await cur.fetchone()
    return str(row[0]) if row is not None else "unavailable"


async def kept_from(conn: AsyncConnection, table: str) -> datetime | None:
    """From when the raw table holds every row it was sent (older rows may have been dropped); None: nothing was
    ever dropped."""
    cur = await conn.execute("SELECT kept_from FROM raw_horizon WHERE hypertable = %s", (table,))
    row = await cur.fetchone()
    return None if row is None else cast("datetime", row[0])


async def archive_audit(conn: AsyncConnection, before: datetime, limit: int) -> int:
    """In the caller's transaction: move up to `limit` audit rows older than `before` (the oldest first) to
    audit_log_archive; returns how many. The log's trigger lets a row go only once it is in the archive."""
    cur = await conn.execute(
        "SELECT max(id) FROM (SELECT id FROM audit_log WHERE at < %s ORDER BY id LIMIT %s) oldest", (before, limit)
    )
    row = await cur.fetchone()
    upto = row[0] if row is not None else None
    if upto is None:
        return 0
    await conn.execute(
        "INSERT INTO audit_log_archive SELECT * FROM audit_log WHERE at < %s AND id <= %s", (before, upto)
    )
    cur = await conn.execute("DELETE FROM audit_log WHERE at < %s AND id <= %s", (before, upto))
    return cur.rowcount
