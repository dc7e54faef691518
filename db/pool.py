"""The one async connection pool of a process, opened and closed in one `async with`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool


@asynccontextmanager
async def open_pool(
    url: str,
    *,
    min_size: int = 1,
    max_size: int = 8,
    wait: bool = True,
    name: str = "yiwang",
    check: bool = True,
    configure: Callable[[AsyncConnection], Awaitable[None]] | None = None,
    reconnect_timeout: float = float("inf"),
    connection: Mapping[str, object] | None = None,
) -> AsyncIterator[AsyncConnectionPool[AsyncConnection]]:
    """Open a pool, optionally waiting until its first connections work (start-up fails fast).

    Args:
        check: test each connection before lending it (a round trip); a caller that retries a
            failed write anyway does better without.
        configure: run on each new connection, e.g. to create its temporary tables.
        reconnect_timeout: how long a failed connection is retried in the background, with doubling delays, before
            the pool gives it up (a later request starts anew); by default for ever.
        connection: more libpq connection parameters (timeouts, keepalives) for each connection.
    """
    pool: AsyncConnectionPool[AsyncConnection] = AsyncConnectionPool(
        url,
        min_size=min_size,
        max_size=max_size,
        open=False,
        name=name,
        kwargs={"application_name": name, **(connection or {})},
        check=AsyncConnectionPool.check_connection if check else None,
        configure=configure,
        reconnect_timeout=reconnect_timeout,
    )
    await pool.open(wait=wait, timeout=30)
    try:
        yield pool
    finally:
        await pool.close()
