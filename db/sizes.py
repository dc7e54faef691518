"""How much room the data takes: what the metrics report of the database."""

from __future__ import annotations

from psycopg import AsyncConnection


async def database_bytes(conn: AsyncConnection) -> int:
    """The current database's size on disk, tables, indexes and TOAST of every chunk included."""
    cur = await conn.execute("SELECT pg_database_size(current_database())")
    row = await cur.fetchone()
    assert row is not None
    return int(row[0])
