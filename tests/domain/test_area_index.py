"""The area index answers what the plain judgement answers: on random areas (every shape, kind, unit, hours and
calendar, tiny and province-wide), random points (on box edges and outside every area too) and random moments, and
on random drives judged by the supervision rules through either."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.area_index import AreaIndex
from domain.calendar import WorkCalendar
from domain.position import Position
from domain.supervision import Area, Rules, Watch, areas_at

SHANGHAI = ZoneInfo("Asia/Shanghai")
MONDAY = datetime(2026, 3, 2, tzinfo=SHANGHAI)
LON0, LAT0 = 117.2, 29.3
UNITS = ["u1", "u2", "u3"]
METRE = 1 / 111_195  # degrees of latitude


def ring(lon: float, lat: float, radius_m: float, sides: int, turn: float = 0.0) -> list[list[float]]:
    points = [
        [lon + radius_m * METRE / math.cos(math.radians(lat)) * math.cos(turn + 2 * math.pi * k / sides),
         lat + radius_m * METRE * math.sin(turn + 2 * math.pi * k / sides)]
        for k in range(sides)
    ]  # fmt: skip
    return [*points, points[0]]


@st.composite
def areas(draw: st.DrawFn) -> list[Area]:
    """Up to 40 areas around one place: circles, corridors, polygons with holes and multipolygons, from car parks of
    tens of metres to districts of 50 km."""
    out: list[Area] = []
    for i in range(draw(st.integers(0, 40))):
        lon = LON0 + draw(st.floats(-0.2, 0.2))
        lat = LAT0 + draw(st.floats(-0.2, 0.2))
        size = draw(st.sampled_from([20.0, 60.0, 300.0, 2000.0, 50_000.0]))
        shape = draw(st.sampled_from(["circle", "corridor", "polygon", "holed", "multi"]))
        options: dict[str, Any] = {
            "speed_limit_kmh": draw(st.sampled_from([None, 30.0, 30.0, 60.0, 200.0])),
            "calendar_id": draw(st.sampled_from([None, 1, 2, 99])),  # 99: no such calendar, the default's hours
            "hours": draw(st.sampled_from(["always", "working", "off_hours"])),
        }
        geometry: dict[str, Any]
        if shape == "circle":
            geometry = {"type": "Point", "coordinates": [lon, lat]}
            options["radius_m"] = size
        elif shape == "corridor":
            heading = draw(st.floats(0, 2 * math.pi))
            step = size * METRE
            line = [[lon + k * step * math.cos(heading), lat + k * step * math.sin(heading)] for k in range(4)]
            geometry = {"type": "LineString", "coordinates": line}
            options["width_m"] = size / 4
        elif shape == "polygon":
            geometry = {"type": "Polygon", "coordinates": [ring(lon, lat, size, draw(st.integers(3, 9)))]}
        elif shape == "holed":
            geometry = {"type": "Polygon", "coordinates": [ring(lon, lat, size, 8), ring(lon, lat, size / 3, 5, 0.3)]}
        else:
            other = ring(lon + size * METRE * 2, lat, size / 2, 6)
            geometry = {"type": "MultiPolygon", "coordinates": [[ring(lon, lat, size, 7)], [other]]}
        kind = draw(st.sampled_from(["permitted", "parking", "forbidden"]))
        unit = draw(st.sampled_from([None, *UNITS]))
        out.append(Area.from_geojson(i + 1, kind, unit, geometry, **options))
    return out


@st.composite
def rules(draw: st.DrawFn) -> Rules:
    """A default calendar and two named ones, of random hours (some over midnight), weeks and dated days."""

    def calendar() -> WorkCalendar:
        start, end = draw(st.sampled_from([(time(8), time(18)), (time(22), time(6)), (time(0), time(0))]))
        days = draw(st.sets(st.integers(0, 6)))
        holidays = draw(st.sets(st.sampled_from([date(2026, 3, d) for d in range(2, 9)])))
        return WorkCalendar(workdays=frozenset(days), holidays=frozenset(holidays), start=start, end=end)

    return Rules(zone=SHANGHAI, calendar=calendar(), calendars={1: calendar(), 2: calendar()})


def points(found: list[Area]) -> st.SearchStrategy[tuple[float, float]]:
    """Anywhere around, and the corners and centres of the areas' boxes (a point on a box's edge is in the box)."""
    anywhere = st.tuples(st.floats(LON0 - 0.6, LON0 + 0.6), st.floats(LAT0 - 0.6, LAT0 + 0.6))
    if not found:
        return anywhere

    def on(a: Area) -> st.SearchStrategy[tuple[float, float]]:
        west, south, east, north = a.bbox
        return st.sampled_from([(west, south), (east, north), (west, north), ((west + east) / 2, (south + north) / 2)])

    return st.one_of(anywhere, st.sampled_from(found).flatmap(on))


moments = st.integers(0, 7 * 24 * 60).map(lambda minute: (MONDAY + timedelta(minutes=minute)).astimezone(UTC))


@settings(max_examples=120, deadline=None)
@given(st.data(), areas(), rules())
def test_the_index_gives_what_the_plain_judgement_gives(data: st.DataObject, found: list[Area], ruled: Rules) -> None:
    index = AreaIndex(found)
    for _ in range(10):
        longitude, latitude = data.draw(points(found))
        moment = data.draw(moments)
        for unit in [*UNITS, "u-none-of-its-own"]:
            mine = [a for a in found if a.organisation_id in (None, unit)]
            plain = areas_at(mine, longitude, latitude, moment, ruled)
            assert index.at(unit, longitude, latitude, moment, ruled) == plain


def test_a_province_wide_area_among_car_parks_is_found_everywhere_in_it() -> None:
    """Tiny areas make tiny cells; an area of hundreds of cells a side is tried at every fix instead of listed."""
    parks = [
        Area.from_geojson(n, "parking", None, {"type": "Polygon", "coordinates": [ring(LON0 + n * 0.01, LAT0, 20, 4)]})
        for n in range(1, 30)
    ]
    province = Area.from_geojson(
        99, "forbidden", "u1", {"type": "Polygon", "coordinates": [ring(LON0, LAT0, 200_000, 6)]}
    )
    ruled = Rules(zone=SHANGHAI)
    index = AreaIndex([*parks, province])
    for longitude, latitude in [(LON0, LAT0), (LON0 + 0.8, LAT0 + 0.5), (LON0 - 0.9, LAT0 - 0.6), (LON0 + 0.01, LAT0)]:
        plain = areas_at([*parks, province], longitude, latitude, MONDAY, ruled)
        assert province in plain.containing
        assert index.at("u1", longitude, latitude, MONDAY, ruled) == plain
    assert index.at("u2", LON0 + 0.8, LAT0 + 0.5, MONDAY, ruled).containing == ()


def test_no_area_at_all() -> None:
    ruled = Rules(zone=SHANGHAI)
    assert AreaIndex([]).at("u1", LON0, LAT0, MONDAY, ruled) == areas_at([], LON0, LAT0, MONDAY, ruled)


@st.composite
def drives(draw: st.DrawFn) -> list[Position]:
    """One vehicle's fixes a minute apart, wandering through the areas with its ignition and speed changing; now
    and then a late resend (older than the newest)."""
    out: list[Position] = []
    lon, lat = LON0 + draw(st.floats(-0.1, 0.1)), LAT0 + draw(st.floats(-0.1, 0.1))
    start = draw(moments)
    for n in range(draw(st.integers(1, 30))):
        lon += draw(st.floats(-0.01, 0.01))
        lat += draw(st.floats(-0.01, 0.01))
        late = draw(st.integers(0, 9)) == 0
        at = start + timedelta(minutes=n - (5 if late else 0))
        speed = draw(st.sampled_from([None, 0.0, 25.0, 45.0, 90.0, 150.0]))
        ignition = draw(st.sampled_from([None, True, False]))
        out.append(Position("v1", at, at, lat, lon, speed, 0.0, ignition))
    return out


@settings(max_examples=200, deadline=None)
@given(areas(), rules(), drives(), st.sampled_from(UNITS), st.booleans())
def test_drives_judged_through_the_index_raise_what_the_plain_rules_raise(
    found: list[Area], ruled: Rules, fixes: list[Position], unit: str, dispatched: bool
) -> None:
    index = AreaIndex(found)
    mine = [a for a in found if a.organisation_id in (None, unit)]
    plain, indexed = Watch(), Watch()
    for fix in fixes:
        expected = plain.judge(fix, dispatched=dispatched, areas=mine, rules=ruled)
        here = index.at(unit, fix.longitude, fix.latitude, fix.time, ruled)
        assert indexed.judge_at(fix, dispatched=dispatched, here=here, rules=ruled) == expected
        assert indexed.state() == plain.state()
