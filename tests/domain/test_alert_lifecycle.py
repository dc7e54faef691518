"""An alert's state, and which later fix ends its cause."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.alert_lifecycle import ALERT_STATES, Newest, cause_ended, state_of
from domain.supervision import Area

SQUARE = {
    "type": "Polygon",
    "coordinates": [[[117.1, 29.2], [117.3, 29.2], [117.3, 29.4], [117.1, 29.4], [117.1, 29.2]]],
}
THEN = datetime(2026, 3, 3, 2, tzinfo=UTC)
LATER = THEN + timedelta(minutes=3)
AREAS = [Area.from_geojson(1, "permitted", "org-a", SQUARE), Area.from_geojson(2, "parking", None, SQUARE)]


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
    assert cause_ended(kind, THEN, organisation, newest, AREAS, 120.0) == expected
    assert cause_ended(kind, THEN, organisation, None, AREAS, 120.0) is None
