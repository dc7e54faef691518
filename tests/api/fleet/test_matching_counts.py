"""The matching report's trip counts (a pure unit test: vehicles matched, then counted; no database). A trip is a
vehicle's: the unit's and the city's lines count two vehicles' trips begun in the same second as two."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from api.fleet.matching import Matched, VehicleMatched, report_of
from domain.matching import Matching, Part, Point
from yiwang.settings import Settings

START = datetime(2025, 3, 2, 16, tzinfo=UTC)  # local midnight in Shanghai
TRIP = START + timedelta(hours=10)


def vehicle(vehicle_id: str) -> VehicleMatched:
    """A vehicle of unit A with one trip begun at TRIP: 5 km with no request, then 3 km outside a request's window."""
    here, there = Point(29.3, 117.2), Point(29.35, 117.2)
    parts = [
        Part(TRIP, TRIP, TRIP + timedelta(minutes=10), here, there, 5.0, None, True),
        Part(TRIP, TRIP + timedelta(minutes=10), TRIP + timedelta(minutes=20), there, here, 3.0, 7, False),
    ]
    row = {"id": vehicle_id, "plate": f"皖J{vehicle_id}", "organisation_id": "A", "organisation_name": "单位甲"}
    return VehicleMatched(row, Matching(parts, [], []), {})


def test_two_vehicles_trips_begun_in_the_same_second_count_as_two() -> None:
    matched = Matched(START, START + timedelta(days=1), [vehicle("v1"), vehicle("v2")])

    report = report_of(matched, Settings())

    assert [(v.undispatched_trips, v.out_of_window_trips) for v in report.vehicles] == [(1, 1), (1, 1)]
    [unit] = report.units
    assert (unit.undispatched_trips, unit.out_of_window_trips) == (2, 2)
    assert (report.total.undispatched_trips, report.total.out_of_window_trips) == (2, 2)
    assert report.total.undispatched_km == 10.0
