"""A reading: the cumulative register of one meter at one time, the one type the collector stores, the counters
count and the simulators send."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple


class Reading(NamedTuple):
    """One reading of a meter's register, in the meter's unit, with when it was read and when it was received (a
    simulated meter: when it sent it). A row of the `reading` table, in this order."""

    meter_id: str
    time: datetime  # when the register was read, timezone-aware
    register: float  # cumulative, in the meter's unit (its multiplier not applied)
    received_at: datetime
