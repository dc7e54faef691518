"""A drop is a reset only once the next reading confirms it; a delta over a long gap is held, not shared out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.counters import Change, Meter, counted, days, deltas, micro
from domain.reading import Reading
from tests.support.registers import SHANGHAI, at, reading


@st.composite
def streams(draw: st.DrawFn) -> tuple[list[Reading], Meter]:
    """A meter's readings: irregular intervals with gaps of up to 60 days, rises, jitter, drops and rollovers."""
    top = draw(st.sampled_from([None, 100_000.0]))
    value = draw(st.floats(0, 90_000, allow_nan=False))
    t = datetime(2025, 12, 20, tzinfo=UTC) + timedelta(seconds=draw(st.integers(0, 86_400)))
    out = [reading(t, value)]
    for _ in range(draw(st.integers(1, 40))):
        t += timedelta(seconds=draw(st.integers(1, draw(st.sampled_from([3, 60])) * 86_400)))
        step = draw(st.sampled_from(["rise", "rise", "rise", "jitter", "drop", "roll"]))
        if step == "rise":
            value += draw(st.floats(0, 500, allow_nan=False))
        elif step == "jitter":
            value *= 0.95
        elif step == "drop":
            value = draw(st.floats(0, 10, allow_nan=False))
        elif top is not None:
            value = draw(st.floats(0, 50, allow_nan=False))
        if top is not None:
            value = min(value, top)
        out.append(reading(t, value))
    return out, Meter(multiplier=draw(st.sampled_from([1.0, 40.0, 0.5])), register_max=top)


def amounts(values: list[float], meter: Meter | None = None) -> list[tuple[int, Change]]:
    return [(d.amount, d.change) for d in deltas([reading(at(h), v) for h, v in enumerate(values)], meter or Meter())]


def test_a_transient_zero_that_the_next_reading_does_not_confirm_is_a_glitch() -> None:
    got = amounts([14_000.0, 0.0, 14_002.0])
    assert got == [(0, Change.GLITCH), (micro(2), Change.RISE)]
    assert sum(a for a, _ in got) == micro(2)


def test_a_drop_that_the_next_reading_continues_from_is_a_reset() -> None:
    # The reset counts the new value (0 here), then 3 and 4: 7 in all.
    got = amounts([14_000.0, 0.0, 3.0, 7.0])
    assert got == [(0, Change.RESET), (micro(3), Change.RISE), (micro(4), Change.RISE)]


def test_a_glitch_of_a_misread_value_and_a_return_into_the_jitter_band_count_nothing() -> None:
    # 14,000 -> 700 (a misread) -> 13,990 (back, just under the baseline: jitter) -> 14,010: 10 in all.
    got = amounts([14_000.0, 700.0, 13_990.0, 14_010.0])
    assert got == [(0, Change.GLITCH), (0, Change.JITTER), (micro(10), Change.RISE)]


def test_a_reading_far_above_the_old_baseline_confirms_the_reset_and_max_rate_judges_the_rise() -> None:
    # Not a return: above the old baseline by more than the drop was deep.
    got = amounts([60.0, 3.0, 9_000.0], Meter(max_rate=100))
    assert got == [(micro(3), Change.RESET), (micro(8_997), Change.IMPLAUSIBLE)]


def test_a_drop_at_the_end_of_the_data_counts_as_a_reset_until_the_next_reading_decides() -> None:
    assert amounts([14_000.0, 0.0]) == [(0, Change.RESET)]
    assert amounts([14_000.0, 500.0]) == [(micro(500), Change.RESET)]
    # The next reading arrives: the same drop is now a glitch, and the 500 is no longer counted.
    assert amounts([14_000.0, 500.0, 14_001.0]) == [(0, Change.GLITCH), (micro(1), Change.RISE)]


def test_a_recount_from_the_day_after_a_glitch_keeps_the_old_baseline() -> None:
    # The glitch is the last reading before a midnight: the next day starts from the baseline it left alone.
    t = datetime(2026, 1, 1, 23, tzinfo=SHANGHAI)
    readings = [
        reading(t, 14_000.0),
        reading(t + timedelta(minutes=30), 0.0),
        reading(t + timedelta(hours=2), 14_002.0),
    ]
    whole, _ = days(readings, Meter(), SHANGHAI)
    # The 2 is shared from the glitch's time (23:30) to 01:00, as after jitter: a third before midnight.
    assert [d.amount for d in whole] == [666_666, 1_333_334]
    start = whole[1].start
    assert start is not None
    assert start.baseline == micro(14_000.0)
    again, _ = days(readings, Meter(), SHANGHAI, start)
    assert [d for d in again if d.day >= whole[1].day] == whole[1:]


