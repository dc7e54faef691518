"""Vehicles: inside the city, moving as their reports say, parked and charged, blind zones sent late."""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from datetime import datetime, timedelta, timezone

import pytest

from domain.geo import distance_m
from domain.position import Position
from simulators.city import City, build_city
from simulators.faults import Faults
from simulators.feeds import VehicleFeed
from simulators.vehicles import Fleet, Upload
from tests.support.simulators import SEED, items

CST = timezone(timedelta(hours=8))
MONDAY = datetime(2025, 3, 10, tzinfo=CST).timestamp()  # no holiday that week


def distance(a: Position, b: Position) -> float:
    """Great-circle metres, independent of the simulator's flat projection."""
    return distance_m(a.latitude, a.longitude, b.latitude, b.longitude)


def bearing(a: Position, b: Position) -> float:
    """The great circle's initial bearing from a towards b, in [0, 360): independent of the simulator's flat
    projection."""
    p1, p2 = math.radians(a.latitude), math.radians(b.latitude)
    dl = math.radians(b.longitude - a.longitude)
    y = math.sin(dl) * math.cos(p2)
    x = math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl)
    return math.degrees(math.atan2(y, x)) % 360


def seconds(a: Position, b: Position) -> float:
    return (b.time - a.time).total_seconds()


def run(city: City, start: float, hours: float, step: float = 3600.0, seed: int = SEED) -> list[Upload]:
    fleet = Fleet(city, seed, start)
    out: list[Upload] = []
    t = start
    while t < start + hours * 3600:
        t = min(t + step, start + hours * 3600)
        out += fleet.step(t)
    return out


def tracks(uploads: list[Upload]) -> dict[int, list[Position]]:
    """Each vehicle's fixes in time order, blind ones included."""
    by: dict[int, list[Position]] = defaultdict(list)
    for upload in uploads:
        by[upload.vehicle] += upload.fixes
    return {v: sorted(fixes) for v, fixes in by.items()}


@pytest.fixture(scope="module")
def week() -> tuple[City, dict[int, list[Position]]]:
    city = build_city(SEED, 30, 60)
    return city, tracks(run(city, MONDAY, 7 * 24))


def moving_pairs(track: list[Position]) -> list[tuple[Position, Position]]:
    return [(a, b) for a, b in itertools.pairwise(track) if seconds(a, b) == 10 and a.ignition and b.ignition]


def test_vehicles_stay_inside_the_city(week: tuple[City, dict[int, list[Position]]]) -> None:
    city, by = week
    south, west, north, east = city.bounds
    fixes = [f for track in by.values() for f in track]
    assert len(fixes) > 50000
    assert all(south < f.latitude < north and west < f.longitude < east for f in fixes)
    assert len({(round(f.latitude, 3), round(f.longitude, 3)) for f in fixes}) > 500, "they go places"


