"""Trips from ignition and motion, on days driven by hand along a street that runs due north."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import hypothesis
import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.geo import distance_m
from domain.position import Position
from domain.track import TrackRules, clean, stops
from domain.trips import Trip, TripRules, rest_points, trips
from tests.support.tracks import LAT0, LON0, T0, Day, fix, two_days, wander, working_day

RULES = TripRules()


def coordinates_only(fixes: Sequence[Position]) -> list[Position]:
    """The fixes as a source of time and coordinates only reports them (a taxi log, a phone)."""
    return [f._replace(speed=None, heading=None, ignition=None, odometer=None) for f in fixes]


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


# ---------------------------------------------------------------------------------------------------------------
# Rest points: where a recount may start, checked against `trips` itself


def _assert_restarts_agree(fixes: Sequence[Position], rules: TripRules) -> list[int]:
    kept = clean(fixes, TrackRules()).kept
    whole = trips(kept, rules)
    index = {f.time: i for i, f in enumerate(kept)}
    rests = rest_points(kept, rules)
    for rest in rests:
        before = [t for t in whole if t.start_time < rest]
        assert all(t.end_time <= rest for t in before), rest
        assert before + trips(kept[index[rest] :], rules) == whole, rest
    return [index[r] for r in rests]


@pytest.mark.parametrize("use_ignition", [True, False], ids=["ignition", "motion"])
def test_reading_a_track_again_from_any_rest_point_finds_the_same_trips(use_ignition: bool) -> None:
    rules = TripRules(use_ignition=use_ignition)
    fixes = two_days()
    rests = _assert_restarts_agree(fixes, rules)
    kept = clean(fixes, TrackRules()).kept
    # Rest points are standing fixes, never one on the move; every stop of the days has some, and with the ignition
    # every fix with it off is one.
    assert all(kept[i].speed == 0 for i in rests)
    times = [kept[i].time for i in rests]
    assert all(any(stay.start <= t <= stay.end for t in times) for stay in stops(kept, TrackRules()))
    if use_ignition:
        assert {i for i, f in enumerate(kept) if not f.ignition} <= set(rests)
    # Read again from a fix on the move, the trips are not those of the track: restarting there would be wrong.
    moving = next(i for i, f in enumerate(kept) if f.speed > 0) + 5
    assert trips(kept[moving:], rules)[0] != trips(kept, rules)[0]


_STEP = st.one_of(
    st.tuples(st.just("park"), st.integers(1, 24).map(lambda n: n * 300.0)),
    st.tuples(st.just("idle"), st.integers(1, 40).map(lambda n: n * 10.0)),
    st.tuples(st.just("drive"), st.integers(-60, 60).map(lambda n: n * 100.0), st.sampled_from([6.0, 36.0, 54.0])),
    st.tuples(st.just("silent"), st.sampled_from([600.0, 3500.0, 3700.0, 7200.0])),
)


@hypothesis.settings(max_examples=60, deadline=None)
@given(
    steps=st.lists(_STEP, min_size=1, max_size=25),
    use_ignition=st.booleans(),
    terminal=st.sampled_from(["reported", "coordinates_only", "speed_0"]),
)
def test_any_day_read_again_from_its_rest_points_finds_the_same_trips(
    steps: list[tuple[object, ...]], use_ignition: bool, terminal: str
) -> None:
    day = Day()
    for step in steps:
        match step:
            case ("park", float(seconds)):
                day.park(seconds)
            case ("idle", float(seconds)):
                day.idle(seconds)
            case ("drive", float(metres), float(kmh)) if metres:
                day.drive(metres, kmh)
            case ("silent", float(seconds)):
                day.silent(seconds)
    fixes = {
        "reported": day.fixes,
        "coordinates_only": coordinates_only(day.fixes),
        "speed_0": [f._replace(speed=0.0) for f in coordinates_only(day.fixes)],
    }[terminal]
    _assert_restarts_agree(fixes, TripRules(use_ignition=use_ignition))


# --- motion from the fixes where the terminal reports no speed, ignition or odometer ------------------------------


def test_a_track_of_time_and_coordinates_only_is_two_trips_from_its_motion() -> None:
    # Parked, 12 km out at 36 km/h, two hours there, 4.5 km on at 54 km/h, parked; then stripped of everything but
    # time and coordinates. Displacement tells the drives from the stops, the stop rule splits them.
    day = Day().park(3600).idle(60).drive(12_000, 36).idle(60).park(2 * 3600).idle(30).drive(4_500, 54).idle(30)
    fixes = coordinates_only(day.park(3600).fixes)
    found = trips(fixes, RULES)
    # Whole: a trip starts where the displacement began, the last fix of the stop.
    assert km(found) == pytest.approx([12.0, 4.5], abs=0.001)
    assert [t.distance_source for t in found] == ["track", "track"]
    assert [t.derived for t in found] == [("speed", "ignition", "odometer")] * 2
    assert [t.max_speed for t in found] == pytest.approx([36, 54])
    departures = [3600 + 60, 3600 + 60 + 1210 + 60 + 7200 + 30]
    assert [t.start_time for t in found] == [T0 + timedelta(seconds=s) for s in departures]


def test_a_terminal_reporting_speed_0_while_its_fixes_drive_has_its_trip() -> None:
    # The reported case: every fix says speed 0, the fixes cover the road. A standstill 20 km/h apart from the
    # displacement is not believed; the drive is a trip of its length, and says its speed came from motion.
    day = Day().park(3600).idle(60).drive(25_000, 40).idle(60).park(3600)
    fixes = [f._replace(speed=0.0, ignition=None, odometer=None) for f in day.fixes]
    found = trips(fixes, RULES)
    assert km(found) == pytest.approx([25.0], abs=0.001)
    assert found[0].derived == ("speed", "ignition", "odometer")
    assert found[0].max_speed == pytest.approx(40)


def test_a_reported_speed_0_is_believed_within_gnss_noise() -> None:
    # Parked with the engine running: fixes wander 10 m every 10 s (3.6 km/h), more than `moving_kmh` of noise
    # if it came from a speed-less track, but far below what would contradict the terminal's 0.
    wander = [fix(i * 10.0, 0.0, east_m=10.0 * (i % 2), speed=0.0) for i in range(200)]
    assert trips(wander, RULES) == []
    fast_wander = [fix(i * 10.0, 0.0, east_m=40.0 * (i % 2), speed=0.0) for i in range(200)]
    assert trips(fast_wander, RULES) == []  # 14 km/h between fixes, but never beyond the stop radius


def standing(
    seconds: float, *, every: float, metres: float, tau: float, seed: int, start: float = 0.0, north_m: float = 0.0
) -> list[Position]:
    """A vehicle standing `north_m` up the street, its GNSS fixes wandering (tests/support/tracks.py `wander`); it
    reports time and coordinates only."""
    offsets = wander(seed, round(seconds / every), every=every, metres=metres, tau=tau)
    return coordinates_only([fix(start + i * every, north_m + n, east_m=e) for i, (n, e) in enumerate(offsets)])


@pytest.mark.parametrize(
    ("every", "metres", "tau"),
    [(1.0, 5.0, 30.0), (5.0, 20.0, 120.0), (10.0, 20.0, 120.0), (1.0, 10.0, 1.0)],
    ids=["1s-5m", "5s-20m", "10s-20m", "1s-10m-independent"],
)
def test_a_parked_vehicle_whose_fixes_wander_makes_no_trip(every: float, metres: float, tau: float) -> None:
    # Two hours parked, reported every `every` s: the wander reads as 5-40 km/h between fixes (a review measured
    # 6-127 km of trips from such tracks), but it never leaves the stop radius of where the vehicle stood.
    kept = clean(standing(2 * 3600, every=every, metres=metres, tau=tau, seed=16), TrackRules()).kept
    assert trips(kept, RULES) == []


def test_an_idling_vehicle_reporting_speed_0_whose_fixes_wander_makes_no_trip() -> None:
    # Ignition on, speed 0 every second, 10 m of wander: a reported 0 is believed while the vehicle stays near its
    # place of rest, however fast the wander looks between two fixes a second apart.
    idling = [f._replace(speed=0.0, ignition=True) for f in standing(2 * 3600, every=1, metres=10, tau=60, seed=8)]
    assert trips(clean(idling, TrackRules()).kept, RULES) == []


@pytest.mark.parametrize("every", [1.0, 5.0, 10.0])
def test_a_drive_after_a_long_park_is_found_from_where_it_left(every: float) -> None:
    # Two hours parked with 20 m of wander, 6 km up the street at 36 km/h, an hour parked there: time and
    # coordinates only. One trip of the drive's length, starting where the vehicle left its place of rest.
    park = standing(2 * 3600, every=every, metres=20, tau=120, seed=3)
    steps = round(600 / every)
    drive = coordinates_only([fix(2 * 3600 + i * every, 10.0 * every * i) for i in range(1, steps + 1)])
    there = standing(3600, every=every, metres=20, tau=120, seed=4, start=2 * 3600 + (steps + 1) * every, north_m=6000)
    (trip,) = trips(clean(park + drive + there, TrackRules()).kept, RULES)
    assert trip.distance_km == pytest.approx(6.0, abs=0.2)
    assert trip.derived == ("speed", "ignition", "odometer")
    assert trip.max_speed == pytest.approx(36, abs=3)
    # It leaves at 2 h: the trip starts at its last fix within the stop radius of where it stood (which wanders
    # 20 m), within seconds of leaving.
    assert distance_m(trip.start_latitude, trip.start_longitude, LAT0, LON0) < 100
    assert abs((trip.start_time - (T0 + timedelta(hours=2))).total_seconds()) <= 10
    # It ends near the end of the street, within a minute (the window of motion from fixes) of arriving.
    assert distance_m(trip.end_latitude, trip.end_longitude, there[0].latitude, there[0].longitude) < 100
    assert timedelta(0) <= trip.end_time - (T0 + timedelta(seconds=2 * 3600 + 600)) <= timedelta(seconds=70)


def test_with_use_ignition_a_trip_from_motion_never_starts_at_an_ignition_off_fix() -> None:
    # Parked with the ignition off, then the ignition on at the first fix already on the road: no speed reported.
    # The vehicle left from the ignition-off fix, but a trip with the ignition rule starts where it was not off.
    off = [fix(i * 10.0, 0.0, ignition=False)._replace(speed=None) for i in range(30)]
    drive = [fix(300 + i * 10.0, 100.0 * i)._replace(speed=None) for i in range(1, 61)]
    rest = [fix(900 + i * 10.0, 6000.0)._replace(speed=None) for i in range(1, 40)]
    (trip,) = trips(off + drive + rest, RULES)
    assert trip.start_time == T0 + timedelta(seconds=310)


def test_with_speed_and_ignition_reported_nothing_but_the_odometer_is_derived() -> None:
    reported = trips(working_day(odometer_km=None).fixes, RULES)
    assert [t.derived for t in reported] == [("odometer",)] * 3
    assert [t.derived for t in trips(working_day().fixes, RULES)] == [()] * 3
    # Speed 0 everywhere, ignition and odometer reported: only the speed is derived.
    zeroed = [f._replace(speed=0.0) for f in working_day().fixes]
    found = trips(zeroed, RULES)
    assert km(found) == pytest.approx([12.0, 4.5, 16.5], abs=0.1)
    assert [(t.derived, t.distance_source) for t in found] == [(("speed",), "odometer")] * 3


def test_ignition_missing_at_some_fixes_bounds_the_trip_by_motion() -> None:
    fixes = [f._replace(ignition=None) if f.speed == 0 else f for f in working_day().fixes]
    found = trips(fixes, RULES)
    assert km(found) == pytest.approx([12.0, 4.5, 16.5], abs=0.1)
    assert [t.derived for t in found] == [("ignition",)] * 3
    # Without ignition, a trip ends at the first fix of the stop, not at an ignition-off report.
    assert [t.end_time - t.start_time for t in found] == [timedelta(seconds=s) for s in (1210, 310, 910)]
