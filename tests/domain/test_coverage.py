"""Whether a meter's readings cover a period whole: the rule behind incomplete_period."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from domain.coverage import MeterSpan, covers, in_period

BEGIN = datetime(2025, 1, 1, tzinfo=UTC)
STOP = datetime(2026, 1, 1, tzinfo=UTC)
LATER = datetime(2026, 6, 1, tzinfo=UTC)
DAY = timedelta(days=1)


def span(earliest: datetime | None = BEGIN, latest: datetime | None = STOP, **more: Any) -> MeterSpan:
    return replace(MeterSpan(connected=None, replaced=None, earliest=earliest, latest=latest), **more)


def test_readings_at_both_ends_cover_the_period_whatever_is_lost_between() -> None:
    assert covers(span(), BEGIN, STOP, LATER)


def test_readings_that_stop_before_the_end_leave_it_incomplete() -> None:
    assert not covers(span(latest=STOP - DAY), BEGIN, STOP, LATER)


def test_a_period_not_over_is_never_complete() -> None:
    assert not covers(span(latest=LATER), BEGIN, STOP, STOP - DAY)


def test_a_meter_that_never_reported_covers_nothing() -> None:
    assert not covers(span(earliest=None, latest=None), BEGIN, STOP, LATER)


def test_a_meter_connected_before_the_period_needs_a_reading_at_its_start() -> None:
    late_start = span(earliest=BEGIN + DAY, connected=BEGIN - 30 * DAY)
    assert not covers(late_start, BEGIN, STOP, LATER)
    # Connected during the period (or of unknown connection): counted from its first reading.
    assert covers(span(earliest=BEGIN + DAY, connected=BEGIN + DAY / 2), BEGIN, STOP, LATER)
    assert covers(span(earliest=BEGIN + DAY), BEGIN, STOP, LATER)


def test_a_replaced_meter_covers_to_its_replacement() -> None:
    replaced = span(latest=BEGIN + 100 * DAY, replaced=BEGIN + 100 * DAY)
    assert covers(replaced, BEGIN, STOP, LATER)
    assert not in_period(span(replaced=BEGIN), BEGIN, STOP)
    assert not in_period(span(connected=STOP), BEGIN, STOP)


def test_a_gap_held_for_staff_inside_the_period_leaves_it_incomplete() -> None:
    held = span(held=((BEGIN + DAY, BEGIN + 60 * DAY),))
    assert not covers(held, BEGIN, STOP, LATER)
    assert covers(held, BEGIN + 61 * DAY, STOP, LATER)
