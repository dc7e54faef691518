"""domain/matching.py: trips matched to the requests that held their vehicle, on days written as what the vehicle
did along a street due north (tests/support/tracks.py), so that every distance is exact."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import pytest

from domain.geo import EARTH_RADIUS_M
from domain.matching import Hold, MatchingRules, Point, match
from domain.trips import TripRules, trips
from tests.support.tracks import LAT0, LON0, T0, Day

RULES = MatchingRules(road_factor=1.0)


def north(km: float) -> Point:
    return Point(LAT0 + math.degrees(km * 1000 / EARTH_RADIUS_M), LON0)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def hold(dispatched: float, released: float | None = None, **kw: object) -> Hold:
    defaults: dict[str, object] = {"wanted_start": at(0), "wanted_end": at(600), "origin": north(0)}
    return Hold(7, at(dispatched), None if released is None else at(released), **(defaults | kw))  # type: ignore[arg-type]


def test_a_drive_with_no_request_is_undispatched_and_one_inside_its_request_dispatched() -> None:
    # Parked 10 min, 10 km out (10 min at 60 km/h), parked an hour, 10 km back.
    day = Day().park(600).drive(10_000, 60).idle(60).park(3600).drive(-10_000, 60).idle(60).park(600)
    found = trips(day.fixes, TripRules())
    assert len(found) == 2
    # Dispatched after the first drive arrived, returned after the second.
    result = match(found, day.fixes, [hold(30, 200)], RULES)
    assert [(p.kind, round(p.km, 6)) for p in result.parts] == [("undispatched", 10.0), ("dispatched", 10.0)]


def test_a_trip_begun_before_the_dispatch_is_split_at_the_dispatch() -> None:
    # 10 km at 60 km/h from minute 10 (the first moving fix) to minute 20; dispatched at minute 14.
    day = Day(odometer_km=None).park(600).drive(10_000, 60).idle(60).park(600)
    [trip] = trips(day.fixes, TripRules())
    result = match([trip], day.fixes, [hold(14)], RULES)
    assert [p.kind for p in result.parts] == ["undispatched", "dispatched"]
    before, inside = result.parts
    assert before.end == inside.start == at(14)
    assert before.km + inside.km == pytest.approx(trip.distance_km)
    # 4 of its 10 minutes at a steady 60 km/h: 4 km.
    assert before.km == pytest.approx(4.0, abs=0.01)
    assert before.end_point.latitude == pytest.approx(north(4).latitude, abs=1e-6)


def test_fixes_are_judged_at_their_time_not_at_their_arrival() -> None:
    # A blind-zone batch: driven from minute 10 to 20, received an hour later, after the dispatch at minute 30.
    day = Day().park(600).drive(10_000, 60).idle(60).park(600)
    late = [f._replace(received_at=at(90), blind=True) for f in day.fixes]
    result = match(trips(late, TripRules()), late, [hold(30)], RULES)
    assert [(p.kind, round(p.km, 6)) for p in result.parts] == [("undispatched", 10.0)]


def test_driving_after_the_wanted_window_is_out_of_window() -> None:
    day = Day().park(600).drive(10_000, 60).idle(60).park(600)
    # Wanted until minute 5: with 30 minutes of slack the window ends at minute 35, after the drive.
    inside = match(trips(day.fixes, TripRules()), day.fixes, [hold(0, wanted_end=at(5))], RULES)
    assert [p.kind for p in inside.parts] == ["dispatched"]
    # Wanted until minute -16: the window, slack included, ends at minute 14, inside the drive.
    late = match(trips(day.fixes, TripRules()), day.fixes, [hold(-60, wanted_end=at(-16))], RULES)
    assert [p.kind for p in late.parts] == ["dispatched", "out_of_window"]
    assert late.parts[1].start == at(14)
    assert late.parts[1].km == pytest.approx(6.0, abs=0.01)


def detour_day() -> Day:
    """5 km to the destination, there 10 min; 4 km on, 10 min there; 4 km back; 5 km home: 18 km."""
    return (
        Day()
        .park(600).drive(5_000, 60).idle(60).park(600)
        .drive(4_000, 60).idle(60).park(600)
        .drive(-4_000, 60).idle(60)
        .drive(-5_000, 60).idle(60).park(600)
    )  # fmt: skip


def test_a_detour_of_8_km_on_a_10_km_request_is_flagged_with_its_stop_away_from_the_destination() -> None:
    day = detour_day()
    found = trips(day.fixes, TripRules())
    result = match(found, day.fixes, [hold(0, destination=north(5))], RULES)
    [judged] = result.requests
    assert judged.estimate_km == pytest.approx(10.0)
    assert judged.km == pytest.approx(18.0, abs=0.01)
    assert judged.excess_km == pytest.approx(8.0, abs=0.01)
    assert judged.detour
    assert [(s.foreign, round((s.from_destination_m or 0) / 1000, 3)) for s in result.stops] == [
        (False, 0.0),
        (True, 4.0),
    ]
    # Without the detour the same request is no detour: 10 km driven on an estimate of 10.
    straight = Day().park(600).drive(5_000, 60).idle(60).park(600).drive(-5_000, 60).idle(60).park(600)
    plain = match(trips(straight.fixes, TripRules()), straight.fixes, [hold(0, destination=north(5))], RULES)
    assert not plain.requests[0].detour
    assert [s.foreign for s in plain.stops] == [False]


def test_a_request_without_a_destination_has_no_estimate() -> None:
    day = detour_day()
    result = match(trips(day.fixes, TripRules()), day.fixes, [hold(0)], RULES)
    assert result.requests[0].estimate_km is None
    assert not result.requests[0].detour
    assert not any(s.foreign for s in result.stops)


def test_a_small_excess_on_a_short_request_is_no_detour() -> None:
    # 1 km out, 0.75 km on and back (slowly: a trip lasts 3 minutes), 1 km home: 3.5 km on an estimate of 2 (75 %
    # over, but 1.5 km: under detour_min_km).
    day = (
        Day().park(600).drive(1_000, 30).idle(60).park(600).drive(750, 10).idle(60).park(600)
        .drive(-750, 10).idle(60).drive(-1_000, 30).idle(60).park(600)
    )  # fmt: skip
    result = match(trips(day.fixes, TripRules()), day.fixes, [hold(0, destination=north(1))], RULES)
    assert result.requests[0].excess_km == pytest.approx(1.5, abs=0.01)
    assert not result.requests[0].detour


def test_each_trip_goes_to_the_request_holding_the_vehicle_then() -> None:
    # Three 10 km drives of 10 minutes, from about minutes 10, 41 and 72.
    day = Day()
    for _ in range(3):
        day.park(600).drive(10_000, 60).idle(60).park(600)
    first = hold(0, 30)
    second = Hold(8, at(60), None, at(0), at(600), origin=north(0))
    result = match(trips(day.fixes, TripRules()), day.fixes, [second, first], RULES)
    assert [(p.request_id, p.kind, round(p.km, 6)) for p in result.parts] == [
        (7, "dispatched", 10.0),
        (None, "undispatched", 10.0),
        (8, "dispatched", 10.0),
    ]
    assert [(j.request_id, round(j.km, 6)) for j in result.requests] == [(8, 10.0), (7, 10.0)]
