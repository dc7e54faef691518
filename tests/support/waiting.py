"""Waiting for a condition, never for a time: counts in the database, predicates."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence

import psycopg


def count(url: str, query: str, params: Sequence[object] = ()) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(query, params).fetchone()  # type: ignore[arg-type]
        assert row is not None
        return int(row[0])


async def wait_for_count(
    url: str, query: str, params: Sequence[object], expected: int, *, seconds: float = 30.0
) -> int:
    """Poll until the query counts `expected`, then make sure it stays there a moment (no extras)."""
    deadline = time.monotonic() + seconds
    value = -1
    while time.monotonic() < deadline:
        value = await asyncio.to_thread(count, url, query, params)
        if value >= expected:
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.3)
    return await asyncio.to_thread(count, url, query, params)


def wait_until(predicate: Callable[[], bool], seconds: float, what: str, *, every: float = 0.05) -> None:
    """Poll `predicate` from sync code until it holds; TimeoutError naming `what` if it does not in time."""
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {seconds:.0f} s")
        time.sleep(every)


async def eventually(predicate: Callable[[], bool], seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(0.05)
