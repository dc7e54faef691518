"""Consumption from cumulative registers: the bureau's rules by hand, and exactness on generated streams."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.counters import SCALE, Change, Meter, days, deltas, hourly, micro, rollup
from domain.reading import Reading

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 1, 1, tzinfo=SHANGHAI)


def reading(time: datetime, register: float) -> Reading:
    """A reading of the meter these tests count."""
    return Reading("m1", time, register, time)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def total(values: dict[datetime, int]) -> int:
    return sum(values.values())


def units(amount: float) -> int:
    """An amount in the millionths the arithmetic counts in."""
    return round(amount * SCALE)


def test_a_rising_register_counts_its_rise_times_the_multiplier() -> None:
    got = deltas([reading(at(0), 100.0), reading(at(1), 112.5)], Meter(multiplier=40))
    assert [(d.amount, d.change) for d in got] == [(units(500), Change.RISE)]


def test_a_rollover_counts_the_way_round() -> None:
    got = deltas([reading(at(0), 99_990.0), reading(at(1), 15.0)], Meter(register_max=100_000))
    assert [(d.amount, d.change) for d in got] == [(units(25), Change.ROLLOVER)]


def test_a_reset_or_replaced_meter_restarts_from_the_new_value() -> None:
    got = deltas([reading(at(0), 5_000.0), reading(at(1), 3.0), reading(at(2), 10.0)])
    assert [(d.amount, d.change) for d in got] == [(units(3), Change.RESET), (units(7), Change.RISE)]


def test_jitter_counts_nothing_and_the_higher_value_stays_the_baseline() -> None:
    got = deltas([reading(at(0), 1000.0), reading(at(1), 990.0), reading(at(2), 1005.0)])
    assert [(d.amount, d.change) for d in got] == [(units(0), Change.JITTER), (units(5), Change.RISE)]


def test_without_a_known_maximum_a_big_drop_is_a_reset_not_a_rollover() -> None:
    got = deltas([reading(at(0), 99_990.0), reading(at(1), 15.0)])
    assert [d.change for d in got] == [Change.RESET]


def test_a_delta_across_hours_and_a_local_midnight_is_shared_in_proportion_to_time() -> None:
    # 23:30 to 01:30 local time, 200 units: a quarter, a half and a quarter.
    got = hourly(deltas([reading(at(-0.5), 0.0), reading(at(1.5), 200.0)]), SHANGHAI)
    assert got == {at(-1): units(50), at(0): units(100), at(1): units(50)}
    days = rollup(got, "day")
    assert days == {datetime(2025, 12, 31, tzinfo=SHANGHAI): units(50), T0: units(150)}
    # Local days: Shanghai's midnight is 16:00 UTC.
    assert all(day.astimezone(UTC).hour == 16 for day in days)


def test_a_gap_loses_nothing() -> None:
    got = hourly(deltas([reading(at(0), 10.0), reading(at(30), 40.0)]), SHANGHAI)
    assert total(got) == units(30)
    assert len(got) == 30
    assert set(got.values()) == {units(1)}


# --- generated streams ----------------------------------------------------------------------------------------


@st.composite
def streams(draw: st.DrawFn) -> tuple[list[Reading], Meter]:
    """A meter's readings over days: irregular intervals, gaps, rises, jitter, resets and rollovers."""
    top = draw(st.sampled_from([None, 100_000.0]))
    value = draw(st.floats(0, 90_000, allow_nan=False))
    t = datetime(2025, 12, 20, tzinfo=UTC) + timedelta(seconds=draw(st.integers(0, 86_400)))
    out = [reading(t, value)]
    for _ in range(draw(st.integers(1, 60))):
        t += timedelta(seconds=draw(st.integers(1, 3 * 86_400)))
        step = draw(st.sampled_from(["rise", "rise", "rise", "jitter", "reset", "roll"]))
        if step == "rise":
            value += draw(st.floats(0, 500, allow_nan=False))
        elif step == "jitter":
            value *= 0.95
        elif step == "reset":
            value = draw(st.floats(0, 10, allow_nan=False))
        elif top is not None:
            value = draw(st.floats(0, 50, allow_nan=False))
        if top is not None:
            value = min(value, top)
        out.append(reading(t, value))
    multiplier = draw(st.sampled_from([1.0, 40.0, 0.5]))
    return out, Meter(multiplier=multiplier, register_max=top)


@settings(max_examples=200, deadline=None)
@given(streams(), st.sampled_from(["Asia/Shanghai", "UTC", "Asia/Kolkata", "America/New_York"]))
def test_hours_sum_to_days_to_months_to_years_exactly_and_nothing_is_lost(
    stream: tuple[list[Reading], Meter], zone_name: str
) -> None:
    readings, meter = stream
    zone = ZoneInfo(zone_name)
    found = deltas(readings, meter)
    hours = hourly(found, zone)
    assert total(hours) == sum(d.amount for d in found if d.change is not Change.IMPLAUSIBLE)
    by_day, months = rollup(hours, "day"), rollup(hours, "month")
    assert rollup(by_day, "month") == months  # days sum to months, exactly
    assert rollup(months, "year") == rollup(hours, "year")
    # The roll-up's days (what the database stores) are the same hours, laid out per day.
    counted, _ = days(readings, meter, zone)
    assert {datetime(d.day.year, d.day.month, d.day.day, tzinfo=zone): d.amount for d in counted if d.amount} == {
        k: v for k, v in by_day.items() if v
    }
    for d in counted:
        midnight = datetime(d.day.year, d.day.month, d.day.day, tzinfo=zone)
        for index, amount in enumerate(d.hours):
            hour = (midnight.astimezone(UTC) + timedelta(hours=index)).astimezone(zone)
            assert hours.get(hour, 0) == amount
    assert all(amount >= 0 for amount in hours.values())
    assert all(hour.minute == 0 and hour.second == 0 for hour in hours)


