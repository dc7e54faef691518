"""Trips from ignition and motion, on days driven by hand along a street that runs due north."""

from __future__ import annotations

from datetime import timedelta

import pytest

from api.dispatch.track import Fix, TrackRules, clean, distance_m, stops
from api.dispatch.trips import Trip, TripRules, trips
from tests.api.test_track import T0, fix

RULES = TripRules()


class Day:
    """A vehicle's day written as what it did; the terminal reports every 10 s when on, every 5 min parked."""

    def __init__(self, odometer_km: float | None = 52_731.0) -> None:
        self.t = 0.0
        self.at = 0.0  # metres up the street
        self.odometer_km = odometer_km
        self.fixes: list[Fix] = []

    def _report(self, *, speed: float, ignition: bool) -> None:
        # Terminals send the odometer in 0.1 km.
        odometer = None if self.odometer_km is None else round(self.odometer_km, 1)
        self.fixes.append(fix(self.t, self.at, speed=speed, ignition=ignition, odometer=odometer))

    def park(self, seconds: float, every: float = 300.0) -> Day:
        for _ in range(round(seconds / every)):
            self._report(speed=0.0, ignition=False)
            self.t += every
        return self

    def idle(self, seconds: float, every: float = 10.0) -> Day:
        for _ in range(round(seconds / every)):
            self._report(speed=0.0, ignition=True)
            self.t += every
        return self

    def drive(self, metres: float, kmh: float, every: float = 10.0) -> Day:
        """Move off at `kmh` from the first report and arrive at the last: the metres are exact."""
        step = kmh / 3.6 * every * (1 if metres > 0 else -1)
        steps = round(abs(metres / step))
        for _ in range(steps):
            self._report(speed=kmh, ignition=True)
            self.t += every
            self.at += step
            if self.odometer_km is not None:
                self.odometer_km += abs(step) / 1000
        self._report(speed=kmh, ignition=True)  # arriving, still rolling
        self.t += every
        return self

    def silent(self, seconds: float) -> Day:
        self.t += seconds
        return self


def working_day(odometer_km: float | None = 52_731.0) -> Day:
    """Parked from 07:00, 12 km out, 2 h there, 4.5 km on, 3 h there, 16.5 km back, parked until 18:00."""
    return (
        Day(odometer_km)
        .park(3600)
        .idle(60)
        .drive(12_000, 36)
        .idle(60)
        .park(2 * 3600)
        .idle(30)
        .drive(4_500, 54)
        .idle(30)
        .park(3 * 3600)
        .idle(60)
        .drive(-16_500, 66)
        .idle(60)
        .park(2 * 3600)
    )


def km(found: list[Trip]) -> list[float]:
    return [t.distance_km for t in found]


@pytest.mark.parametrize(
    ("odometer_km", "source", "tolerance_km"),
    [(52_731.0, "odometer", 0.1), (None, "track", 0.001)],  # the odometer comes in 0.1 km
)
def test_a_working_day_is_three_trips_between_four_stops(
    odometer_km: float | None, source: str, tolerance_km: float
) -> None:
    fixes = working_day(odometer_km).fixes
    found = trips(fixes, RULES)
    assert km(found) == pytest.approx([12.0, 4.5, 16.5], abs=tolerance_km)
    assert {t.distance_source for t in found} == {source}
    assert [t.max_speed for t in found] == [36, 54, 66]
    ends = [fix(0, north) for north in (12_000, 16_500, 0)]
    for trip, end in zip(found, ends, strict=True):
        assert distance_m(trip.end_latitude, trip.end_longitude, end.latitude, end.longitude) < 1
    # A trip runs from moving off to the ignition-off report, which here comes 30-60 s after arriving.
    departures = [3660, 3660 + 1210 + 60 + 7200 + 30, 3660 + 1210 + 60 + 7200 + 30 + 310 + 30 + 10800 + 60]
    assert [t.start_time for t in found] == [T0 + timedelta(seconds=s) for s in departures]
    assert [t.end_time - t.start_time for t in found] == [timedelta(seconds=s) for s in (1270, 340, 970)]

    stays = stops(clean(fixes, TrackRules()).kept, TrackRules())
    assert len(stays) == 4
    # The day alternates: a stop ends as a trip starts, the next stop begins before the ignition goes off.
    for trip, before, after in zip(found, stays, stays[1:], strict=False):
        assert before.end == trip.start_time
        assert trip.start_time < after.start <= trip.end_time


