"""Readings of one meter for the pure counter tests: hours after a local midnight, registers as the meter shows them.
(The held-out tests in tests/domain/test_counters.py keep their own copy on purpose.)"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from domain.reading import Reading

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 1, 1, tzinfo=SHANGHAI)


def reading(time: datetime, register: float) -> Reading:
    return Reading("m1", time, register, time)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)
