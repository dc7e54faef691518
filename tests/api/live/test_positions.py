"""The live map: each vehicle's newest fix as GeoJSON, only of the units one may see, filtered by unit and box."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import psycopg

from tests.support.api import AsUser, Units
from tests.support.fleet import live, place
from yiwang.settings import Settings


async def test_each_unit_sees_its_own_vehicles_on_the_live_map_and_dispatchers_see_all(
    client: httpx.AsyncClient, units: Units, as_user: AsUser, api_settings: Settings
) -> None:
    url = api_settings.database_url
    a, b = units.a, units.b
    place(url, a.vehicles[0], 29.27, 117.18, timedelta(seconds=20))
    place(url, a.vehicles[1], 29.35, 117.25, timedelta(hours=2))
    place(url, b.vehicles[0], 29.30, 117.20, timedelta(seconds=5))

    mine = await live(client, await as_user("unit_user", a.organisation))
    assert set(mine) >= {a.vehicles[0], a.vehicles[1]}
    assert not set(mine) & set(b.vehicles)
    fresh, silent = mine[a.vehicles[0]], mine[a.vehicles[1]]
    assert fresh["geometry"] == {"type": "Point", "coordinates": [117.18, 29.27]}  # GeoJSON: longitude first
    assert fresh["properties"]["online"] is True
    assert silent["properties"]["online"] is False  # silent for two hours, beyond the 10-minute default
    assert 7100 < silent["properties"]["age_seconds"] < 7400
    assert fresh["properties"]["speed"] == 42.5

    everyone = await live(client, await as_user("dispatcher"), organisation_id=b.organisation)
    assert set(everyone) == {b.vehicles[0]}


async def test_the_box_filter_keeps_what_lies_inside_and_a_bad_box_is_a_422(
    client: httpx.AsyncClient, units: Units, as_user: AsUser, api_settings: Settings
) -> None:
    url = api_settings.database_url
    a = units.a
    place(url, a.vehicles[0], 29.27, 117.18, timedelta(seconds=20))
    place(url, a.vehicles[1], 29.35, 117.25, timedelta(seconds=20))
    headers = await as_user("unit_user", a.organisation)
    inside = await live(client, headers, bbox="117.1,29.2,117.2,29.3")
    assert set(inside) == {a.vehicles[0]}
    for bad in ("117.1,29.2,117.2", "east,29.2,117.2,29.3", "117.3,29.2,117.2,29.3", "181,0,182,1"):
        response = await client.get("/positions/live", headers=headers, params={"bbox": bad})
        assert response.status_code == 422, bad
        assert "bbox" in str(response.json()["detail"])  # a sentence, or FastAPI's list naming the parameter


async def test_the_live_map_needs_a_login(client: httpx.AsyncClient) -> None:
    assert (await client.get("/positions/live")).status_code == 401


async def test_each_vehicle_has_its_state_and_the_map_filters_by_state(
    client: httpx.AsyncClient, units: Units, as_user: AsUser, api_settings: Settings
) -> None:
    url = api_settings.database_url
    a, b = units.a, units.b
    place(url, a.vehicles[0], 29.27, 117.18, timedelta(seconds=20))
    place(url, a.vehicles[1], 29.35, 117.25, timedelta(hours=2))
    place(url, b.vehicles[0], 29.30, 117.20, timedelta(hours=2))
    place(url, b.vehicles[1], 29.31, 117.21, timedelta(seconds=5))
    headers = await as_user("dispatcher")
    # Every fix stored before the request is on the map at once.
    assert set(await live(client, headers)) >= {*a.vehicles[:2], *b.vehicles[:2]}
    with psycopg.connect(url) as conn:
        # In the workshop: maintenance, however long it has been silent. Retired: off the map.
        conn.execute("UPDATE vehicle SET lifecycle = 'maintenance' WHERE id = %s", (b.vehicles[0],))
        conn.execute(
            """UPDATE vehicle SET lifecycle = 'retired', retired_on = current_date, retired_how = 'scrapped'
               WHERE id = %s""",
            (b.vehicles[1],),
        )

    ours = {*a.vehicles[:2], b.vehicles[0]}
    expected = {a.vehicles[0]: "available", a.vehicles[1]: "offline", b.vehicles[0]: "maintenance"}
    features: dict[str, dict[str, object]] = {}

    async def states() -> dict[str, object]:
        nonlocal features
        features = await live(client, headers)
        return {v: features[v]["properties"]["state"] for v in ours if v in features}  # type: ignore[index]

    # A registry change reaches every API process's map through the database's notification: within a look.
    deadline = asyncio.get_running_loop().time() + 5
    while await states() != expected or b.vehicles[1] in features:
        assert asyncio.get_running_loop().time() < deadline, await states()
        await asyncio.sleep(0.1)
    assert features[a.vehicles[0]]["properties"]["request_id"] is None  # type: ignore[index]
    assert features[a.vehicles[0]]["properties"]["driver_id"] is None  # type: ignore[index]

    async def ids(*wanted: str) -> set[str]:
        params = httpx.QueryParams([("state", state) for state in wanted])
        response = await client.get("/positions/live", headers=headers, params=params)
        assert response.status_code == 200, response.text
        return {feature["id"] for feature in response.json()["features"]} & ours

    assert await ids() == ours
    assert await ids("available") == {a.vehicles[0]}
    assert await ids("offline", "maintenance") == {a.vehicles[1], b.vehicles[0]}
    assert await ids("dispatched", "in_service") == set()
    assert (await client.get("/positions/live", headers=headers, params={"state": "lost"})).status_code == 422