def test_without_ignition_the_same_day_is_three_trips_ending_on_arrival() -> None:
    day = working_day()
    # Terminals without the ignition wire report it off all day.
    fixes = [f._replace(ignition=False) for f in day.fixes]
    found = trips(fixes, TripRules(use_ignition=False))
    assert km(found) == pytest.approx([12.0, 4.5, 16.5], abs=0.1)
    assert [t.end_time - t.start_time for t in found] == [timedelta(seconds=s) for s in (1210, 310, 910)]


def test_with_ignition_motion_with_the_ignition_off_is_not_a_trip() -> None:
    towed = [f._replace(ignition=False) for f in working_day().fixes]
    assert trips(towed, RULES) == []


@pytest.mark.parametrize(
    ("day", "count"),
    [
        (Day().idle(60).drive(100, 6).idle(100).drive(50, 6).park(600), 0),  # 150 m in 3 min: a car park
        (Day().idle(60).drive(150, 6).idle(100).drive(100, 6).park(600), 1),  # 250 m in 3.5 min
        (Day().idle(10).drive(800, 36).park(600), 0),  # 800 m in 80 s, then off
    ],
    ids=["150m-190s", "250m-210s", "800m-80s"],
)
def test_a_short_hop_is_not_a_trip(day: Day, count: int) -> None:
    assert len(trips(day.fixes, RULES)) == count


def test_a_traffic_light_does_not_split_a_trip_but_a_long_idle_does() -> None:
    light = Day().idle(10).drive(3000, 36).idle(90).drive(3000, 36).park(600)
    assert km(trips(light.fixes, RULES)) == pytest.approx([6.0], abs=0.1)
    waiting = Day().idle(10).drive(3000, 36).idle(1800).drive(3000, 36).park(600)  # engine on for half an hour
    assert km(trips(waiting.fixes, RULES)) == pytest.approx([3.0, 3.0], abs=0.1)


@pytest.mark.parametrize(("silence", "expected"), [(3590, [10.0]), (3610, [5.0, 5.0])])
def test_a_gap_of_over_an_hour_splits_a_trip(silence: float, expected: list[float]) -> None:
    day = Day(odometer_km=None).idle(10).drive(5000, 36)
    before_gap = day.fixes[-1].time
    day.silent(silence).drive(5000, 36).park(600)
    found = trips(day.fixes, RULES)
    assert km(found) == pytest.approx(expected, abs=0.001)
    if len(found) == 2:
        assert found[0].end_time == before_gap


def test_a_trip_is_kept_when_the_terminal_falls_silent_with_the_ignition_on() -> None:
    day = Day().park(1800).idle(10).drive(8000, 36)
    last = day.fixes[-1]
    found = trips(day.fixes, RULES)
    assert km(found) == pytest.approx([8.0], abs=0.1)
    assert found[0].end_time == last.time
    # Next morning it wakes up parked where it went silent: the trip still ends where the data stopped.
    day.silent(14 * 3600).park(600)
    assert trips(day.fixes, RULES) == found


@pytest.mark.parametrize(
    ("start", "end", "distance", "source"),
    [
        (1000.0, 1010.4, 10.4, "odometer"),  # the road is longer than the sampled track
        (1000.0, 1009.8, 9.8, "odometer"),
        (1000.0, 1014.0, 14.0, "odometer"),  # within half the track distance more
        (1000.0, 1016.0, 10.0, "track"),  # 60 % more: a unit error or a swapped terminal
        (1000.0, 1004.0, 10.0, "track"),  # stuck, or counting from the middle of the trip
        (1000.0, 3.0, 10.0, "track"),  # reset on the way
        (None, 1010.4, 10.0, "track"),
        (1000.0, None, 10.0, "track"),
    ],
)
def test_distance_from_the_odometer_when_plausible_else_from_the_track(
    start: float | None, end: float | None, distance: float, source: str
) -> None:
    fixes = Day(odometer_km=None).idle(10).drive(10_000, 36).park(600).fixes
    first_moving = next(i for i, f in enumerate(fixes) if f.speed > 0)
    off = next(i for i, f in enumerate(fixes) if not f.ignition)
    fixes[first_moving] = fixes[first_moving]._replace(odometer=start)
    fixes[off] = fixes[off]._replace(odometer=end)
    [trip] = trips(fixes, RULES)
    assert (trip.distance_km, trip.distance_source) == (pytest.approx(distance, abs=0.001), source)
    assert trip.fix_count == off - first_moving + 1


def test_trips_of_a_shuffled_blind_zone_upload_are_the_trips_of_the_day() -> None:
    fixes = working_day().fixes
    shuffled = fixes[1::2] + fixes[::2]
    assert trips(clean(shuffled, TrackRules()).kept, RULES) == trips(fixes, RULES)
