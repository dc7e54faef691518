"""Dispatch suggestions: the vehicles fit for a request, ranked by arrival and preference, and sent in one step."""

from __future__ import annotations

from datetime import timedelta

import httpx
import psycopg
import pytest

from api.dispatch.suggest import Candidate, SuggestRules, rank
from tests.api.conftest import Units
from tests.api.test_positions import place
from tests.api.test_requests import AsUser, add_driver, ok, person, step, submit
from yiwang.settings import Settings

ORIGIN = (29.30, 117.20)
KM_PER_DEGREE_OF_LATITUDE = 6_371.0088 * 3.141592653589793 / 180  # on the mean Earth sphere: 111.195 km


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


async def test_a_dispatcher_gets_ranked_vehicles_and_dispatches_the_first_in_one_step(
    client: httpx.AsyncClient, units: Units, as_user: AsUser, api_settings: Settings
) -> None:
    a, b = units.a, units.b
    url = api_settings.database_url
    # The request starts at 29.27, 117.18 (tests/api/test_requests.py's trip). A's second vehicle is a 7-seat
    # gasoline car next to it; A's first an electric 5-seater 3 km north; B's first an electric car 1 km north,
    # B's second in the workshop right at the origin.
    with psycopg.connect(url) as conn:
        conn.execute("UPDATE vehicle SET seats = 5 WHERE id = %s", (a.vehicles[0],))
        conn.execute("UPDATE vehicle SET seats = 7, energy = 'gasoline' WHERE id = %s", (a.vehicles[1],))
        conn.execute("UPDATE vehicle SET seats = 5 WHERE id = %s", (b.vehicles[0],))
        conn.execute("UPDATE vehicle SET lifecycle = 'maintenance' WHERE id = %s", (b.vehicles[1],))
    place(url, a.vehicles[0], 29.27 + 3 / KM_PER_DEGREE_OF_LATITUDE, 117.18, timedelta(seconds=5))
    place(url, a.vehicles[1], 29.27, 117.18, timedelta(seconds=5))
    place(url, b.vehicles[0], 29.27 + 1 / KM_PER_DEGREE_OF_LATITUDE, 117.18, timedelta(seconds=5))
    place(url, b.vehicles[1], 29.27, 117.18, timedelta(seconds=5))

    clerk = await person(client, as_user, "unit_user", a.organisation)
    dispatcher = await person(client, as_user, "dispatcher")
    driver = await add_driver(client, dispatcher, a.organisation)
    request_id = (await submit(client, clerk, a.organisation, passengers=3))["id"]

    async def suggested() -> list[dict[str, object]]:
        response = await client.get(f"/requests/{request_id}/suggestions", headers=dispatcher.headers)
        assert response.status_code == 200, response.text
        items: list[dict[str, object]] = response.json()["items"]
        return [item for item in items if item["vehicle_id"] in {*a.vehicles, *b.vehicles}]

    # Costs (3 passengers): A1 3 km = 7.8 + 1 spare seat = 8.8; A2 0 km + 5 fuel + 3 spare = 8;
    # B1 1 km = 2.6 + 10 other unit + 1 spare = 13.6; B2 in the workshop is no candidate.
    ours = await suggested()
    assert [item["vehicle_id"] for item in ours] == [a.vehicles[1], a.vehicles[0], b.vehicles[0]]
    assert [item["cost_minutes"] for item in ours] == [pytest.approx(8.0), pytest.approx(8.8), pytest.approx(13.6)]
    assert ours[1]["eta_minutes"] == pytest.approx(7.8)
    assert ours[1]["distance_km"] == pytest.approx(3.0)
    assert ours[0]["energy"] == "gasoline"

    # Not for the unit to choose; not once the request has its vehicle.
    assert (await client.get(f"/requests/{request_id}/suggestions", headers=clerk.headers)).status_code == 403
    await ok(client, dispatcher, request_id, "approve")
    chosen = ours[0]["vehicle_id"]
    await ok(client, dispatcher, request_id, "dispatch", {"vehicle_id": chosen, "driver_id": driver})
    refused = await client.get(f"/requests/{request_id}/suggestions", headers=dispatcher.headers)
    assert refused.status_code == 409
    assert "dispatched" in refused.json()["detail"]
    # The vehicle sent is no longer suggested for the next request.
    second = (await submit(client, clerk, a.organisation, passengers=3))["id"]
    response = await client.get(f"/requests/{second}/suggestions", headers=dispatcher.headers, params={"limit": 100})
    assert chosen not in [item["vehicle_id"] for item in response.json()["items"]]
    assert (await client.get("/requests/999999999/suggestions", headers=dispatcher.headers)).status_code == 404
    assert (await step(client, dispatcher, second, "approve")).status_code == 200
