"""Simulated time: a start instant and an acceleration over the wall clock."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import datetime


class SimClock:
    """Sim time = start + wall time elapsed since creation x acceleration.

    The clock never waits for anyone: when the broker is away and publishing falls behind, the ticks
    that were due are produced as soon as possible afterwards, each with its own sim time.

    With an acceleration above 1 the clock runs ahead of the wall. The collector refuses times more
    than `max_future_seconds` ahead of its own clock, so start accelerated runs far enough in the past.
    """

    def __init__(
        self, start: datetime, acceleration: float = 1.0, *, wall: Callable[[], float] = time.monotonic
    ) -> None:
        if start.tzinfo is None:
            raise ValueError("the sim clock starts at a timezone-aware instant")
        if acceleration <= 0:
            raise ValueError(f"acceleration must be positive, got {acceleration}")
        self.start = start.timestamp()
        self.acceleration = acceleration
        self._wall = wall
        self._wall0 = wall()

    def now(self) -> float:
        """Sim time, epoch seconds."""
        return self.start + (self._wall() - self._wall0) * self.acceleration

    async def sleep_until(self, t: float) -> None:
        """Wait until sim time reaches `t` (at once if it has)."""
        delay = (t - self.now()) / self.acceleration
        if delay > 0:
            await asyncio.sleep(delay)
