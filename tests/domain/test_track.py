"""Track cleaning, stops and simplification, on tracks built by hand along a street that runs due north."""

from __future__ import annotations

import inspect
import itertools
import math
import sys
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.geo import EARTH_RADIUS_M, distance_m, path_m
from domain.position import Position
from domain.track import Columns, Dropped, DropReason, Stop, TrackRules, clean, clean_columns, simplify, stops
from tests.support.tracks import LAT0, LON0, T0, VEHICLE, fix, spike, straight

RULES = TrackRules()


def test_haversine_known_distances() -> None:
    assert distance_m(30, 120, 31, 120) == pytest.approx(111_195, abs=1)  # a degree of latitude
    assert distance_m(0, 0, 0, 90) == pytest.approx(10_007_557, abs=1)  # a quarter of the equator
    assert distance_m(31, 121, 30, 120) == distance_m(30, 120, 31, 121)


def test_spike_in_a_straight_drive_is_dropped_and_reported() -> None:
    drive = straight(20)
    bad = spike(drive[7])
    cleaned = clean([*drive[:7], bad, *drive[8:]], RULES)
    assert cleaned.kept == drive[:7] + drive[8:]
    assert cleaned.dropped == [Dropped(bad, DropReason.SPEED_JUMP)]
    assert cleaned.reasons() == {DropReason.SPEED_JUMP: 1}


@pytest.mark.parametrize(
    "spiked",
    [[0], [0, 1], [0, 1, 2], [1, 2], [7], [7, 8], [19]],
    ids=["first", "first-two", "first-three", "second-and-third", "middle", "middle-two", "last"],
)
def test_spikes_anywhere_leave_the_rest_of_the_track(spiked: list[int]) -> None:
    drive = straight(20)
    # 100 m apart 10 s apart: a burst of spikes agrees with itself, and must still lose to the track.
    track = [spike(f, 5000.0 + 100 * i) if i in spiked else f for i, f in enumerate(drive)]
    cleaned = clean(track, RULES)
    assert cleaned.kept == [f for i, f in enumerate(drive) if i not in spiked]
    assert [d.reason for d in cleaned.dropped] == [DropReason.SPEED_JUMP] * len(spiked)


def test_a_fast_but_possible_drive_is_kept() -> None:
    drive = straight(20, kmh=240)  # motorway police at 240 km/h stays under the 250 km/h limit
    assert clean(drive, RULES).kept == drive


@pytest.mark.parametrize(
    ("latitude", "longitude", "reason"),
    [
        (91.0, LON0, DropReason.INVALID),
        (LAT0, -180.5, DropReason.INVALID),
        (math.nan, LON0, DropReason.INVALID),
        (LAT0, math.inf, DropReason.INVALID),
        (0.0, 0.0, DropReason.ZERO),
    ],
)
def test_impossible_coordinates_are_dropped(latitude: float, longitude: float, reason: DropReason) -> None:
    drive = straight(10)
    good = drive[4]
    bad = good._replace(latitude=latitude, longitude=longitude, speed=50.0, odometer=None, ignition=True)
    cleaned = clean([*drive[:4], bad, *drive[5:]], RULES)
    assert cleaned.kept == drive[:4] + drive[5:]
    assert cleaned.dropped == [Dropped(bad, reason)]


@pytest.mark.parametrize(("ahead", "kept"), [(timedelta(hours=23), True), (timedelta(days=1, seconds=1), False)])
def test_fixes_far_ahead_of_their_receipt_are_dropped(ahead: timedelta, kept: bool) -> None:
    drive = straight(10)
    f = drive[5]
    clock_wrong = f._replace(odometer=None, ignition=True, received_at=f.time - ahead)
    track = [*drive[:5], clock_wrong, *drive[6:]]
    cleaned = clean(track, RULES)
    assert (clock_wrong in cleaned.kept) is kept
    assert cleaned.dropped == ([] if kept else [Dropped(clock_wrong, DropReason.FUTURE)])


