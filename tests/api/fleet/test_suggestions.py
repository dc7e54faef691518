"""Dispatch suggestions: the vehicles fit for a request, ranked by arrival and preference, and sent in one step."""

from __future__ import annotations

from datetime import timedelta

import httpx
import psycopg
import pytest

from tests.support.api import AsUser, Units, person
from tests.support.fleet import add_driver, ok, place, step, submit
from tests.support.tracks import KM_PER_DEGREE_OF_LATITUDE
from yiwang.settings import Settings


async def test_a_dispatcher_gets_ranked_vehicles_and_dispatches_the_first_in_one_step(
    client: httpx.AsyncClient, units: Units, as_user: AsUser, api_settings: Settings
) -> None:
    a, b = units.a, units.b
    url = api_settings.database_url
    # The request starts at 29.27, 117.18 (tests/support/fleet.py's trip). A's second vehicle is a 7-seat
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
