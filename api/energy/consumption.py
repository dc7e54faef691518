"""Consumption from cumulative meter registers, per local-time bucket, exactly.

The rules are the bureau's (shared/domain.md), applied to one meter's readings in time order:
- a register that rises counts its rise;
- a register near its maximum that comes back small has rolled over: it counts the way round;
- a small dip (under 10%) is jitter: it counts nothing, and the earlier, higher value stays the
  baseline so that nothing is counted twice when the register recovers;
- any other drop is a reset or a replaced meter: consumption restarts from the new value (as Home
  Assistant treats a `total_increasing` sensor).
A delta between two readings is shared between the hours it spans in proportion to time. Hours are the
atoms: days, months and years are sums of whole local hours, so they add up exactly; amounts are
Fractions, exact from the float registers on, and become decimals only where they leave for a person.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from fractions import Fraction
from typing import Literal, NamedTuple
from zoneinfo import ZoneInfo

# A dip smaller than this share of the baseline is jitter, not a reset.
JITTER = Fraction(1, 10)
# A rollover: the baseline in the top tenth of the register's range, the new value in the bottom tenth.
ROLLOVER_BAND = Fraction(1, 10)
_HOUR = timedelta(hours=1)

Period = Literal["hour", "day", "month", "year"]


class Reading(NamedTuple):
    time: datetime  # timezone-aware
    register: float


@dataclass(frozen=True, slots=True)
class Meter:
    """What the registry says about a meter that the arithmetic needs."""

    multiplier: float = 1.0  # CT/PT ratio: register units to consumption units
    register_max: float | None = None  # where the register rolls over, if known


class Change(StrEnum):
    RISE = "rise"
    ROLLOVER = "rollover"
    JITTER = "jitter"
    RESET = "reset"


class Delta(NamedTuple):
    """Consumption between two readings, in the meter's consumption unit (multiplier applied)."""

    start: datetime
    end: datetime
    amount: Fraction
    change: Change


def deltas(readings: Iterable[Reading], meter: Meter = Meter()) -> list[Delta]:
    """The consumption between each reading and the next, in time order (arrival order does not matter)."""
    ordered = sorted(readings, key=lambda r: r.time)
    multiplier = Fraction(meter.multiplier)
    top = Fraction(meter.register_max) if meter.register_max is not None else None
    out: list[Delta] = []
    if not ordered:
        return out
    baseline = Fraction(ordered[0].register)
    previous_time = ordered[0].time
    for reading in ordered[1:]:
        value = Fraction(reading.register)
        if value >= baseline:
            amount, change, baseline = value - baseline, Change.RISE, value
        elif top is not None and baseline >= top * (1 - ROLLOVER_BAND) and value <= top * ROLLOVER_BAND:
            amount, change, baseline = top - baseline + value, Change.ROLLOVER, value
        elif baseline - value < baseline * JITTER:
            amount, change = Fraction(0), Change.JITTER  # the baseline stays where it was
        else:
            amount, change, baseline = value, Change.RESET, value
        out.append(Delta(previous_time, reading.time, amount * multiplier, change))
        previous_time = reading.time
    return out


def hourly(items: Iterable[Delta], zone: ZoneInfo) -> dict[datetime, Fraction]:
    """Each delta shared between the local hours it spans, in proportion to time.

    Keys are the local start of each hour (aware, in `zone`); an hour no delta touches is absent.
    """
    out: dict[datetime, Fraction] = defaultdict(Fraction)
    for delta in items:
        span = _micros(delta.end - delta.start)
        if span == 0 or delta.amount == 0:
            continue
        cursor = delta.start.astimezone(UTC)
        end = delta.end.astimezone(UTC)
        while cursor < end:
            hour = _hour_start(cursor, zone)
            upto = min(end, hour.astimezone(UTC) + _HOUR)
            out[hour] += delta.amount * Fraction(_micros(upto - cursor), span)
            cursor = upto
    return dict(out)


def rollup(hours: Mapping[datetime, Fraction], period: Period) -> dict[datetime, Fraction]:
    """Sum local hours into local days, months or years (keys: the local start of each)."""
    out: dict[datetime, Fraction] = defaultdict(Fraction)
    for hour, amount in hours.items():
        out[period_start(hour, period)] += amount
    return dict(out)


def period_start(moment: datetime, period: Period) -> datetime:
    """The local start of the hour, day, month or year holding a local moment."""
    if period == "hour":
        return moment.replace(minute=0, second=0, microsecond=0)
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "day":
        return day
    if period == "month":
        return day.replace(day=1)
    return day.replace(month=1, day=1)


def _hour_start(utc: datetime, zone: ZoneInfo) -> datetime:
    # Through UTC and back: an hour that a daylight-saving change repeats keeps its own offset.
    local = utc.astimezone(zone)
    return local.replace(minute=0, second=0, microsecond=0)


def _micros(span: timedelta) -> int:
    return (span.days * 86_400 + span.seconds) * 1_000_000 + span.microseconds