def test_same_fix_time_is_a_duplicate_and_the_first_received_stays() -> None:
    drive = straight(10)
    live = drive[3]
    resend = fix(30, 3 * 50 / 3.6 * 10 + 4, speed=50.0, received_after=600)  # blind-zone copy, 4 m off
    cleaned = clean([*drive, resend], RULES)
    assert cleaned.kept == drive
    assert cleaned.dropped == [Dropped(resend, DropReason.DUPLICATE)]
    assert live in cleaned.kept


def test_a_parked_vehicle_repeating_its_position_is_not_duplicated_away() -> None:
    parked = [fix(30 * i, 0.0, ignition=False) for i in range(20)]
    assert clean(parked, RULES).kept == parked


@settings(max_examples=50, deadline=None)
@given(st.permutations(range(24)))
def test_out_of_order_input_gives_the_sorted_result(order: list[int]) -> None:
    drive = straight(20)
    track = [
        spike(drive[0]),
        *drive[1:9],
        spike(drive[9]),
        *drive[10:],
        fix(50, 5 * 50 / 3.6 * 10, speed=50.0, received_after=900),  # a late duplicate
        fix(60, 0.0, east_m=0.0, received_after=-2 * 86400),  # clock two days ahead
        drive[3]._replace(latitude=0.0, longitude=0.0, speed=0.0, heading=0.0, odometer=None),  # no GNSS fix
        drive[12],  # the same report twice
    ]
    expected = clean(track, RULES)
    got = clean([track[i] for i in order], RULES)
    assert got == expected
    assert got.kept == drive[1:9] + drive[10:]
    assert got.reasons() == {
        DropReason.SPEED_JUMP: 2,
        DropReason.DUPLICATE: 2,
        DropReason.FUTURE: 1,
        DropReason.ZERO: 1,
    }


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.floats(1, 120), st.floats(-1, 1), st.floats(-1, 1), st.booleans()), min_size=2, max_size=60)
)
def test_judging_a_track_in_arrays_gives_what_judging_fix_by_fix_gives(
    steps: list[tuple[float, float, float, bool]],
) -> None:
    """In time order a track is judged in arrays at once; reversed, the same fixes go fix by fix. A step may go
    up to twice the speed limit, so some tracks have jumps to drop and take the slow way in both orders."""
    track, t, north, east = [], 0.0, 0.0, 0.0
    for seconds, dn, de, fast in steps:
        reach = RULES.max_speed_kmh / 3.6 * seconds * (2.0 if fast else 0.7)
        t, north, east = t + seconds, north + dn * reach, east + de * reach
        track.append(fix(t, north, east_m=east))
    in_order, reversed_ = clean(track, RULES), clean(track[::-1], RULES)
    assert in_order.kept == reversed_.kept
    assert in_order.dropped == reversed_.dropped
    assert in_order.distance_m == pytest.approx(reversed_.distance_m, rel=1e-9, abs=1e-6)
    assert in_order.distance_m == pytest.approx(path_m(in_order.kept), rel=1e-9, abs=1e-6)
    # A track read as arrays (what GET /vehicles/{id}/track judges) keeps the same fixes for the same reasons.
    for read in (track, track[::-1]):
        as_columns = clean_columns(Columns.of(VEHICLE, read), RULES)
        assert as_columns.kept.fixes() == in_order.kept
        assert as_columns.reasons == in_order.reasons()
        assert as_columns.distance_m == pytest.approx(in_order.distance_m, rel=1e-9, abs=1e-6)


