"""The sim clock: start plus accelerated wall time, never waiting for anyone."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from simulators.clock import SimClock


def test_sim_time_is_start_plus_accelerated_wall_time() -> None:
    wall = [100.0]
    clock = SimClock(datetime(2025, 3, 10, tzinfo=UTC), 60.0, wall=lambda: wall[0])
    assert clock.now() == datetime(2025, 3, 10, tzinfo=UTC).timestamp()
    wall[0] += 2.5
    assert clock.now() == datetime(2025, 3, 10, 0, 2, 30, tzinfo=UTC).timestamp()


async def test_sleeping_until_a_sim_time_takes_the_accelerated_wall_time() -> None:
    clock = SimClock(datetime(2025, 3, 10, tzinfo=UTC), 3600.0)
    began = time.monotonic()
    await clock.sleep_until(clock.start + 720)  # 12 sim minutes: 0.2 s
    assert 0.15 < time.monotonic() - began < 1.0
    began = time.monotonic()
    await clock.sleep_until(clock.start)  # already past: at once
    assert time.monotonic() - began < 0.05


def test_a_clock_needs_a_zone_and_a_positive_pace() -> None:
    with pytest.raises(ValueError, match="timezone"):
        SimClock(datetime(2025, 3, 10), 1.0)
    with pytest.raises(ValueError, match="positive"):
        SimClock(datetime(2025, 3, 10, tzinfo=UTC), 0.0)