@st.composite
def rising_with_glitches(draw: st.DrawFn) -> tuple[list[float], list[float]]:
    """A rising register of at least 1,000 and, the same, with transient drops inserted between readings (to under
    40% of the baseline: deeper than the next rise): (plain, glitched)."""
    value = draw(st.floats(1_000, 90_000, allow_nan=False))
    plain, glitched = [value], [value]
    for _ in range(draw(st.integers(1, 40))):
        if draw(st.booleans()):
            glitched.append(draw(st.floats(0, value * 0.4, allow_nan=False)))
        value += draw(st.floats(0, 500, allow_nan=False))
        plain.append(value)
        glitched.append(value)
    return plain, glitched


@settings(max_examples=200, deadline=None)
@given(rising_with_glitches())
def test_transient_drops_within_a_rising_register_change_no_consumption(
    streams: tuple[list[float], list[float]],
) -> None:
    plain, glitched = streams
    got = deltas([reading(at(h), v) for h, v in enumerate(glitched)])
    assert sum(d.amount for d in got) == micro(plain[-1]) - micro(plain[0])
    assert sum(d.change is Change.GLITCH for d in got) == len(glitched) - len(plain)
    assert Change.RESET not in {d.change for d in got}


@settings(max_examples=200, deadline=None)
@given(
    st.floats(1_000, 90_000, allow_nan=False),
    st.lists(st.floats(0, 500, allow_nan=False), max_size=20),
    st.floats(0, 10, allow_nan=False),
    st.lists(st.floats(0, 40, allow_nan=False), min_size=1, max_size=20),
)
def test_a_reset_continued_by_the_next_readings_counts_the_new_value_and_what_follows(
    start: float, before: list[float], low: float, after: list[float]
) -> None:
    values = [start]
    for rise in before:
        values.append(values[-1] + rise)
    top = values[-1]
    values.append(low)
    for rise in after:
        values.append(values[-1] + rise)
    got = deltas([reading(at(h), v) for h, v in enumerate(values)])
    assert [d.change for d in got].count(Change.RESET) == 1
    assert sum(d.amount for d in got) == (micro(top) - micro(start)) + micro(values[-1])


@settings(max_examples=150, deadline=None)
@given(streams(), st.sampled_from([timedelta(hours=12), timedelta(days=2), timedelta(days=31)]), st.data())
def test_held_gaps_and_counted_days_together_are_the_whole_count_and_a_recount_continues_exactly(
    stream: tuple[list[Reading], Meter],
    max_gap: timedelta,
    data: st.DataObject,
) -> None:
    readings, meter = stream
    plain, _ = days(readings, meter, SHANGHAI, max_gap=None)
    held, events = days(readings, meter, SHANGHAI, max_gap=max_gap)
    gaps = [e for e in events if e.change is Change.GAP]
    assert all(e.end - e.start > max_gap and e.amount > 0 and counted(e) == 0 for e in gaps)
    assert sum(d.amount for d in held) + sum(e.amount for e in gaps) == sum(d.amount for d in plain)
    if held:
        chosen = data.draw(st.sampled_from(held))
        again, _ = days(readings, meter, SHANGHAI, chosen.start, max_gap=max_gap)
        assert [d for d in again if d.day >= chosen.day] == [d for d in held if d.day >= chosen.day]


def test_a_delta_over_a_long_gap_is_held_and_no_day_of_the_gap_is_made() -> None:
    readings = [
        reading(datetime(2001, 5, 1, tzinfo=UTC), 100.0),
        reading(datetime(2026, 3, 1, 8, tzinfo=SHANGHAI), 1_170.0),
        reading(datetime(2026, 3, 1, 9, tzinfo=SHANGHAI), 1_175.0),
    ]
    counted_days, events = days(readings, Meter(), SHANGHAI, max_gap=timedelta(days=31))
    assert [d.day.year for d in counted_days] == [2001, 2026]
    assert sum(d.amount for d in counted_days) == micro(5)
    assert [(e.change, e.amount) for e in events] == [(Change.GAP, micro(1_070))]


def test_a_gap_staff_decided_to_spread_is_shared_out_as_without_the_rule() -> None:
    readings = [reading(at(0), 10.0), reading(at(24 * 40), 410.0), reading(at(24 * 40 + 1), 411.0)]
    held, events = days(readings, Meter(), SHANGHAI)  # the default: a month
    assert [e.change for e in events] == [Change.GAP]
    spread, none = days(readings, Meter(), SHANGHAI, spread={(at(0), at(24 * 40))})
    assert (spread, none) == days(readings, Meter(), SHANGHAI, max_gap=None)
    assert sum(d.amount for d in spread) == micro(401)
    assert sum(d.amount for d in held) == micro(1)