def drive_park_drive(park_seconds: float) -> list[Position]:
    """2 km north at 36 km/h, parked `park_seconds` with the terminal reporting every 30 s, 2 km on."""
    there = [fix(10 * i, 100 * i, speed=36.0) for i in range(21)]  # arrives at 200 s, 2000 m
    stay = [fix(200 + t, 2000 + (-1) ** (t // 30) * 8, ignition=False) for t in range(30, int(park_seconds), 30)]
    leave = 200 + park_seconds
    on = [fix(leave + 10 * i, 2000 + 100 * i, speed=36.0) for i in range(21)]
    return there + stay + on


def test_a_parked_period_is_one_stop_from_arrival_to_departure() -> None:
    stays = stops(drive_park_drive(600), RULES)
    assert len(stays) == 1
    stop = stays[0]
    assert (stop.start, stop.end) == (T0 + timedelta(seconds=200), T0 + timedelta(seconds=800))
    assert distance_m(stop.latitude, stop.longitude, *_at(2000)) < 10


def test_a_traffic_light_is_not_a_stop() -> None:
    assert stops(drive_park_drive(120), RULES) == []


def test_a_stay_with_the_terminal_asleep_is_a_stop() -> None:
    evening = [fix(0, 0.0, ignition=False), fix(14 * 3600, 5.0, ignition=False)]  # one report at dusk, one at dawn
    assert stops(evening, RULES) == [Stop(T0, T0 + timedelta(hours=14), *_at(2.5))]


def _at(north_m: float) -> tuple[float, float]:
    f = fix(0, north_m)
    return f.latitude, f.longitude


def test_simplify_reduces_a_straight_line_to_its_ends() -> None:
    drive = straight(100)
    assert simplify(drive, 5.0) == [drive[0], drive[-1]]


def test_simplify_keeps_the_corner_of_an_l_shaped_track() -> None:
    north = [fix(10 * i, 100 * i, speed=36.0) for i in range(11)]
    east = [fix(100 + 10 * i, 1000, east_m=100 * i, speed=36.0) for i in range(1, 11)]
    track = north + east
    assert simplify(track, 5.0) == [track[0], track[10], track[-1]]


def test_simplify_keeps_the_far_end_of_a_drive_that_turns_back() -> None:
    # Every fix lies on the line through the ends: only the distance to the segment sees the turn.
    out = [fix(10 * i, 100 * i, speed=36.0) for i in range(11)]
    back = [fix(100 + 10 * i, 1000 - 100 * i, speed=36.0) for i in range(1, 6)]
    track = out + back
    assert simplify(track, 5.0) == [track[0], track[10], track[-1]]


def test_simplify_keeps_where_a_stop_begins_and_ends() -> None:
    track = drive_park_drive(600)
    stays = stops(track, RULES)
    kept = simplify(track, 20.0, stays)
    assert kept[0] == track[0]
    assert kept[-1] == track[-1]
    assert {stays[0].start, stays[0].end} <= {f.time for f in kept}
    assert len(kept) < len(track) / 4


def spiral(count: int, turns: int) -> list[Position]:
    """A track winding inward: each turn nests the next, the deep case for a recursive RDP (depth ~4 per turn)."""
    track = []
    for i in range(count):
        angle = 2 * math.pi * turns * i / count
        radius = 20_000 * (1 - i / count) + 50
        track.append(fix(i, radius * math.cos(angle), east_m=radius * math.sin(angle), speed=40.0))
    return track


def test_simplify_100k_points_without_recursion_and_within_tolerance() -> None:
    track = spiral(100_000, 10)
    tolerance = 5.0
    limit = sys.getrecursionlimit()
    # A recursive RDP would go 40 calls deep on this spiral; the iterative one needs a handful of frames.
    sys.setrecursionlimit(len(inspect.stack(0)) + 25)
    try:
        kept = simplify(track, tolerance)
    finally:
        sys.setrecursionlimit(limit)

    assert kept[0] == track[0]
    assert kept[-1] == track[-1]
    assert len(kept) < len(track) / 20
    # Every dropped fix lies within the tolerance of the simplified line between its kept neighbours.
    index = {f.time: i for i, f in enumerate(track)}
    for a, b in itertools.pairwise(kept):
        for f in track[index[a.time] + 1 : index[b.time]]:
            assert _from_segment_m(f, a, b) <= tolerance * 1.001


def _from_segment_m(p: Position, a: Position, b: Position) -> float:
    def metres(f: Position) -> tuple[float, float]:
        k = math.radians(1) * EARTH_RADIUS_M
        return (f.longitude - p.longitude) * k * math.cos(math.radians(p.latitude)), (f.latitude - p.latitude) * k

    (ax, ay), (bx, by) = metres(a), metres(b)
    dx, dy = bx - ax, by - ay
    t = max(0.0, min(1.0, -(ax * dx + ay * dy) / (dx * dx + dy * dy)))
    return math.hypot(ax + t * dx, ay + t * dy)
