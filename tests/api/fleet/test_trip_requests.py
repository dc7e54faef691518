"""Trip requests through the API: the whole trip with who and when, every refused step (role, state, scope),
one open request per vehicle and driver, an append-only history, and the live map's state of a dispatched vehicle."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import psycopg
import pytest

from domain.trip_requests import ACTIONS, STATES, State, next_state, refusal
from tests.support.api import AsUser, Person, Units, audit_rows, person
from tests.support.files import csv_body
from tests.support.fleet import BODIES, Json, add_driver, live, ok, place, request_in_state, step, submit, trip
from yiwang.settings import Settings


async def get(client: httpx.AsyncClient, who: Person, request_id: int) -> Json:
    response = await client.get(f"/requests/{request_id}", headers=who.headers)
    assert response.status_code == 200, response.text
    body: Json = response.json()
    return body


def sql(url: str, statement: str, params: tuple[object, ...] = ()) -> None:
    with psycopg.connect(url) as conn:
        conn.execute(statement, params)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------------------------
# The whole trip


async def test_a_whole_trip_from_submission_to_evaluation_records_who_and_when(
    client: httpx.AsyncClient, units: Units, as_user: AsUser, api_settings: Settings
) -> None:
    a = units.a
    clerk = await person(client, as_user, "unit_user", a.organisation)
    dispatcher = await person(client, as_user, "dispatcher")
    driver = await add_driver(client, dispatcher, a.organisation)

    created = await submit(client, clerk, a.organisation)
    request_id = created["id"]
    assert created["state"] == "submitted"
    assert created["requested_by"] == clerk.id
    assert created["requested_by_name"] == clerk.name
    assert created["origin_location"] == {"latitude": 29.27, "longitude": 117.18}
    assert created["destination_location"] is None
    assert created["vehicle_id"] is None

    queue = await client.get("/requests", headers=dispatcher.headers, params={"state": "submitted", "limit": 1000})
    assert request_id in [item["id"] for item in queue.json()["items"]]

    approved = await ok(client, dispatcher, request_id, "approve", {"note": "同意"})
    assert approved["state"] == "approved"
    dispatched = await ok(
        client, dispatcher, request_id, "dispatch", {"vehicle_id": a.vehicles[0], "driver_id": driver}
    )
    assert dispatched["state"] == "dispatched"
    assert (dispatched["vehicle_id"], dispatched["driver_id"]) == (a.vehicles[0], driver)
    assert dispatched["vehicle_plate"].startswith("赣H")
    assert (dispatched["driver_name"], dispatched["driver_phone"]) == ("王师傅", "13800138000")
    departed = await ok(client, dispatcher, request_id, "depart", {"odometer_km": 1000})
    assert departed["state"] == "under_way"
    returned = await ok(client, dispatcher, request_id, "return", {"odometer_km": 1042.5})
    assert returned["state"] == "returned"
    evaluated = await ok(client, clerk, request_id, "evaluate", {"score": 4, "note": "准时"})
    assert evaluated["state"] == "evaluated"
    assert (evaluated["evaluation_score"], evaluated["evaluation_note"]) == (4, "准时")
    assert (evaluated["departure_odometer_km"], evaluated["return_odometer_km"]) == (1000, 1042.5)

    # The unit reads the same request, with its whole history.
    seen = await get(client, clerk, request_id)
    history = seen["history"]
    assert [(e["action"], e["from_state"], e["to_state"], e["user_id"], e["user_name"]) for e in history] == [
        ("submit", None, "submitted", clerk.id, clerk.name),
        ("approve", "submitted", "approved", dispatcher.id, dispatcher.name),
        ("dispatch", "approved", "dispatched", dispatcher.id, dispatcher.name),
        ("depart", "dispatched", "under_way", dispatcher.id, dispatcher.name),
        ("return", "under_way", "returned", dispatcher.id, dispatcher.name),
        ("evaluate", "returned", "evaluated", clerk.id, clerk.name),
    ]
    # Each step's time on the request is its event's time.
    columns = ["submitted_at", "approved_at", "dispatched_at", "departed_at", "returned_at", "evaluated_at"]
    assert [seen[column] for column in columns] == [e["at"] for e in history]
    assert [e["at"] for e in history] == sorted(e["at"] for e in history)
    assert seen["rejected_at"] is None
    assert seen["cancelled_at"] is None
    assert [e["note"] for e in history] == [None, "同意", None, None, None, "准时"]
    assert history[2]["details"] == {"vehicle_id": a.vehicles[0], "driver_id": driver}
    assert history[3]["details"] == {"departure_odometer_km": 1000}
    assert history[5]["details"] == {"evaluation_score": 4}

    # The audit log has every step, with the vehicle and driver of the dispatch.
    rows = audit_rows(
        api_settings.database_url, "%s = ANY(resource_ids) AND endpoint LIKE '/requests%%'", (str(request_id),)
    )
    assert [(r["endpoint"], r["action"], r["user_id"], r["outcome"]) for r in rows] == [
        ("/requests", "requests:submit", clerk.id, "ok"),
        ("/requests/{request_id}/approve", "requests:dispatch", dispatcher.id, "ok"),
        ("/requests/{request_id}/dispatch", "requests:dispatch", dispatcher.id, "ok"),
        ("/requests/{request_id}/depart", "requests:dispatch", dispatcher.id, "ok"),
        ("/requests/{request_id}/return", "requests:dispatch", dispatcher.id, "ok"),
        ("/requests/{request_id}/evaluate", "requests:submit", clerk.id, "ok"),
    ]
    # (Ids are deduplicated in resource_ids: a driver and a request of the same number are one entry there.)
    assert set(rows[2]["resource_ids"]) == {str(request_id), a.vehicles[0], str(driver)}
    assert rows[2]["params"] == {"vehicle_id": a.vehicles[0], "driver_id": driver, "note": None}
    assert rows[0]["params"]["purpose"] == "赴市政府参加会议"


async def test_a_cancelled_dispatch_frees_its_vehicle_and_driver(
    client: httpx.AsyncClient, units: Units, as_user: AsUser
) -> None:
    a = units.a
    clerk = await person(client, as_user, "unit_user", a.organisation)
    dispatcher = await person(client, as_user, "dispatcher")
    driver = await add_driver(client, dispatcher, a.organisation)
    order = {"vehicle_id": a.vehicles[0], "driver_id": driver}
    first, second = (
        (await submit(client, clerk, a.organisation))["id"],
        (await submit(client, clerk, a.organisation))["id"],
    )
    for request_id in (first, second):
        await ok(client, dispatcher, request_id, "approve")
    await ok(client, dispatcher, first, "dispatch", order)
    assert (await step(client, dispatcher, second, "dispatch", order)).status_code == 409
    cancelled = await ok(client, clerk, first, "cancel", {"note": "会议取消"})
    assert cancelled["state"] == "cancelled"
    assert cancelled["cancelled_at"] == cancelled["history"][-1]["at"]
    assert (await ok(client, dispatcher, second, "dispatch", order))["state"] == "dispatched"


# ---------------------------------------------------------------------------------------------------------------
# Refusals


@pytest.mark.parametrize("state", STATES)
async def test_a_step_not_allowed_from_the_state_is_a_409_that_changes_nothing(
    client: httpx.AsyncClient, units: Units, as_user: AsUser, state: State
) -> None:
    admin = await person(client, as_user, "admin")
    a = units.a
    drivers = [await add_driver(client, admin, a.organisation, f"司机{i}") for i in range(2)]
    order = {"vehicle_id": a.vehicles[0], "driver_id": drivers[0]}
    request_id = await request_in_state(client, admin, a.organisation, state, order)
    before = await get(client, admin, request_id)
    assert before["state"] == state
    refused = [action for action in ACTIONS if action != "submit" and next_state(state, action) is None]
    assert refused  # every state refuses something
    for action in refused:
        # Another vehicle and driver: free, so that only the state refuses the dispatch.
        body = {"vehicle_id": a.vehicles[1], "driver_id": drivers[1]} if action == "dispatch" else BODIES[action]
        response = await step(client, admin, request_id, action, body)
        assert response.status_code == 409, (action, response.text)
        assert response.json()["detail"] == refusal(request_id, state, action)
    assert await get(client, admin, request_id) == before


async def test_a_unit_user_cannot_decide_or_dispatch_and_a_dispatcher_cannot_ask_cancel_or_evaluate(
    client: httpx.AsyncClient, units: Units, as_user: AsUser
) -> None:
    a = units.a
    clerk = await person(client, as_user, "unit_user", a.organisation)
    dispatcher = await person(client, as_user, "dispatcher")
    auditor = await person(client, as_user, "auditor")
    driver = await add_driver(client, dispatcher, a.organisation)
    order = {"vehicle_id": a.vehicles[0], "driver_id": driver}
    request_id = (await submit(client, clerk, a.organisation))["id"]
    before = await get(client, clerk, request_id)

    for action in ("approve", "reject", "dispatch", "depart", "return"):
        body = order if action == "dispatch" else BODIES[action]
        response = await step(client, clerk, request_id, action, body)
        assert response.status_code == 403, action
        assert response.json()["detail"] == "the role unit_user does not have the permission requests:dispatch"
    # The dispatch centre decides and dispatches; it does not ask for cars on a unit's behalf, nor cancel or
    # evaluate a unit's request: the unit does (separation of duties).
    assert (await client.post("/requests", json=trip(a.organisation), headers=dispatcher.headers)).status_code == 403
    for action in ("cancel", "evaluate"):
        response = await step(client, dispatcher, request_id, action, BODIES[action])
        assert response.status_code == 403, action
        assert response.json()["detail"] == "the role dispatcher does not have the permission requests:submit"
    # Supervisors read every request but take no step.
    assert (await get(client, auditor, request_id))["state"] == "submitted"
    for action in ("approve", "cancel"):
        assert (await step(client, auditor, request_id, action, BODIES[action])).status_code == 403
    assert (await client.post("/requests", json=trip(a.organisation), headers=auditor.headers)).status_code == 403
    # Energy staff have nothing to do with cars; units do not keep the drivers.
    energy = await as_user("energy_staff")
    assert (await client.get("/requests", headers=energy)).status_code == 403
    body = {"organisation_id": a.organisation, "name": "李师傅", "licence_class": "C1"}
    assert (await client.post("/drivers", json=body, headers=clerk.headers)).status_code == 403

    assert await get(client, clerk, request_id) == before


async def test_a_unit_sees_and_acts_on_its_own_requests_only(
    client: httpx.AsyncClient, units: Units, as_user: AsUser
) -> None:
    a, b = units.a, units.b
    clerk_a = await person(client, as_user, "unit_user", a.organisation)
    colleague_a = await person(client, as_user, "unit_user", a.organisation)
    clerk_b = await person(client, as_user, "unit_user", b.organisation)
    dispatcher = await person(client, as_user, "dispatcher")
    request_id = (await submit(client, clerk_a, a.organisation))["id"]
    b_request = (await submit(client, clerk_b, b.organisation))["id"]

    response = await client.get(f"/requests/{request_id}", headers=clerk_b.headers)
    assert response.status_code == 404
    assert response.json()["detail"] == f"no request {request_id}"  # as for an id that exists nowhere
    for action in ("cancel", "evaluate"):
        response = await step(client, clerk_b, request_id, action, BODIES[action])
        assert response.status_code == 404, action
    listed = (await client.get("/requests", headers=clerk_b.headers, params={"limit": 1000})).json()["items"]
    assert {item["organisation_id"] for item in listed} == {b.organisation}
    assert b_request in [item["id"] for item in listed]
    # A request card names its unit (issue 20: org ids on the cards): the name comes with the request.
    units_b = (await client.get("/organisations", headers=clerk_b.headers)).json()["items"]
    assert {item["organisation_name"] for item in listed} == {u["name"] for u in units_b if u["id"] == b.organisation}
    asked = await client.get("/requests", headers=clerk_b.headers, params={"organisation_id": a.organisation})
    assert asked.json() == {"items": [], "next_after": None}
    # Nor can B ask for a car on A's account.
    refused = await client.post("/requests", json=trip(a.organisation), headers=clerk_b.headers)
    assert refused.status_code == 422
    assert refused.json()["detail"].startswith(f"no organisation {a.organisation}")
    # Drivers are scoped like the rest: B does not see A's.
    driver = await add_driver(client, dispatcher, a.organisation)
    assert (await client.get(f"/drivers/{driver}", headers=clerk_a.headers)).status_code == 200
    assert (await client.get(f"/drivers/{driver}", headers=clerk_b.headers)).status_code == 404
    # Any user of the requesting unit acts for it, not only the one who submitted.
    assert (await ok(client, colleague_a, request_id, "cancel", {"note": "改期"}))["state"] == "cancelled"
    assert (await get(client, dispatcher, request_id))["history"][-1]["user_id"] == colleague_a.id


async def test_times_out_of_order_and_an_unknown_vehicle_are_422(
    client: httpx.AsyncClient, units: Units, as_user: AsUser
) -> None:
    a = units.a
    clerk = await person(client, as_user, "unit_user", a.organisation)
    dispatcher = await person(client, as_user, "dispatcher")
    backwards = trip(a.organisation, wanted_end="2026-03-02T08:00:00+08:00")
    response = await client.post("/requests", json=backwards, headers=clerk.headers)
    assert response.status_code == 422
    assert "wanted_end must be after wanted_start" in str(response.json()["detail"])
    request_id = (await submit(client, clerk, a.organisation))["id"]
    await ok(client, dispatcher, request_id, "approve")
    driver = await add_driver(client, dispatcher, a.organisation)
    response = await step(
        client, dispatcher, request_id, "dispatch", {"vehicle_id": "no-such-car", "driver_id": driver}
    )
    assert response.status_code == 422
    assert response.json()["detail"] == "no vehicle no-such-car: give the id of a vehicle (GET /vehicles)"
    assert (await step(client, dispatcher, 2**62, "approve")).status_code == 404


# ---------------------------------------------------------------------------------------------------------------
# One open request per vehicle and per driver


async def test_a_vehicle_or_driver_on_an_open_request_cannot_be_dispatched_again(
    client: httpx.AsyncClient, units: Units, as_user: AsUser, api_settings: Settings
) -> None:
    a, b = units.a, units.b
    clerk = await person(client, as_user, "unit_user", a.organisation)
    dispatcher = await person(client, as_user, "dispatcher")
    first_driver = await add_driver(client, dispatcher, a.organisation, "甲")
    second_driver = await add_driver(client, dispatcher, a.organisation, "乙")
    first, second = [(await submit(client, clerk, a.organisation))["id"] for _ in range(2)]
    for request_id in (first, second):
        await ok(client, dispatcher, request_id, "approve")
    await ok(client, dispatcher, first, "dispatch", {"vehicle_id": a.vehicles[0], "driver_id": first_driver})

    busy_vehicle = await step(
        client, dispatcher, second, "dispatch", {"vehicle_id": a.vehicles[0], "driver_id": second_driver}
    )
    assert busy_vehicle.status_code == 409
    assert f"vehicle {a.vehicles[0]}" in busy_vehicle.json()["detail"]
    assert f"is on request {first}" in busy_vehicle.json()["detail"]
    busy_driver = await step(
        client, dispatcher, second, "dispatch", {"vehicle_id": b.vehicles[0], "driver_id": first_driver}
    )
    assert busy_driver.status_code == 409
    assert busy_driver.json()["detail"].startswith(f"driver {first_driver} (甲) is on request {first}")
    assert (await get(client, dispatcher, second))["state"] == "approved"

    # Still busy under way; free once returned.
    await ok(client, dispatcher, first, "depart")
    assert (
        await step(client, dispatcher, second, "dispatch", {"vehicle_id": a.vehicles[0], "driver_id": second_driver})
    ).status_code == 409
    await ok(client, dispatcher, first, "return")
    again = await ok(client, dispatcher, second, "dispatch", {"vehicle_id": a.vehicles[0], "driver_id": first_driver})
    assert again["state"] == "dispatched"

    # The database holds the rule whoever writes.
    with psycopg.connect(api_settings.database_url) as conn, pytest.raises(psycopg.errors.UniqueViolation):
        conn.execute(
            """INSERT INTO trip_request (organisation_id, requested_by, purpose, passengers, origin, destination,
                                         wanted_start, wanted_end, state, vehicle_id, driver_id)
               VALUES (%s, %s, 'x', 1, 'x', 'y', now(), now() + interval '1 hour', 'under_way', %s, %s)""",
            (a.organisation, clerk.id, a.vehicles[0], second_driver),
        )


async def test_two_dispatchers_racing_for_one_vehicle_one_wins(
    client: httpx.AsyncClient, units: Units, as_user: AsUser
) -> None:
    a = units.a
    clerk = await person(client, as_user, "unit_user", a.organisation)
    dispatcher = await person(client, as_user, "dispatcher")
    drivers = [await add_driver(client, dispatcher, a.organisation, f"司机{i}") for i in range(2)]
    requests = [(await submit(client, clerk, a.organisation))["id"] for _ in range(2)]
    for request_id in requests:
        await ok(client, dispatcher, request_id, "approve")
    responses = await asyncio.gather(
        *(
            step(client, dispatcher, request_id, "dispatch", {"vehicle_id": a.vehicles[1], "driver_id": driver})
            for request_id, driver in zip(requests, drivers, strict=True)
        )
    )
    assert sorted(r.status_code for r in responses) == [200, 409]
    states = sorted([(await get(client, dispatcher, request_id))["state"] for request_id in requests])
    assert states == ["approved", "dispatched"]


async def test_a_vehicle_in_maintenance_too_small_or_an_inactive_driver_is_not_available(
    client: httpx.AsyncClient, units: Units, as_user: AsUser, api_settings: Settings
) -> None:
    a = units.a
    url = api_settings.database_url
    clerk = await person(client, as_user, "unit_user", a.organisation)
    dispatcher = await person(client, as_user, "dispatcher")
    driver = await add_driver(client, dispatcher, a.organisation)
    request_id = (await submit(client, clerk, a.organisation, passengers=4))["id"]
    await ok(client, dispatcher, request_id, "approve")

    sql(url, "UPDATE vehicle SET lifecycle = 'maintenance' WHERE id = %s", (a.vehicles[0],))
    response = await step(
        client, dispatcher, request_id, "dispatch", {"vehicle_id": a.vehicles[0], "driver_id": driver}
    )
    assert response.status_code == 409
    assert "is in maintenance" in response.json()["detail"]
    sql(url, "UPDATE vehicle SET seats = 4 WHERE id = %s", (a.vehicles[1],))
    response = await step(
        client, dispatcher, request_id, "dispatch", {"vehicle_id": a.vehicles[1], "driver_id": driver}
    )
    assert response.status_code == 409
    assert "has 4 seats: too few for 4 passengers and the driver" in response.json()["detail"]
    sql(url, "UPDATE vehicle SET seats = 5 WHERE id = %s", (a.vehicles[1],))
    sql(url, "UPDATE driver SET active = false WHERE id = %s", (driver,))
    response = await step(
        client, dispatcher, request_id, "dispatch", {"vehicle_id": a.vehicles[1], "driver_id": driver}
    )
    assert response.status_code == 409
    assert response.json()["detail"] == f"driver {driver} (王师傅) is not active: choose another"
    assert (await get(client, dispatcher, request_id))["history"][-1]["action"] == "approve"


async def test_an_odometer_below_the_departure_reading_is_a_409(
    client: httpx.AsyncClient, units: Units, as_user: AsUser
) -> None:
    a = units.a
    clerk = await person(client, as_user, "unit_user", a.organisation)
    dispatcher = await person(client, as_user, "dispatcher")
    driver = await add_driver(client, dispatcher, a.organisation)
    request_id = (await submit(client, clerk, a.organisation))["id"]
    await ok(client, dispatcher, request_id, "approve")
    await ok(client, dispatcher, request_id, "dispatch", {"vehicle_id": a.vehicles[0], "driver_id": driver})
    await ok(client, dispatcher, request_id, "depart", {"odometer_km": 1000})
    response = await step(client, dispatcher, request_id, "return", {"odometer_km": 990})
    assert response.status_code == 409
    assert "below its reading at departure (1000.0 km)" in response.json()["detail"]
    assert (await ok(client, dispatcher, request_id, "return"))["return_odometer_km"] is None


# ---------------------------------------------------------------------------------------------------------------
# The history


async def test_the_history_cannot_be_changed_or_removed(
    client: httpx.AsyncClient, units: Units, as_user: AsUser, api_settings: Settings
) -> None:
    clerk = await person(client, as_user, "unit_user", units.a.organisation)
    request_id = (await submit(client, clerk, units.a.organisation))["id"]
    url = api_settings.database_url
    for statement in (
        "UPDATE trip_request_event SET note = 'forged' WHERE request_id = %s",
        "DELETE FROM trip_request_event WHERE request_id = %s",
    ):
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
            sql(url, statement, (request_id,))
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
        sql(url, "TRUNCATE trip_request_event CASCADE")
    # A request with history cannot be deleted either.
    with pytest.raises(psycopg.errors.ForeignKeyViolation):
        sql(url, "DELETE FROM trip_request WHERE id = %s", (request_id,))
    assert len((await get(client, clerk, request_id))["history"]) == 1


# ---------------------------------------------------------------------------------------------------------------
# The live map


async def test_the_live_map_shows_a_dispatched_and_an_in_service_vehicle_with_request_and_driver(
    client: httpx.AsyncClient, units: Units, as_user: AsUser, api_settings: Settings
) -> None:
    a = units.a
    url = api_settings.database_url
    for vehicle in a.vehicles:
        place(url, vehicle, 29.27, 117.18, timedelta(seconds=20))
    clerk = await person(client, as_user, "unit_user", a.organisation)
    dispatcher = await person(client, as_user, "dispatcher")
    drivers = [await add_driver(client, dispatcher, a.organisation, f"司机{i}") for i in range(2)]
    requests = [(await submit(client, clerk, a.organisation))["id"] for _ in range(2)]
    for request_id, vehicle, driver in zip(requests, a.vehicles, drivers, strict=True):
        await ok(client, dispatcher, request_id, "approve")
        await ok(client, dispatcher, request_id, "dispatch", {"vehicle_id": vehicle, "driver_id": driver})
    await ok(client, dispatcher, requests[1], "depart")

    for headers in (clerk.headers, dispatcher.headers):
        await map_shows(client, headers, a.organisation, a.vehicles[0], ("dispatched", requests[0], drivers[0]))
        await map_shows(client, headers, a.organisation, a.vehicles[1], ("in_service", requests[1], drivers[1]))

    await ok(client, dispatcher, requests[1], "return")
    await ok(client, clerk, requests[0], "cancel", {"note": "不用了"})
    for vehicle in a.vehicles:
        await map_shows(client, dispatcher.headers, a.organisation, vehicle, ("available", None, None))


async def map_shows(
    client: httpx.AsyncClient, headers: dict[str, str], organisation: str, vehicle: str, expected: tuple[object, ...]
) -> None:
    """Wait until GET /positions/live shows the vehicle's (state, request, driver): every API process hears of a
    request's step from the database (a notification), within a look of its live map."""
    deadline = asyncio.get_running_loop().time() + 5
    while True:
        properties = (await live(client, headers, organisation_id=organisation))[vehicle]["properties"]
        found = (properties["state"], properties["request_id"], properties["driver_id"])
        if found == expected:
            return
        assert asyncio.get_running_loop().time() < deadline, found
        await asyncio.sleep(0.05)


