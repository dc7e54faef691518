"""Consumption from cumulative meter registers, per local-time hour and day, exactly.

The rules are the bureau's (shared/domain.md), applied to one meter's readings in time order:
- a register that rises counts its rise;
- a register near its maximum that comes back small has rolled over: it counts the way round;
- a small dip (under 10%) is jitter: it counts nothing, and the earlier, higher value stays the
  baseline so that nothing is counted twice when the register recovers;
- any other drop is a reset or a replaced meter: consumption restarts from the new value (as Home
  Assistant treats a `total_increasing` sensor), once the next reading confirms it by continuing from the
  new value. A drop that the next reading does not confirm (it comes back to the old baseline: no lower
  than the jitter band below it, and above it by less than the drop was deep) is a glitch, a transient
  zero or a misread: it counts nothing and the old baseline stays, so 14,000 -> 0 -> 14,002 counts 2.
  A drop at the end of the data, which no reading follows yet, counts as a reset for now; the next
  reading decides it (the roll-up recounts the drop's day when that reading arrives);
- a delta faster than the meter's plausible maximum rate (`max_rate`, per hour) is implausible: it is
  flagged and excluded from consumption, never silently, and the new value becomes the baseline;
- a delta over a gap longer than `max_gap` (a month unless told) is not shared between the days it spans: it is held
  as a `gap`, unapportioned, for staff to decide (one bad clock would otherwise spread a meter's delta
  over decades), and the count goes on from its end;
- a replacement that staff recorded (the moment of the swap, the old meter's final register and the new meter's
  first) ends the old meter's count at its final, measured from its baseline by the rules above (a final under the
  baseline counts nothing, never a reset), and starts the new meter's from its first: nothing is guessed across
  the swap, and nothing is lost or invented. A reading stored at the swap's very moment is not counted: the
  recorded registers are that moment's. The swap itself is a `replacement` delta of no time and no amount;
- the multiplier (a CT/PT ratio) has a history, each value in force from a moment on (before the first, the
  meter's own). A delta counts at the multiplier in force at its start: a CT changed at a visit where a reading
  is taken changes exactly there (the delta up to that reading at the old ratio, the next at the new one). A
  change inside a delta (no reading at it) shares the delta's register rise between the multipliers in proportion
  to time, rounded once.

Amounts are integers of a millionth of the unit (registers are resolved to that), so that the
arithmetic is exact and fast. A delta is shared between the local hours it spans in proportion to
time, by cumulative rounding: the shares of a delta sum to the delta exactly, hours to days, days to
months and years. This module is the definition; the roll-up tables in the database are built with it.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from typing import NamedTuple, Protocol
from zoneinfo import ZoneInfo

from domain.periods import Step

SCALE = 1_000_000  # amounts are in millionths of the meter's unit
# A dip smaller than this share of the baseline is jitter, not a reset.
JITTER = Fraction(1, 10)
# A rollover: the baseline in the top tenth of the register's range, the new value in the bottom tenth.
ROLLOVER_BAND = Fraction(1, 10)
# Readings further apart than this: the delta between them is held as a gap, not shared out (the energy_max_gap_days
# setting's default). A month: collectors buffer about 30 days, so a longer gap is data lost, or a wrong clock.
MAX_GAP = timedelta(days=31)
_HOUR_US = 3_600_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)


class Registered(Protocol):
    """What the arithmetic reads of a reading (domain/reading.py's Reading, or a row of its time and register)."""

    @property
    def time(self) -> datetime: ...  # timezone-aware

    @property
    def register(self) -> float: ...


@dataclass(frozen=True, slots=True)
class Meter:
    """What the registry says about a meter that the arithmetic needs."""

    multiplier: float = 1.0  # CT/PT ratio: register units to consumption units
    register_max: float | None = None  # where the register rolls over, if known
    max_rate: float | None = None  # the most it can plausibly consume in an hour (consumption units)


class Change(StrEnum):
    RISE = "rise"
    ROLLOVER = "rollover"
    JITTER = "jitter"
    RESET = "reset"
    GLITCH = "glitch"  # a drop the next reading did not confirm: skipped, the old baseline stays
    IMPLAUSIBLE = "implausible"
    GAP = "gap"  # a delta over a gap longer than max_gap: held unapportioned, counted in no day
    REPLACEMENT = "replacement"  # a recorded swap: no time, no amount; from the old meter's final to the new's first


# What a delta adds to no day: implausible ones are excluded (days' `excluded`), gaps held apart for staff.
UNCOUNTED = frozenset({Change.IMPLAUSIBLE, Change.GAP})
# Changes after which the baseline stays where it was, not at the delta's end register.
KEEPS_BASELINE = frozenset({Change.JITTER, Change.GLITCH})


class Delta(NamedTuple):
    """Consumption between two readings, in millionths of the consumption unit (multiplier applied).

    An implausible delta carries the amount it would have counted; it is excluded from consumption. A gap
    carries the amount it holds for staff to decide; it is counted in no day.
    """

    start: datetime
    end: datetime
    amount: int
    change: Change
    before: int  # the baseline it was measured from, millionths of the register unit
    after: int  # the register at its end


class Replacement(NamedTuple):
    """A meter swapped for a new one, as staff recorded it: the moment, the old meter's final register and the new
    meter's first (register units)."""

    time: datetime
    old_final: float
    new_first: float


class Multiplier(NamedTuple):
    """A multiplier (CT/PT ratio) in force from a moment on, until the next one of the meter's history."""

    since: datetime
    multiplier: float


class State(NamedTuple):
    """Where the arithmetic stands after a reading: its time and the baseline for the next one."""

    time: datetime
    baseline: int


def micro(register: float) -> int:
    """A register value in millionths of its unit (what the arithmetic resolves)."""
    return round(register * SCALE)


def decimal(amount: int) -> Decimal:
    """Millionths as an exact decimal of the unit."""
    return Decimal(amount).scaleb(-6)


def deltas(
    readings: Iterable[Registered],
    meter: Meter = Meter(),
    state: State | None = None,
    *,
    max_gap: timedelta | None = MAX_GAP,
    spread: Collection[tuple[datetime, datetime]] = (),
    replacements: Iterable[Replacement] = (),
    multipliers: Iterable[Multiplier] = (),
) -> list[Delta]:
    """The consumption between each reading and the next, in time order (arrival order does not matter).

    Args:
        readings: the meter's readings; with `state`, those after state.time (earlier ones are ignored).
        meter: the registry's facts about the meter.
        state: where an earlier run stopped, to continue from it.
        max_gap: a delta over a longer gap is held as a `gap`; None: every delta is shared out.
        spread: the gaps (their start and end) that staff decided to share out as the rules would.
        replacements: the meter's recorded swaps (those after the first reading, or after state.time, count).
        multipliers: the meter's multiplier history; before the first of it, meter.multiplier.
    """
    ordered = sorted(readings, key=lambda r: r.time)
    if state is not None:
        ordered = [r for r in ordered if r.time > state.time]
    elif ordered:
        state = State(ordered[0].time, micro(ordered[0].register))
        ordered = ordered[1:]
    if state is None:
        return []
    swaps = sorted((s for s in replacements if s.time > state.time), key=lambda s: s.time)
    if swaps:
        moments = {s.time for s in swaps}
        ordered = [r for r in ordered if r.time not in moments]  # the swap's registers are that moment's
    scale = _Scale(meter.multiplier, sorted(multipliers))
    return list(_walk(_steps(ordered, swaps), meter, state, scale, max_gap=max_gap, spread=spread))


class _Step(NamedTuple):
    """A reading, or a swap (the old meter's final register at its moment, then the new one's first)."""

    time: datetime
    value: int
    swap: Replacement | None = None


def _steps(ordered: Sequence[Registered], swaps: Sequence[Replacement]) -> list[_Step]:
    steps = [_Step(r.time, micro(r.register)) for r in ordered]
    if not swaps:
        return steps
    steps += [_Step(s.time, micro(s.old_final), s) for s in swaps]
    return sorted(steps, key=lambda step: step.time)


class _Scale:
    """Register units to consumption units for a delta: the multiplier in force at its start, and where the history
    changes the multiplier inside the delta (no reading at the change), each part of it in proportion to time at its
    own multiplier."""

    def __init__(self, first: float, history: Sequence[Multiplier]) -> None:
        self._since = [change.since for change in history]
        self._values = [Fraction(repr(first))] + [Fraction(repr(change.multiplier)) for change in history]
        only = self._values[0] if not history else None
        self._whole = only.numerator if only is not None and only.denominator == 1 else None

    def amount(self, raw: int, start: datetime, end: datetime) -> int:
        if self._whole is not None:
            return raw * self._whole
        index = bisect_right(self._since, start)  # changes at or before the start: the last one is in force
        inside = bisect_right(self._since, end - _US, lo=index) if end > start else index
        if inside == index:
            value = self._values[index]
            return raw * value.numerator if value.denominator == 1 else round(raw * value)
        weighted, cursor = Fraction(0), start
        for position in range(index, inside):
            weighted += self._values[position] * _micros(self._since[position] - cursor)
            cursor = self._since[position]
        weighted += self._values[inside] * _micros(end - cursor)
        return round(raw * weighted / _micros(end - start))


def _walk(
    steps: Sequence[_Step],
    meter: Meter,
    state: State,
    scale: _Scale,
    *,
    max_gap: timedelta | None,
    spread: Collection[tuple[datetime, datetime]],
) -> Iterator[Delta]:
    top = micro(meter.register_max) if meter.register_max is not None else None
    # amount * hour > max_rate * span, in integers
    max_rate = micro(meter.max_rate) if meter.max_rate is not None else None
    baseline, previous = state.baseline, state.time
    for index, step in enumerate(steps):
        value = step.value
        if value >= baseline:
            raw, change, next_baseline = value - baseline, Change.RISE, value
        elif top is not None and baseline * 10 >= top * 9 and value * 10 <= top:
            raw, change, next_baseline = top - baseline + value, Change.ROLLOVER, value
        elif (baseline - value) * 10 < baseline:
            raw, change, next_baseline = 0, Change.JITTER, baseline  # the baseline stays where it was
        elif step.swap is not None or (index + 1 < len(steps) and _returns(steps[index + 1].value, baseline, value)):
            # The next reading came back (or the old meter's recorded final is below its baseline): not a reset.
            raw, change, next_baseline = 0, Change.GLITCH, baseline
        else:
            # Confirmed by the next reading, or none yet: a reset until a later reading says otherwise.
            raw, change, next_baseline = value, Change.RESET, value
        amount = scale.amount(raw, previous, step.time)
        span = step.time - previous
        # Only an amount is held: a gap that adds nothing (flat, jitter, a glitch) has nothing for staff to decide.
        if max_gap is not None and span > max_gap and amount > 0 and (previous, step.time) not in spread:
            change = Change.GAP
        elif max_rate is not None and amount * _HOUR_US > max_rate * _micros(span):
            change = Change.IMPLAUSIBLE
        yield Delta(previous, step.time, amount, change, baseline, value)
        baseline, previous = next_baseline, step.time
        if step.swap is not None:
            # The old meter's count ends at its final register; the new meter's starts from its first.
            first = micro(step.swap.new_first)
            yield Delta(step.time, step.time, 0, Change.REPLACEMENT, value, first)
            baseline = first


def _returns(after: int, baseline: int, low: int) -> bool:
    """Whether the reading after a drop to `low` came back to the old baseline: no lower than the jitter band
    below it, and above it by less than the drop was deep (a reading far above both is no return: it is a
    reset followed by a rise, which max_rate may find implausible)."""
    return (baseline - after) * 10 < baseline and after - baseline < baseline - low


def counted(delta: Delta) -> int:
    """What a delta adds to consumption: nothing when it is implausible or a gap held for staff."""
    return 0 if delta.change in UNCOUNTED else delta.amount


@dataclass(slots=True)
class Day:
    """One local day of one meter: its hours from local midnight (23 to 25 of them), what they sum to,
    what implausible deltas would have added, and the readings made in it."""

    day: date
    hours: list[int]
    excluded: int = 0
    readings: int = 0
    start: State | None = None  # the last reading before the day's midnight: a recompute of the day starts there

    @property
    def amount(self) -> int:
        return sum(self.hours)


@dataclass(slots=True)
class _Calendar:
    """Local midnights of one zone, cached: a meter's readings fall on few days in a row."""

    zone: ZoneInfo
    _days: dict[date, tuple[int, int]] = field(default_factory=dict)

    def bounds(self, day: date) -> tuple[int, int]:
        """The day's local midnight and the next, in epoch microseconds."""
        found = self._days.get(day)
        if found is None:
            start = datetime(day.year, day.month, day.day, tzinfo=self.zone)
            after = day + timedelta(days=1)
            end = datetime(after.year, after.month, after.day, tzinfo=self.zone)
            found = self._days[day] = (_epoch_us(start), _epoch_us(end))
        return found

    def day_of(self, moment_us: int) -> date:
        return (_EPOCH + timedelta(microseconds=moment_us)).astimezone(self.zone).date()


def days(
    readings: Sequence[Registered],
    meter: Meter,
    zone: ZoneInfo,
    state: State | None = None,
    *,
    max_gap: timedelta | None = MAX_GAP,
    spread: Collection[tuple[datetime, datetime]] = (),
    replacements: Collection[Replacement] = (),
    multipliers: Iterable[Multiplier] = (),
) -> tuple[list[Day], list[Delta]]:
    """A meter's local days from its readings: every day from the first delta's to the last reading's, that
    reading's own day only when it is not at midnight (a day is counted between readings that bracket it), but
    for the days inside a held gap (no reading, nothing counted: none of them is made up).

    Args:
        readings: in any order; with `state`, only those after state.time count.
        meter: the registry's facts about the meter.
        zone: the zone whose calendar days and hours the consumption is counted in.
        state: where an earlier run stopped (a recompute from the middle of the history).
        max_gap: a delta over a longer gap is held as a `gap`, in no day; None: every delta is shared out.
        spread: the gaps (their start and end) that staff decided to share out as the rules would.
        replacements: the meter's recorded swaps; a swap's moment is no reading of its day.
        multipliers: the meter's multiplier history; before the first of it, meter.multiplier.

    Returns:
        The days, in order, and the deltas that were not plain rises (rollovers, jitter, glitches, resets,
        implausible ones, gaps and replacements: what the data-quality view lists).
    """
    found = deltas(
        readings, meter, state, max_gap=max_gap, spread=spread, replacements=replacements, multipliers=multipliers
    )
    swapped = {_epoch_us(s.time) for s in replacements}
    calendar = _Calendar(zone)
    out: dict[date, Day] = {}

    def day(d: date) -> Day:
        got = out.get(d)
        if got is None:
            start, end = calendar.bounds(d)
            got = out[d] = Day(d, [0] * -(-(end - start) // _HOUR_US))
        return got

    if not found:
        return [], []
    d = calendar.day_of(_epoch_us(found[0].start))
    midnight, next_midnight = calendar.bounds(d)
    day(d).readings += state is None  # the first reading of a fresh start is one of its day's
    last = _epoch_us(found[-1].end)
    for delta in found:
        start_us, end_us = _epoch_us(delta.start), _epoch_us(delta.end)
        span = end_us - start_us
        if span == 0:
            continue  # a replacement: no time, nothing to share
        # A delta ends at a reading, or at a swap's moment (no reading of its day).
        read = end_us not in swapped
        if delta.change is Change.GAP:
            # Held for staff: shared into no day, and the days it spans are not made.
            d = calendar.day_of(end_us)
            midnight, next_midnight = calendar.bounds(d)
            day(d).readings += read
            continue
        if not midnight <= start_us < next_midnight:
            d = calendar.day_of(start_us)
            midnight, next_midnight = calendar.bounds(d)
        cursor, done = start_us, 0
        while True:
            target = day(d)
            while cursor < end_us and cursor < next_midnight:
                index = (cursor - midnight) // _HOUR_US
                upto = min(end_us, next_midnight, midnight + (index + 1) * _HOUR_US)
                # Cumulative rounding: the shares of a delta add up to the delta exactly.
                reached = delta.amount * (upto - start_us) // span
                if delta.change is Change.IMPLAUSIBLE:
                    target.excluded += reached - done
                else:
                    target.hours[index] += reached - done
                done, cursor = reached, upto
            if end_us < next_midnight:
                break
            if end_us == next_midnight == last:
                # The last reading is at midnight: it closes its day and opens none. The next day is counted only
                # once a later reading brackets it; a stored zero would say it consumed nothing.
                break
            d += timedelta(days=1)
            midnight, next_midnight = calendar.bounds(d)
        if end_us < next_midnight:
            day(d).readings += read
    _fill_starts(out, found, calendar)
    return [out[d] for d in sorted(out)], [d for d in found if d.change is not Change.RISE]


def _fill_starts(out: dict[date, Day], found: list[Delta], calendar: _Calendar) -> None:
    """Set each day's start state: the last reading before its midnight and the baseline after it."""
    ordered = sorted(out)
    if not ordered or not found:
        return
    index = 0
    state: State | None = None
    # The baseline after a delta's end reading: the reading itself, unless it was jitter or a glitch.
    for d in ordered:
        midnight = calendar.bounds(d)[0]
        while index < len(found) and _epoch_us(found[index].end) < midnight:
            delta = found[index]
            state = State(delta.end, delta.before if delta.change in KEEPS_BASELINE else delta.after)
            index += 1
        if state is None and _epoch_us(found[0].start) < midnight:
            first = found[0]
            state = State(first.start, first.before)
        out[d].start = state


def hourly(items: Iterable[Delta], zone: ZoneInfo) -> dict[datetime, int]:
    """Each delta's counted amount shared between the local hours it spans (keys: local hour starts).

    An hour that no delta touches is absent; implausible deltas add nothing.
    """
    out: dict[datetime, int] = defaultdict(int)
    calendar = _Calendar(zone)
    for delta in items:
        start_us, end_us = _epoch_us(delta.start), _epoch_us(delta.end)
        span, amount = end_us - start_us, counted(delta)
        if span == 0 or amount == 0:
            continue
        cursor, done = start_us, 0
        while cursor < end_us:
            midnight, next_midnight = calendar.bounds(calendar.day_of(cursor))
            index = (cursor - midnight) // _HOUR_US
            upto = min(end_us, next_midnight, midnight + (index + 1) * _HOUR_US)
            reached = amount * (upto - start_us) // span
            hour = (_EPOCH + timedelta(microseconds=midnight + index * _HOUR_US)).astimezone(zone)
            out[hour] += reached - done
            done, cursor = reached, upto
    return dict(out)


def rollup(hours: Mapping[datetime, int], period: Step) -> dict[datetime, int]:
    """Sum local hours into local days, months or years (keys: the local start of each)."""
    out: dict[datetime, int] = defaultdict(int)
    for hour, amount in hours.items():
        out[period_start(hour, period)] += amount
    return dict(out)


def period_start(moment: datetime, period: Step) -> datetime:
    """The local start of the hour, day, month or year holding a local moment."""
    if period == "hour":
        return moment.replace(minute=0, second=0, microsecond=0)
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "day":
        return day
    if period == "month":
        return day.replace(day=1)
    return day.replace(month=1, day=1)


def _epoch_us(moment: datetime) -> int:
    return (moment - _EPOCH) // _US


def _micros(span: timedelta) -> int:
    return span // _US
