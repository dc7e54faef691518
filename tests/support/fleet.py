"""The fleet through the API in tests: vehicles placed on the live map, trip requests taken from state to state,
drivers added."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg

from domain.trip_requests import Action, State
from tests.support.api import Person

Json = dict[str, Any]

# A body each step accepts, so that a refusal can only come from the role, the scope or the state.
BODIES: dict[Action, Json | None] = {
    "approve": None,
    "reject": {"note": "no vehicle that day"},
    "dispatch": None,  # needs a vehicle and a driver: made per test
    "depart": {"odometer_km": 1000},
    "return": {"odometer_km": 1042.5},
    "cancel": {"note": "the meeting moved"},
    "evaluate": {"score": 5, "note": "on time"},
}


def place(url: str, vehicle: str, lat: float, lon: float, age: timedelta) -> None:
    """A vehicle's newest fix, made `age` ago and received now, as the collector leaves it in the live table."""
    time = datetime.now(UTC) - age
    with psycopg.connect(url) as conn:
        conn.execute(
            """INSERT INTO live_position (vehicle_id, time, latitude, longitude, speed, heading, odometer, ignition,
                                          soc, received_at)
               VALUES (%s, %s, %s, %s, 42.5, 90, 1000, true, 71, now())""",
            (vehicle, time, lat, lon),
        )


async def live(client: httpx.AsyncClient, headers: dict[str, str], **params: str) -> dict[str, dict[str, object]]:
    """GET /positions/live: the features by vehicle id."""
    response = await client.get("/positions/live", headers=headers, params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["type"] == "FeatureCollection"
    return {feature["id"]: feature for feature in body["features"]}


def trip(organisation: str, **overrides: Any) -> Json:
    """A trip request's body."""
    return {
        "organisation_id": organisation,
        "purpose": "赴市政府参加会议",
        "passengers": 3,
        "origin": "市机关事务管理局",
        "origin_location": {"latitude": 29.27, "longitude": 117.18},
        "destination": "市政府",
        "wanted_start": "2026-03-02T09:00:00+08:00",
        "wanted_end": "2026-03-02T12:00:00+08:00",
        **overrides,
    }


async def submit(client: httpx.AsyncClient, who: Person, organisation: str, **overrides: Any) -> Json:
    response = await client.post("/requests", json=trip(organisation, **overrides), headers=who.headers)
    assert response.status_code == 201, response.text
    body: Json = response.json()
    return body


async def step(
    client: httpx.AsyncClient, who: Person, request_id: int, action: Action, body: Json | None = None
) -> httpx.Response:
    return await client.post(f"/requests/{request_id}/{action}", json=body, headers=who.headers)


async def ok(client: httpx.AsyncClient, who: Person, request_id: int, action: Action, body: Json | None = None) -> Json:
    """A step that must be taken: the request after it."""
    response = await step(client, who, request_id, action, body)
    assert response.status_code == 200, response.text
    result: Json = response.json()
    return result


async def add_driver(client: httpx.AsyncClient, who: Person, organisation: str, name: str = "王师傅") -> int:
    body = {"organisation_id": organisation, "name": name, "phone": "13800138000", "licence_class": "C1"}
    response = await client.post("/drivers", json=body, headers=who.headers)
    assert response.status_code == 201, response.text
    driver_id: int = response.json()["id"]
    return driver_id


async def request_in_state(
    client: httpx.AsyncClient, admin: Person, organisation: str, state: State, order: Json
) -> int:
    """A new request brought to `state` by an admin (who holds every permission and sees every unit)."""
    paths: dict[State, list[Action]] = {
        "submitted": [],
        "approved": ["approve"],
        "rejected": ["reject"],
        "cancelled": ["cancel"],
        "dispatched": ["approve", "dispatch"],
        "under_way": ["approve", "dispatch", "depart"],
        "returned": ["approve", "dispatch", "depart", "return"],
        "evaluated": ["approve", "dispatch", "depart", "return", "evaluate"],
    }
    request_id: int = (await submit(client, admin, organisation))["id"]
    for action in paths[state]:
        await ok(client, admin, request_id, action, order if action == "dispatch" else BODIES[action])
    return request_id
