"""A recorded meter swap and a dated multiplier: the arithmetic uses both, and guesses nothing across them."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.counters import MAX_GAP, Change, Meter, Multiplier, Replacement, counted, days, deltas, hourly, micro
from domain.reading import Reading
from tests.support.registers import SHANGHAI, at, reading


def test_a_recorded_swap_counts_up_to_the_old_final_and_on_from_the_new_first() -> None:
    # The old meter read 14,400, ended at 14,500; the new one started at 3 and read 10: 100 + 7, no reset guessed.
    readings = [reading(at(0), 14_400.0), reading(at(2), 10.0)]
    swap = Replacement(at(1), old_final=14_500.0, new_first=3.0)
    got = deltas(readings, replacements=[swap])
    assert [(d.start, d.end, d.amount, d.change) for d in got] == [
        (at(0), at(1), micro(100), Change.RISE),
        (at(1), at(1), 0, Change.REPLACEMENT),
        (at(1), at(2), micro(7), Change.RISE),
    ]
    # Without the record, the drop is guessed a reset: 10 counted where 107 were consumed.
    assert sum(counted(d) for d in deltas(readings)) == micro(10)


def test_a_swap_counts_its_days_exactly_and_its_moment_is_no_reading() -> None:
    readings = [reading(at(h), 14_000.0 + 10 * h) for h in range(0, 12)]  # 14,000 .. 14,110
    readings += [reading(at(h), 3.0 + 10 * (h - 13)) for h in range(13, 30)]  # 3 at 13:00 .. 163
    swap = Replacement(at(12.5), old_final=14_115.0, new_first=0.0)
    counted_days, events = days(readings, Meter(multiplier=2), SHANGHAI, replacements=[swap])
    assert sum(d.amount for d in counted_days) == 2 * micro(110 + 5 + 163)
    assert sum(d.readings for d in counted_days) == len(readings)
    assert [e.change for e in events] == [Change.REPLACEMENT]
    assert (events[0].before, events[0].after) == (micro(14_115), 0)


def test_a_reading_at_the_swaps_moment_is_the_recorded_registers() -> None:
    readings = [reading(at(0), 100.0), reading(at(1), 3.0), reading(at(2), 5.0)]
    got = deltas(readings, replacements=[Replacement(at(1), old_final=120.0, new_first=3.0)])
    assert sum(counted(d) for d in got) == micro(20 + 2)


def test_a_final_under_the_old_baseline_counts_nothing_and_is_never_a_reset() -> None:
    readings = [reading(at(0), 500.0), reading(at(2), 4.0)]
    got = deltas(readings, replacements=[Replacement(at(1), old_final=100.0, new_first=1.0)])
    assert [(d.amount, d.change) for d in got] == [(0, Change.GLITCH), (0, Change.REPLACEMENT), (micro(3), Change.RISE)]


def test_the_old_finals_return_makes_a_transient_zero_before_the_swap_a_glitch() -> None:
    readings = [reading(at(0), 14_000.0), reading(at(1), 0.0), reading(at(3), 2.0)]
    got = deltas(readings, replacements=[Replacement(at(2), old_final=14_002.0, new_first=0.0)])
    assert [(d.amount, d.change) for d in got] == [
        (0, Change.GLITCH),
        (micro(2), Change.RISE),
        (0, Change.REPLACEMENT),
        (micro(2), Change.RISE),
    ]


def test_a_multiplier_from_a_reading_counts_the_deltas_before_it_at_the_old_value() -> None:
    readings = [reading(at(h), 10.0 * h) for h in range(5)]
    got = deltas(readings, Meter(multiplier=40), multipliers=[Multiplier(at(2), 80)])
    assert [d.amount for d in got] == [micro(400), micro(400), micro(800), micro(800)]


def test_a_multiplier_changed_inside_a_delta_shares_it_in_proportion_to_time() -> None:
    readings = [reading(at(0), 0.0), reading(at(4), 10.0)]
    got = deltas(readings, Meter(multiplier=40), multipliers=[Multiplier(at(1), 80), Multiplier(at(3), 0.5)])
    # A quarter at 40, a half at 80, a quarter at 0.5.
    assert [d.amount for d in got] == [micro(10 * (40 / 4 + 80 / 2 + 0.5 / 4))]


def test_a_history_starting_before_the_data_replaces_the_meters_own_multiplier() -> None:
    readings = [reading(at(0), 0.0), reading(at(1), 1.0)]
    got = deltas(readings, Meter(multiplier=80), multipliers=[Multiplier(at(-100), 40)])
    assert [d.amount for d in got] == [micro(40)]


# --- generated streams with swaps and multiplier changes --------------------------------------------------------


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[Reading], Meter, list[Replacement], list[Multiplier]]:
    """Readings with rises and jitter, a few recorded swaps between them, and a few multiplier changes."""
    value = draw(st.floats(0, 90_000, allow_nan=False))
    t = datetime(2025, 12, 20, tzinfo=UTC) + timedelta(seconds=draw(st.integers(0, 86_400)))
    out = [reading(t, value)]
    swaps: list[Replacement] = []
    changes: list[Multiplier] = []
    for _ in range(draw(st.integers(1, 40))):
        t += timedelta(seconds=draw(st.integers(2, 2 * 86_400)))
        step = draw(st.sampled_from(["rise", "rise", "jitter", "swap", "multiplier"]))
        if step == "swap":
            final = value + draw(st.floats(0, 100, allow_nan=False))
            value = draw(st.floats(0, 10, allow_nan=False))
            swaps.append(Replacement(t - timedelta(seconds=1), final, value))
        elif step == "multiplier":
            since = t - timedelta(seconds=draw(st.integers(0, 1)))  # at the reading, or inside the delta
            changes.append(Multiplier(since, draw(st.sampled_from([1, 40, 2.5]))))
        elif step == "rise":
            value += draw(st.floats(0, 500, allow_nan=False))
        elif value >= 100:  # a dip of 5% that the next reading recovers from (not of a tiny value: millionths)
            out.append(reading(t, value * 0.95))
            continue
        out.append(reading(t, value))
    return out, Meter(multiplier=draw(st.sampled_from([1.0, 40.0, 0.5]))), swaps, changes


def _closes_at_midnight(readings: list[Reading]) -> int:
    local = readings[-1].time.astimezone(SHANGHAI)
    return int(len(readings) > 1 and local.time() == time(0) and readings[-1].time - readings[-2].time <= MAX_GAP)


def test_a_last_reading_at_midnight_after_a_swap_closes_its_day_and_is_counted_once_a_later_one_comes() -> None:
    """The case Hypothesis found: the stream ends exactly at local midnight, after a recorded swap."""
    start = datetime(2025, 12, 20, tzinfo=UTC)
    times = [0, 2, 4, 209, 251, 426, 606, 1376, 2144, 2148]
    readings = [reading(start + timedelta(seconds=s), 1.0 if 209 <= s <= 426 else 0.0) for s in times]
    swap = Replacement(start + timedelta(seconds=605), 1.0, 0.0)
    midnight = reading(datetime(2025, 12, 22, tzinfo=SHANGHAI), 0.0)
    whole, _ = days([*readings, midnight], Meter(), SHANGHAI, replacements=[swap])
    assert [(d.day.isoformat(), d.amount, d.readings) for d in whole] == [
        ("2025-12-20", micro(1), len(readings)),
        ("2025-12-21", 0, 0),
    ]
    later = reading(datetime(2025, 12, 22, 1, tzinfo=SHANGHAI), 0.0)
    whole, _ = days([*readings, midnight, later], Meter(), SHANGHAI, replacements=[swap])
    assert [(d.day.isoformat(), d.readings) for d in whole][-1] == ("2025-12-22", 2)


@settings(max_examples=150, deadline=None)
@given(histories(), st.data())
def test_with_swaps_and_multipliers_days_match_hours_and_a_recount_from_any_day_continues_exactly(
    history: tuple[list[Reading], Meter, list[Replacement], list[Multiplier]], data: st.DataObject
) -> None:
    readings, meter, swaps, changes = history
    found = deltas(readings, meter, replacements=swaps, multipliers=changes)
    assert not any(d.change is Change.RESET for d in found)  # every drop was recorded: none is guessed
    whole, events = days(readings, meter, SHANGHAI, replacements=swaps, multipliers=changes)
    assert sum(d.amount for d in whole) == sum(hourly(found, SHANGHAI).values()) == sum(counted(d) for d in found)
    # Every reading is one of its day's, but a last one at local midnight: it closes its day and opens none.
    assert sum(d.readings for d in whole) == len(readings) - _closes_at_midnight(readings)
    assert sum(e.change is Change.REPLACEMENT for e in events) == len(swaps)
    if not whole:
        return
    chosen = data.draw(st.sampled_from(whole))
    again, _ = days(readings, meter, SHANGHAI, chosen.start, replacements=swaps, multipliers=changes)
    assert [d for d in again if d.day >= chosen.day] == [d for d in whole if d.day >= chosen.day]
