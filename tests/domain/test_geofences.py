"""Geofences: circles and corridors as geometry (domain/geo.py), forbidden areas, speed limits and hours per area
(domain/supervision.py), on hand-made fixes."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from domain.calendar import WorkCalendar
from domain.geo import EARTH_RADIUS_M, distance_m, distance_to_line_m, in_circle, in_corridor
from domain.geofences import visits
from domain.position import Position
from domain.supervision import Area, Rules, Watch

SHANGHAI = ZoneInfo("Asia/Shanghai")
TUESDAY = datetime(2026, 3, 3, tzinfo=SHANGHAI)
RULES = Rules(zone=SHANGHAI)
LAT, LON = 29.3, 117.2
M_PER_DEG_LAT = EARTH_RADIUS_M * 3.141592653589793 / 180


def north(metres: float) -> float:
    return LAT + metres / M_PER_DEG_LAT


def test_a_circle_holds_its_edge_and_not_a_metre_beyond() -> None:
    centre = (LON, LAT)
    assert in_circle(centre, 500.0, LON, north(499.9))
    edge = north(500.0)
    assert abs(distance_m(LAT, LON, edge, LON) - 500.0) < 1e-6
    assert in_circle(centre, 500.0, LON, edge - 1e-12)
    assert not in_circle(centre, 500.0, LON, north(501.0))


def test_a_corridor_is_its_width_across_a_straight_stretch_and_at_a_bend() -> None:
    # A route east 2 km, then a right-angle bend north 2 km; 100 m wide: 50 m either side.
    east_2km = LON + 2000 / (M_PER_DEG_LAT * 0.8724960070727972)  # cos(29.3°)
    line = [(LON, LAT), (east_2km, LAT), (east_2km, north(2000))]
    # Halfway along the first leg: 49 m off is in, 51 m off is out.
    middle = LON + 1000 / (M_PER_DEG_LAT * 0.8724960070727972)
    assert in_corridor(line, 100.0, middle, north(49.0))
    assert not in_corridor(line, 100.0, middle, north(51.0))
    assert abs(distance_to_line_m(line, middle, north(30.0)) - 30.0) < 0.01
    # At the bend's outer corner, diagonally out: the corner rounds (a buffer), 45 m off the vertex is in, and a
    # point 40 m beyond the corner east and 40 m south (56.6 m from the vertex) is out, though within 50 m of each
    # leg's line extended.
    east_40 = east_2km + 40 / (M_PER_DEG_LAT * 0.8724960070727972)
    assert not in_corridor(line, 100.0, east_40, north(-40.0))
    east_30 = east_2km + 30 / (M_PER_DEG_LAT * 0.8724960070727972)
    assert in_corridor(line, 100.0, east_30, north(-30.0))  # 42.4 m from the vertex
    # On the inside of the bend, 45 m off both legs: in.
    inside = east_2km - 45 / (M_PER_DEG_LAT * 0.8724960070727972)
    assert in_corridor(line, 100.0, inside, north(45.0))
    # Past the route's far end the corridor ends in a half circle too.
    assert in_corridor(line, 100.0, east_2km, north(2049.0))
    assert not in_corridor(line, 100.0, east_2km, north(2051.0))


def fix(at: datetime, *, lat: float = LAT, lon: float = LON, speed: float = 40.0) -> Position:
    return Position("v1", at, at, lat, lon, speed, 0.0, True)


SCHOOL = Area.from_geojson(7, "forbidden", None, {"type": "Point", "coordinates": [LON, LAT]}, radius_m=300.0)


def test_entering_a_forbidden_circle_raises_area_entry_once_per_entry() -> None:
    watch = Watch()
    at = TUESDAY + timedelta(hours=10)
    kinds = []
    for minute, metres in enumerate([1000, 600, 200, 50, 250, 800, 100]):
        f = fix(at + timedelta(minutes=minute), lat=north(metres))
        kinds += [(a.kind, a.level) for a in watch.judge(f, dispatched=True, areas=[SCHOOL], rules=RULES)]
    assert kinds == [("area_entry", "red"), ("area_entry", "red")]  # in at 200 m, out at 800 m, in again at 100 m


def test_a_forbidden_zone_after_hours_applies_only_outside_working_time() -> None:
    after_hours = Area.from_geojson(
        8, "forbidden", None, {"type": "Point", "coordinates": [LON, LAT]}, radius_m=300.0, hours="off_hours"
    )
    watch = Watch()
    morning = TUESDAY + timedelta(hours=10)
    assert watch.judge(fix(morning), dispatched=True, areas=[after_hours], rules=RULES) == []
    # Still inside at 18:00, when the zone starts to apply: that is an entry.
    evening = TUESDAY + timedelta(hours=18, minutes=1)
    alerts = watch.judge(fix(evening), dispatched=True, areas=[after_hours], rules=RULES)
    assert [a.kind for a in alerts] == ["area_entry"]
    # A calendar of its own: working 07:00-22:00, so 19:00 is inside its hours and the zone does not apply.
    late = Rules(zone=SHANGHAI, calendars={3: WorkCalendar(start=time(7), end=time(22))})
    own = Area.from_geojson(
        9, "forbidden", None, {"type": "Point", "coordinates": [LON, LAT]}, radius_m=300.0, calendar_id=3,
        hours="off_hours",
    )  # fmt: skip
    assert Watch().judge(fix(TUESDAY + timedelta(hours=19)), dispatched=True, areas=[own], rules=late) == []
    assert Watch().judge(fix(TUESDAY + timedelta(hours=23)), dispatched=True, areas=[own], rules=late) != []


def test_speeding_is_judged_against_the_area_limit_inside_and_the_global_one_elsewhere() -> None:
    campus = Area.from_geojson(
        10, "permitted", None, {"type": "Point", "coordinates": [LON, LAT]}, radius_m=1000.0, speed_limit_kmh=30.0
    )
    at = TUESDAY + timedelta(hours=10)
    inside = Watch().judge(fix(at, speed=45), dispatched=True, areas=[campus], rules=RULES)
    assert [(a.kind, a.level, a.detail) for a in inside] == [("speeding", "yellow", "45 km/h, limit 30 in area 10")]
    red = Watch().judge(fix(at, speed=55), dispatched=True, areas=[campus], rules=RULES)
    assert [a.level for a in red] == ["red"]
    outside = Watch().judge(fix(at, lat=north(5000), speed=100), dispatched=True, areas=[campus], rules=RULES)
    assert outside == []  # under the global 120


def test_a_corridor_permitted_area_raises_area_exit_on_leaving_the_route() -> None:
    route = Area.from_geojson(
        11, "permitted", None, {"type": "LineString", "coordinates": [[LON, LAT], [LON, north(5000)]]}, width_m=200.0
    )
    watch = Watch()
    at = TUESDAY + timedelta(hours=10)
    on = watch.judge(fix(at, lat=north(1000)), dispatched=True, areas=[route], rules=RULES)
    off_lon = LON + 150 / (M_PER_DEG_LAT * 0.8724960070727972)
    off = watch.judge(fix(at + timedelta(minutes=1), lat=north(1500), lon=off_lon), dispatched=True, areas=[route],
                      rules=RULES)  # fmt: skip
    assert on == []
    assert [a.kind for a in off] == ["area_exit"]


def test_visits_count_entries_exits_and_time_inside_and_nothing_across_a_silence() -> None:
    # Fixes a minute apart along a line through the school's circle (300 m): out, in, in, out, in (then silent two
    # hours), in, out.
    metres = [1000, 200, 100, 600, 0, None, 50, 900]
    at = TUESDAY + timedelta(hours=10)
    times, points = [], []
    for i, m in enumerate(metres):
        if m is None:
            at += timedelta(hours=2)
            continue
        times.append(at + timedelta(minutes=i))
        points.append((north(m), LON))
    seen = visits(times, points, SCHOOL, RULES, max_gap_seconds=3600)
    assert (seen.entries, seen.exits, seen.inside_at_start, seen.fixes_inside) == (2, 2, False, 4)
    # In from minute 1 to 3 (two minutes), then in at minute 4 but silent past the gap, then in from 6 to 7.
    assert seen.seconds_inside == 3 * 60
    started_inside = visits(times[1:], points[1:], SCHOOL, RULES, max_gap_seconds=3600)
    assert (started_inside.entries, started_inside.inside_at_start) == (1, True)


def test_visits_count_only_the_hours_an_area_applies_in() -> None:
    after_hours = Area.from_geojson(
        12, "forbidden", None, {"type": "Point", "coordinates": [LON, LAT]}, radius_m=300.0, hours="off_hours"
    )
    # Parked inside from 17:00 to 19:00, a fix every 30 minutes: inside (as judged) from 18:00 on.
    times = [TUESDAY + timedelta(hours=17, minutes=30 * i) for i in range(5)]
    seen = visits(times, [(LAT, LON)] * 5, after_hours, RULES, max_gap_seconds=3600)
    assert (seen.entries, seen.exits, seen.seconds_inside) == (1, 0, 3600.0)
