"""Which vehicle to send: the candidates fit for a request, ranked by arrival and preference, in minutes."""

from __future__ import annotations

import pytest

from domain.suggestions import Candidate, SuggestRules, rank
from tests.support.tracks import KM_PER_DEGREE_OF_LATITUDE

ORIGIN = (29.30, 117.20)


def north_of_origin(vehicle_id: str, km: float, **facts: object) -> Candidate:
    """A vehicle `km` due north of the origin (great-circle distance along a meridian is exact)."""
    values: dict[str, object] = {
        "vehicle_id": vehicle_id,
        "plate": f"P-{vehicle_id}",
        "organisation_id": "unit",
        "seats": 5,
        "energy": "battery_electric",
        "latitude": ORIGIN[0] + km / KM_PER_DEGREE_OF_LATITUDE,
        "longitude": ORIGIN[1],
        "soc": 80.0,
        "online": True,
        "age_seconds": 10.0,
    }
    return Candidate(**{**values, **facts})  # type: ignore[arg-type]


def test_the_cheapest_in_minutes_comes_first_not_the_nearest() -> None:
    # Two passengers besides the driver; 30 km/h and a detour of 1.3: 2.6 minutes per great-circle km.
    # Preferences: another unit +10, fuel +5, each spare seat +1, a silent terminal +15.
    candidates = [
        north_of_origin("own-ev-2km", 2.0),  # 5.2 + 2 spare seats = 7.2
        north_of_origin("other-ev-0.5km", 0.5, organisation_id="other"),  # 1.3 + 10 + 2 = 13.3
        north_of_origin("own-gasoline-1km", 1.0, energy="gasoline"),  # 2.6 + 5 + 2 = 9.6
        north_of_origin("own-silent-0.1km", 0.1, online=False, age_seconds=1800),  # 0.26 + 15 + 2 = 17.26
        north_of_origin("own-bus-1km", 1.0, seats=30, energy="diesel"),  # 2.6 + 5 + 27 = 34.6
        north_of_origin("too-small", 0.05, seats=3),  # 2 seats besides the driver: not for 3 people... see below
        north_of_origin("flat-battery", 0.05, soc=12.0),  # under 20%: not sent
        north_of_origin("hybrid-unknown-seats", 3.0, energy="plug_in_hybrid", seats=None),  # 7.8, no spare known
    ]
    ranked = rank(candidates, origin=ORIGIN, passengers=2, organisation_id="unit", rules=SuggestRules())
    assert [s.candidate.vehicle_id for s in ranked] == [
        "too-small",  # 3 seats: the driver and exactly 2 passengers, 0.13 min away
        "own-ev-2km",
        "hybrid-unknown-seats",
        "own-gasoline-1km",
        "other-ev-0.5km",
        "own-silent-0.1km",
        "own-bus-1km",
    ]
    costs = {s.candidate.vehicle_id: s.cost_minutes for s in ranked}
    assert costs["too-small"] == pytest.approx(0.13)
    assert costs["own-ev-2km"] == pytest.approx(7.2)
    assert costs["hybrid-unknown-seats"] == pytest.approx(7.8)
    assert costs["own-gasoline-1km"] == pytest.approx(9.6)
    assert costs["other-ev-0.5km"] == pytest.approx(13.3)
    assert costs["own-silent-0.1km"] == pytest.approx(17.26)
    assert costs["own-bus-1km"] == pytest.approx(34.6)
    first = ranked[1]
    assert first.distance_km == pytest.approx(2.0)
    assert first.eta_minutes == pytest.approx(5.2)
    assert first.reasons == ("the unit's own vehicle", "new energy", "2 seats spare (+2 min)")

    # Three passengers: the 3-seater can no longer take them with the driver.
    three = rank(candidates, origin=ORIGIN, passengers=3, organisation_id="unit", rules=SuggestRules())
    assert "too-small" not in [s.candidate.vehicle_id for s in three]
    assert "flat-battery" not in [s.candidate.vehicle_id for s in three]


def test_without_an_origin_only_preferences_rank() -> None:
    candidates = [north_of_origin("far-own", 40.0), north_of_origin("near-other", 0.1, organisation_id="other")]
    ranked = rank(candidates, origin=None, passengers=1, organisation_id="unit", rules=SuggestRules())
    assert [s.candidate.vehicle_id for s in ranked] == ["far-own", "near-other"]
    assert ranked[0].eta_minutes is None
    assert ranked[0].distance_km is None
