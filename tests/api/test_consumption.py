"""Consumption from cumulative registers: the bureau's rules by hand, and exactness on generated streams."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from api.energy.consumption import Change, Meter, Reading, deltas, hourly, rollup

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 1, 1, tzinfo=SHANGHAI)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def total(values: dict[datetime, Fraction]) -> Fraction:
    return sum(values.values(), Fraction(0))


def test_a_rising_register_counts_its_rise_times_the_multiplier() -> None:
    got = deltas([Reading(at(0), 100.0), Reading(at(1), 112.5)], Meter(multiplier=40))
    assert [(d.amount, d.change) for d in got] == [(Fraction(500), Change.RISE)]


def test_a_rollover_counts_the_way_round() -> None:
    got = deltas([Reading(at(0), 99_990.0), Reading(at(1), 15.0)], Meter(register_max=100_000))
    assert [(d.amount, d.change) for d in got] == [(Fraction(25), Change.ROLLOVER)]


def test_a_reset_or_replaced_meter_restarts_from_the_new_value() -> None:
    got = deltas([Reading(at(0), 5_000.0), Reading(at(1), 3.0), Reading(at(2), 10.0)])
    assert [(d.amount, d.change) for d in got] == [(Fraction(3), Change.RESET), (Fraction(7), Change.RISE)]


def test_jitter_counts_nothing_and_the_higher_value_stays_the_baseline() -> None:
    got = deltas([Reading(at(0), 1000.0), Reading(at(1), 990.0), Reading(at(2), 1005.0)])
    assert [(d.amount, d.change) for d in got] == [(Fraction(0), Change.JITTER), (Fraction(5), Change.RISE)]


def test_without_a_known_maximum_a_big_drop_is_a_reset_not_a_rollover() -> None:
    got = deltas([Reading(at(0), 99_990.0), Reading(at(1), 15.0)])
    assert [d.change for d in got] == [Change.RESET]


def test_a_delta_across_hours_and_a_local_midnight_is_shared_in_proportion_to_time() -> None:
    # 23:30 to 01:30 local time, 200 units: a quarter, a half and a quarter.
    got = hourly(deltas([Reading(at(-0.5), 0.0), Reading(at(1.5), 200.0)]), SHANGHAI)
    assert got == {at(-1): Fraction(50), at(0): Fraction(100), at(1): Fraction(50)}
    days = rollup(got, "day")
    assert days == {datetime(2025, 12, 31, tzinfo=SHANGHAI): Fraction(50), T0: Fraction(150)}
    # Local days: Shanghai's midnight is 16:00 UTC.
    assert all(day.astimezone(UTC).hour == 16 for day in days)


def test_a_gap_loses_nothing() -> None:
    got = hourly(deltas([Reading(at(0), 10.0), Reading(at(30), 40.0)]), SHANGHAI)
    assert total(got) == 30
    assert len(got) == 30
    assert set(got.values()) == {Fraction(1)}


# --- generated streams ----------------------------------------------------------------------------------------


@st.composite
def streams(draw: st.DrawFn) -> tuple[list[Reading], Meter]:
    """A meter's readings over days: irregular intervals, gaps, rises, jitter, resets and rollovers."""
    top = draw(st.sampled_from([None, 100_000.0]))
    value = draw(st.floats(0, 90_000, allow_nan=False))
    t = datetime(2025, 12, 20, tzinfo=UTC) + timedelta(seconds=draw(st.integers(0, 86_400)))
    out = [Reading(t, value)]
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
        out.append(Reading(t, value))
    multiplier = draw(st.sampled_from([1.0, 40.0, 0.5]))
    return out, Meter(multiplier=multiplier, register_max=top)


@settings(max_examples=200, deadline=None)
@given(streams(), st.sampled_from(["Asia/Shanghai", "UTC", "Asia/Kolkata"]))
def test_hours_sum_to_days_to_months_to_years_exactly_and_nothing_is_lost(
    stream: tuple[list[Reading], Meter], zone_name: str
) -> None:
    readings, meter = stream
    zone = ZoneInfo(zone_name)
    found = deltas(readings, meter)
    hours = hourly(found, zone)
    all_deltas = sum((d.amount for d in found), Fraction(0))
    assert total(hours) == all_deltas
    days, months = rollup(hours, "day"), rollup(hours, "month")
    assert rollup(days, "month") == months  # days sum to months, exactly
    assert rollup(months, "year") == rollup(hours, "year")
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
    readings = [Reading(at(i), v) for i, v in enumerate(values)]
    plain = sum((d.amount for d in deltas(readings)), Fraction(0))
    assert plain == Fraction(values[-1]) - Fraction(values[0])
    # The same meter on a register that wraps at 100,000: the same consumption, where the wrap is
    # one the rules recognise (from the top tenth to the bottom tenth of the range).
    wrapped = [Reading(r.time, r.register % top) for r in readings]
    pairs = itertools.pairwise(wrapped)
    if all(b.register >= a.register or (a.register >= 90_000 and b.register <= 10_000) for a, b in pairs):
        got = sum((d.amount for d in deltas(wrapped, Meter(register_max=top))), Fraction(0))
        assert got == sum((Fraction(v) - Fraction(u) for u, v in itertools.pairwise(values)), Fraction(0))
