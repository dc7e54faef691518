"""Packing each vehicle's hours of fixes that are over, so that a track reads a day as 24 rows (db/tracks.py says
how a packed hour is kept and read, and how two packers share the vehicles: SKIP LOCKED on track_packed)."""

from __future__ import annotations

from datetime import timedelta

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from db import tracks
from worker.metrics import Metrics
from worker.turns import periodically

JOB = "packing"  # the job's name in the worker's metrics and health


async def maintain(
    pool: AsyncConnectionPool[AsyncConnection], settle: timedelta, every: float, *, metrics: Metrics | None = None
) -> None:
    """Pack every `every` seconds until cancelled; a failure is logged and retried at the next turn."""
    await periodically(lambda: tracks.pack(pool, settle), every, JOB, metrics=metrics)