async def test_a_driver_on_an_open_request_cannot_be_made_inactive_until_it_is_returned(
    client: httpx.AsyncClient, units: Units, as_user: AsUser
) -> None:
    a = units.a
    admin = await person(client, as_user, "admin")
    driver = await add_driver(client, admin, a.organisation)
    order = {"vehicle_id": a.vehicles[0], "driver_id": driver}
    request_id = await request_in_state(client, admin, a.organisation, "dispatched", order)

    refused = await client.patch(f"/drivers/{driver}", json={"active": False}, headers=admin.headers)
    assert refused.status_code == 409
    assert f"request {request_id}" in refused.json()["detail"]
    # Nor through the drivers table: the row says why, and nothing is written.
    table = csv_body((await client.get("/registry/drivers.csv", headers=admin.headers)).text).splitlines()
    header = table[0]
    [row] = [line for line in table[1:] if line.startswith(f"{driver},")]
    cells = row.split(",")
    cells[header.split(",").index("在岗")] = "否"  # Chinese headers by default
    upload = "\n".join([header, ",".join(cells)]).encode()
    imported = await client.post(
        "/registry/drivers", headers=admin.headers, files={"file": ("drivers.csv", upload, "text/csv")}
    )
    assert imported.status_code == 422, imported.text
    assert f"request {request_id}" in imported.text
    assert (await client.get(f"/drivers/{driver}", headers=admin.headers)).json()["active"] is True

    await ok(client, admin, request_id, "depart", {"odometer_km": 1000})
    await ok(client, admin, request_id, "return", {"odometer_km": 1020})
    changed = await client.patch(f"/drivers/{driver}", json={"active": False}, headers=admin.headers)
    assert changed.status_code == 200, changed.text
    assert changed.json()["active"] is False
