"""An alert's state, and which later fix ends its cause."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain.alert_lifecycle import ALERT_STATES, Newest, cause_ended, state_of
from domain.calendar import WorkCalendar
from domain.supervision import Area, Rules

SQUARE = {
    "type": "Polygon",
    "coordinates": [[[117.1, 29.2], [117.3, 29.2], [117.3, 29.4], [117.1, 29.4], [117.1, 29.2]]],
}
THEN = datetime(2026, 3, 3, 2, tzinfo=UTC)
LATER = THEN + timedelta(minutes=3)
AREAS = [Area.from_geojson(1, "permitted", "org-a", SQUARE), Area.from_geojson(2, "parking", None, SQUARE)]
RULES = Rules(zone=ZoneInfo("Asia/Shanghai"), speed_limit_kmh=120.0)
# THEN is 10:00 on a Tuesday in Shanghai (working hours); NIGHT 22:00 the same day.
NIGHT = datetime(2026, 3, 3, 14, tzinfo=UTC)
SCHOOL = {"type": "Point", "coordinates": [117.2, 29.3]}  # a circle round (29.3, 117.2)


def test_acknowledged_and_cleared_are_independent_and_closed_ends_all() -> None:
    states = {state_of(acknowledged=a, cleared=c, closed=False) for a in (False, True) for c in (False, True)}
    assert states == {"active_unack", "active_ack", "cleared_unack", "cleared_ack"}
    assert state_of(acknowledged=False, cleared=True, closed=True) == "closed"
    assert set(ALERT_STATES) == {*states, "closed"}


@pytest.mark.parametrize(
    ("kind", "organisation", "newest", "expected"),
    [
        ("silent", "org-a", Newest(LATER, 29.3, 117.5, None), f"reported again at {LATER.isoformat()}"),
        ("silent", "org-a", Newest(THEN, 29.3, 117.5, None), None),  # the same fix: no new report
        ("silent", "org-a", Newest(THEN - timedelta(minutes=1), 29.3, 117.5, None), None),  # a late resend
        ("area_exit", "org-a", Newest(LATER, 29.3, 117.2, 30.0), f"inside a permitted area at {LATER.isoformat()}"),
        ("area_exit", "org-a", Newest(LATER, 29.3, 117.5, 30.0), None),  # still outside
        ("area_exit", "org-b", Newest(LATER, 29.3, 117.2, 30.0), None),  # another unit's area is not its own
        ("parking", "org-b", Newest(LATER, 29.3, 117.2, 0.0), f"inside a parking area at {LATER.isoformat()}"),
        ("speeding", "org-a", Newest(LATER, 29.3, 117.5, 120.0), f"at 120 km/h at {LATER.isoformat()}"),
        ("speeding", "org-a", Newest(LATER, 29.3, 117.5, 121.0), None),
        ("speeding", "org-a", Newest(LATER, 29.3, 117.5, None), None),  # no speed reported: nothing known
        ("off_hours", "org-a", Newest(LATER, 29.3, 117.2, 0.0), None),  # an act: closed by people
        ("power_cut", "org-a", Newest(LATER, 29.3, 117.2, 0.0), None),
    ],
)
def test_which_fix_ends_which_cause(kind: str, organisation: str, newest: Newest, expected: str | None) -> None:
    assert cause_ended(kind, THEN, organisation, newest, AREAS, RULES) == expected
    assert cause_ended(kind, THEN, organisation, None, AREAS, RULES) is None


def test_speeding_clears_against_the_limit_of_the_area_the_fix_is_in() -> None:
    # A school zone limited to 30 km/h; 120 elsewhere.
    school = [Area.from_geojson(3, "permitted", "org-a", SCHOOL, radius_m=500.0, speed_limit_kmh=30.0)]
    still_over = Newest(LATER, 29.3, 117.2, 40.0)
    assert cause_ended("speeding", THEN, "org-a", still_over, school, RULES) is None
    slowed = Newest(LATER, 29.3, 117.2, 25.0)
    assert (
        cause_ended("speeding", THEN, "org-a", slowed, school, RULES) == f"at 25 km/h in area 3 at {LATER.isoformat()}"
    )
    # Out of the zone, the global limit.
    away = Newest(LATER, 29.3, 117.5, 40.0)
    assert cause_ended("speeding", THEN, "org-a", away, school, RULES) == f"at 40 km/h at {LATER.isoformat()}"
    # Another unit's zone is not the vehicle's.
    assert cause_ended("speeding", THEN, "org-b", still_over, school, RULES) == f"at 40 km/h at {LATER.isoformat()}"


def test_an_area_limits_speed_only_in_its_calendars_hours() -> None:
    school = [Area.from_geojson(3, "permitted", None, SCHOOL, radius_m=500.0, speed_limit_kmh=30.0, hours="working")]
    at_night = Newest(NIGHT, 29.3, 117.2, 40.0)
    assert cause_ended("speeding", THEN, "org-a", at_night, school, RULES) == f"at 40 km/h at {NIGHT.isoformat()}"
    # A calendar of its own: working until 23:00, so the zone still applies at 22:00.
    late = Rules(zone=RULES.zone, calendars={7: WorkCalendar(start=time(7), end=time(23))})
    own = [Area.from_geojson(3, "permitted", None, SCHOOL, radius_m=500.0, speed_limit_kmh=30.0, calendar_id=7,
                             hours="working")]  # fmt: skip
    assert cause_ended("speeding", THEN, "org-a", at_night, own, late) is None


def test_a_forbidden_area_entry_clears_once_outside_every_forbidden_area_that_applies() -> None:
    zones = [
        Area.from_geojson(4, "forbidden", "org-a", SCHOOL, radius_m=500.0),
        Area.from_geojson(5, "forbidden", None, SQUARE, hours="off_hours"),  # a zone after hours only
    ]
    inside = Newest(LATER, 29.3, 117.2, 10.0)
    assert cause_ended("area_entry", THEN, "org-a", inside, zones, RULES) is None
    # Left the circle but still in the square, which applies only after hours: in hours, it is as if absent.
    in_square = Newest(LATER, 29.35, 117.25, 10.0)
    assert cause_ended("area_entry", THEN, "org-a", in_square, zones, RULES) == (
        f"outside every forbidden area at {LATER.isoformat()}"
    )
    at_night = Newest(NIGHT, 29.35, 117.25, 10.0)
    assert cause_ended("area_entry", THEN, "org-a", at_night, zones, RULES) is None
    # The circle is another unit's: for a vehicle of org-b only the square counts.
    assert cause_ended("area_entry", THEN, "org-b", inside, zones, RULES) == (
        f"outside every forbidden area at {LATER.isoformat()}"
    )
    # Just the resend of the alert's own fix, or no fix: nothing known.
    assert cause_ended("area_entry", THEN, "org-a", Newest(THEN, 29.5, 117.5, 10.0), zones, RULES) is None


def test_a_permitted_area_out_of_its_hours_does_not_clear_an_exit() -> None:
    office = [Area.from_geojson(6, "permitted", "org-a", SQUARE, hours="working")]
    back_by_night = Newest(NIGHT, 29.3, 117.2, 10.0)
    assert cause_ended("area_exit", THEN, "org-a", back_by_night, office, RULES) is None
    back_by_day = Newest(LATER, 29.3, 117.2, 10.0)
    assert cause_ended("area_exit", THEN, "org-a", back_by_day, office, RULES) == (
        f"inside a permitted area at {LATER.isoformat()}"
    )
