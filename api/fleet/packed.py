"""Packing each vehicle's hours of fixes that are over, so that a track reads a day as 24 rows (db/tracks.py says
how a packed hour is kept and read)."""

from __future__ import annotations

from datetime import timedelta

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from api.background import periodically
from db import tracks


async def maintain(pool: AsyncConnectionPool[AsyncConnection], settle: timedelta, every: float) -> None:
    """Pack every `every` seconds until cancelled; a failure is logged and retried at the next turn."""
    await periodically(lambda: tracks.pack(pool, settle), every, "track hours packed")