def test_heading_points_where_the_vehicle_goes(week: tuple[City, dict[int, list[Position]]]) -> None:
    _, by = week
    errors = [
        abs((b.heading - bearing(a, b) + 180) % 360 - 180)
        for track in by.values()
        for a, b in moving_pairs(track)
        if a.speed > 15 and b.speed > 15 and distance(a, b) > 40
    ]
    assert len(errors) > 2000
    assert all(0 <= e <= 180 for e in errors)
    assert sum(e <= 20 for e in errors) / len(errors) > 0.9
    assert sorted(errors)[len(errors) // 2] < 3


def test_reported_speed_matches_the_movement(week: tuple[City, dict[int, list[Position]]]) -> None:
    _, by = week
    pairs = [(a, b, distance(a, b) / 10 * 3.6) for track in by.values() for a, b in moving_pairs(track)]
    assert len(pairs) > 2000
    # Cruising (both ends at about the same speed), the distance covered says the same speed.
    steady = [(a, b, implied) for a, b, implied in pairs if a.speed > 15 and abs(a.speed - b.speed) < 3]
    assert len(steady) > 1000
    close = sum(abs(implied - (a.speed + b.speed) / 2) <= max(3.0, 0.1 * a.speed) for a, b, implied in steady)
    assert close / len(steady) > 0.95
    # Whatever it does in between, it never covers more ground than its speeds allow.
    assert all(implied <= max(a.speed, b.speed) + 6 for a, b, implied in pairs)
    speeds = [f.speed for track in by.values() for f in track if f.speed > 0]
    assert max(speeds) <= 62
    assert sorted(speeds)[len(speeds) // 2] > 25, "most of the time they move at city speeds"


def test_vehicles_stop_at_lights_with_the_engine_running(week: tuple[City, dict[int, list[Position]]]) -> None:
    _, by = week
    standing = [
        b for track in by.values() for a, b, c in zip(track, track[1:], track[2:], strict=False)
        if a.speed > 10 and b.speed == 0 and b.ignition and c.speed > 0
    ]  # fmt: skip
    assert len(standing) > 100


def test_the_odometer_grows_by_the_distance_driven(week: tuple[City, dict[int, list[Position]]]) -> None:
    _, by = week
    checked = 0
    for track in by.values():
        assert all(b.odometer >= a.odometer for a, b in itertools.pairwise(track))
        driven = sum(distance(a, b) for a, b in moving_pairs(track)) / 1000
        grown = track[-1].odometer - track[0].odometer
        if driven > 20:
            checked += 1
            assert 0.92 < grown / driven < 1.12, (grown, driven)
    assert checked > 20


def test_parked_vehicles_report_every_five_minutes_with_the_ignition_off(
    week: tuple[City, dict[int, list[Position]]],
) -> None:
    _, by = week
    gaps = [
        seconds(a, b) for track in by.values() for a, b in itertools.pairwise(track)
        if not a.ignition and not b.ignition
    ]  # fmt: skip
    assert gaps
    assert all(g <= 300 for g in gaps)
    assert sum(g == 300 for g in gaps) / len(gaps) > 0.95
    for track in by.values():
        for f in track:
            assert f.status & 1 == f.ignition, "status bit 0 is ACC"
            assert f.status & 2, "status bit 1 is a valid fix"
            assert f.alarm == 0
            assert 0 <= f.heading < 360
            assert 3 <= f.satellites <= 25
            assert 0 < f.accuracy < 20
            if not f.ignition:
                assert f.speed == 0


def test_batteries_drain_on_the_road_and_charge_at_home(week: tuple[City, dict[int, list[Position]]]) -> None:
    city, by = week
    drained = charged = 0
    for index, track in by.items():
        vehicle = city.vehicles[index]
        if vehicle.energy in ("battery_electric", "plug_in_hybrid"):
            assert all(f.soc is not None and 0 <= f.soc <= 100 for f in track)
        else:
            assert all(f.soc is None for f in track)
        if vehicle.energy == "battery_electric":
            assert all(f.fuel is None for f in track)
        else:
            assert all(f.fuel is not None and f.fuel >= 0 for f in track)
        for a, b in itertools.pairwise(track):
            if vehicle.energy == "battery_electric" and a.soc is not None and b.soc is not None:
                if a.ignition and b.ignition and b.odometer > a.odometer + 0.2:
                    drained += b.soc < a.soc
                    assert b.soc <= a.soc
                if not a.ignition and not b.ignition and b.soc > a.soc:
                    charged += 1
            if vehicle.energy == "gasoline" and a.fuel is not None and b.fuel is not None and a.ignition and b.ignition:
                assert b.fuel <= a.fuel
    assert drained > 50
    assert charged > 50


def test_driving_is_mostly_in_working_hours_but_not_only(week: tuple[City, dict[int, list[Position]]]) -> None:
    _, by = week
    moving = [f for track in by.values() for f in track if f.speed > 0]
    local = [f.time.astimezone(CST) for f in moving]
    working = sum(t.weekday() < 5 and 8 <= t.hour < 19 for t in local)
    assert working / len(local) > 0.85
    assert working < len(local), "now and then a trip outside working hours"
    weekday = sum(t.weekday() < 5 for t in local) / 5
    weekend = sum(t.weekday() >= 5 for t in local) / 2
    assert weekend < weekday / 4


def test_the_map_is_never_still_some_vehicles_are_on_call_every_evening_and_night(
    week: tuple[City, dict[int, list[Position]]],
) -> None:
    # A dispatcher looking on a Sunday evening sees vehicles on duty (值班) driving, as in a real city.
    _, by = week
    evenings = {
        (t.date(), t.hour >= 18)
        for track in by.values()
        for f in track
        if f.speed > 0 and ((t := f.time.astimezone(CST)).hour >= 18 or t.hour < 6)
    }
    days = {datetime.fromtimestamp(MONDAY, CST).date() + timedelta(days=n) for n in range(7)}
    assert {day for day, evening in evenings if evening} == days, "every evening, Saturday's and Sunday's too"
    assert len({day for day, evening in evenings if not evening}) >= 5, "most nights before 06:00"


def test_blind_zone_fixes_arrive_late_as_arrays_marked_blind(city: City) -> None:
    feed = VehicleFeed(city, seed=SEED, root="sim", faults=Faults(), interval=10, start=MONDAY)
    blind = 0
    t = MONDAY
    while t < MONDAY + 86400:
        t += 10
        for message in feed.step(t):
            body = items(message)
            if message.payload.startswith(b"["):
                blind += len(body)
                assert all(item["blind"] is True for item in body)
                assert max(_seconds(item["time"]) for item in body) < t - 10, "buffered, sent once back in coverage"
            else:
                assert "blind" not in body[0]
                assert _seconds(body[0]["time"]) > t - 10, "live fixes go out as they are taken"
    assert blind > 0
    assert blind == feed.injected.counts["blind_positions"]


def _seconds(value: object) -> float:
    if isinstance(value, int):
        return value / 1000
    return datetime.fromisoformat(str(value)).timestamp()


def test_the_same_seed_drives_the_same_way(city: City) -> None:
    def uploads(step: float, seed: int = SEED) -> list[Upload]:
        return sorted(run(city, MONDAY + 8 * 3600, 3, step=step, seed=seed), key=lambda u: (u.vehicle, u.fixes[0]))

    a = uploads(10)
    assert len(a) > 1000
    assert a == uploads(10)
    assert a == uploads(600), "how often the fleet is stepped does not matter"
    assert a != uploads(10, seed=SEED + 1)


def test_where_a_vehicle_drives_does_not_depend_on_when_the_run_started(city: City) -> None:
    early, late = tracks(run(city, MONDAY, 14)), tracks(run(city, MONDAY + 10 * 3600, 4))

    def driving(by: dict[int, list[Position]]) -> set[tuple[int, Position]]:
        after = datetime.fromtimestamp(MONDAY + 11 * 3600, CST)
        return {(v, f) for v, track in by.items() for f in track if f.ignition and f.time > after}

    assert driving(late)
    assert driving(late) == driving(early)