@settings(max_examples=100, deadline=None)
@given(streams(), st.randoms(use_true_random=False))
def test_arrival_order_does_not_matter(stream: tuple[list[Reading], Meter], rnd: random.Random) -> None:
    readings, meter = stream
    shuffled = list(readings)
    rnd.shuffle(shuffled)
    assert hourly(deltas(shuffled, meter), SHANGHAI) == hourly(deltas(readings, meter), SHANGHAI)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(0, 1_000, allow_nan=False), min_size=1, max_size=40), st.floats(0, 99_000))
def test_a_rising_register_totals_last_minus_first_and_a_rollover_changes_nothing(
    rises: list[float], start: float
) -> None:
    top = 100_000.0
    values = [start]
    for rise in rises:
        values.append(values[-1] + rise)
    readings = [reading(at(i), v) for i, v in enumerate(values)]
    plain = sum(d.amount for d in deltas(readings))
    assert plain == micro(values[-1]) - micro(values[0])
    # The same meter on a register that wraps at 100,000: the same consumption, where the wrap is
    # one the rules recognise (from the top tenth to the bottom tenth of the range).
    wrapped = [reading(r.time, r.register % top) for r in readings]
    pairs = itertools.pairwise(wrapped)
    if all(b.register >= a.register or (a.register >= 90_000 and b.register <= 10_000) for a, b in pairs):
        got = sum(d.amount for d in deltas(wrapped, Meter(register_max=top)))
        # Each wrap may round its last millionth differently: `v % top` is computed in floats.
        assert abs(got - plain) <= len(rises)


@settings(max_examples=150, deadline=None)
@given(streams(), st.data())
def test_a_recount_from_any_day_continues_exactly_where_the_whole_count_stands(
    stream: tuple[list[Reading], Meter], data: st.DataObject
) -> None:
    """What the database refresh relies on: a day's stored start state is enough to recount from it."""
    readings, meter = stream
    whole, _ = days(readings, meter, SHANGHAI)
    if not whole:
        return
    chosen = data.draw(st.sampled_from(whole))
    again, _ = days(readings, meter, SHANGHAI, chosen.start)
    tail = [d for d in again if d.day >= chosen.day]
    assert tail == [d for d in whole if d.day >= chosen.day]


def test_an_implausible_delta_is_flagged_excluded_and_the_count_goes_on_from_its_value() -> None:
    meter = Meter(max_rate=10)  # at most 10 units an hour
    readings = [reading(at(0), 100.0), reading(at(1), 105.0), reading(at(2), 5_000.0), reading(at(3), 5_004.0)]
    found = deltas(readings, meter)
    assert [(d.change, d.amount) for d in found] == [
        (Change.RISE, units(5)),
        (Change.IMPLAUSIBLE, units(4_895)),
        (Change.RISE, units(4)),
    ]
    counted, events = days(readings, meter, SHANGHAI)
    assert sum(d.amount for d in counted) == units(9)
    assert sum(d.excluded for d in counted) == units(4_895)
    assert [e.change for e in events] == [Change.IMPLAUSIBLE]


def test_a_day_counts_its_readings_and_each_day_knows_where_a_recount_starts() -> None:
    readings = [reading(at(h), 10.0 * h) for h in range(0, 48, 6)]
    counted, _ = days(readings, Meter(), SHANGHAI)
    assert [d.readings for d in counted] == [4, 4]
    assert counted[0].start is None
    assert counted[1].start is not None
    assert counted[1].start.time == at(18)
    assert counted[1].start.baseline == micro(180.0)
    assert [len(d.hours) for d in counted] == [24, 24]


def test_a_last_reading_at_midnight_closes_its_day_and_opens_none() -> None:
    # Read at 12:00 and at the next local midnight: the day is bracketed, the next one is not (yet).
    readings = [reading(at(12), 100.0), reading(at(24), 112.0)]
    counted, _ = days(readings, Meter(), SHANGHAI)
    assert [d.day for d in counted] == [T0.date()]
    assert counted[0].amount == units(12)
    # A later reading brackets the next day: it is counted then, with the midnight reading among its readings.
    later, _ = days([*readings, reading(at(30), 118.0)], Meter(), SHANGHAI)
    assert [(d.day, d.amount, d.readings) for d in later] == [
        (T0.date(), units(12), 1),
        ((T0 + timedelta(days=1)).date(), units(6), 2),
    ]
