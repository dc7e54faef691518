"""A streaming standby of the session's cluster in tests: waiting until it has replayed what the primary committed,
and pausing its replay, each on a condition, never a sleep."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import psycopg

from tests.support.waiting import wait_until
from yiwang.standby import Standby


def _primary_wal_end(standby: Standby) -> str:
    with psycopg.connect(standby.primary.url, autocommit=True) as primary:
        row = primary.execute("SELECT pg_current_wal_lsn()::text").fetchone()
    assert row is not None
    return str(row[0])


def _caught_up(standby: Standby) -> None:
    wal_end = _primary_wal_end(standby)
    with psycopg.connect(standby.admin_url, autocommit=True) as replica:

        def replayed() -> bool:
            row = replica.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (wal_end,)).fetchone()
            return row is not None and row[0] is True

        wait_until(replayed, 60, f"the standby replays the primary's WAL up to {wal_end}")


async def caught_up(standby: Standby) -> None:
    """Return once the standby has replayed everything the primary had committed when called."""
    await asyncio.to_thread(_caught_up, standby)


def _set_replay(standby: Standby, paused: bool) -> None:
    with psycopg.connect(standby.admin_url, autocommit=True) as replica:
        replica.execute("SELECT pg_wal_replay_pause()" if paused else "SELECT pg_wal_replay_resume()")
        wanted = "paused" if paused else "not paused"

        def reached() -> bool:
            row = replica.execute("SELECT pg_get_wal_replay_pause_state()").fetchone()
            return row is not None and row[0] == wanted

        wait_until(reached, 30, f"the standby's replay is {wanted}")


async def pause_replay(standby: Standby) -> None:
    """Stop the standby's replay (it keeps receiving WAL): from now on it holds what it had replayed."""
    await asyncio.to_thread(_set_replay, standby, True)


async def resume_replay(standby: Standby) -> None:
    await asyncio.to_thread(_set_replay, standby, False)


def sessions_named(standby: Standby, application_name: str) -> int:
    """How many sessions of that application the standby serves now."""
    with psycopg.connect(standby.admin_url, autocommit=True) as replica:
        row = replica.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (application_name,)
        ).fetchone()
    assert row is not None
    return int(row[0])


async def until(check: Callable[[], Awaitable[bool]], seconds: float, what: str) -> None:
    """Await `check` (a request, say) again and again until it holds; TimeoutError naming `what` if not in time."""
    deadline = time.monotonic() + seconds
    while not await check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {seconds:.0f} s")
        await asyncio.sleep(0.05)
