"""Permissions and scoping: a unit sees its own registry only; every route declares its permission."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from api.access.rules import ROLE_PERMISSIONS, ROLES, Principal, scope_of
from api.app import ROUTERS
from api.deps import require
from db.scope import Scope
from tests.support.api import AsUser, Units, audit_rows
from yiwang.settings import Settings


async def _ids(client: httpx.AsyncClient, path: str, headers: dict[str, str], **params: str) -> set[str]:
    response = await client.get(path, headers=headers, params={"limit": "1000", **params})
    assert response.status_code == 200, response.text
    return {item["id"] for item in response.json()["items"]}


async def test_a_unit_user_gets_404_for_another_units_items(
    client: httpx.AsyncClient, units: Units, as_user: AsUser
) -> None:
    a, b = units.a, units.b
    headers = await as_user("unit_user", a.organisation)
    for path in (f"/institutions/{a.institution}", f"/meters/{a.meters[0]}", f"/vehicles/{a.vehicles[0]}"):
        assert (await client.get(path, headers=headers)).status_code == 200, path
    for path in (f"/institutions/{b.institution}", f"/meters/{b.meters[0]}", f"/vehicles/{b.vehicles[0]}"):
        response = await client.get(path, headers=headers)
        assert response.status_code == 404, path
        assert response.json()["detail"].startswith("no ")
    # The same answer as for an id that exists nowhere: another unit's ids do not leak.
    assert (await client.get("/vehicles/no-such-vehicle", headers=headers)).json()[
        "detail"
    ] == "no vehicle no-such-vehicle"


async def test_a_unit_users_lists_hold_only_their_units_items(
    client: httpx.AsyncClient, units: Units, as_user: AsUser
) -> None:
    a, b = units.a, units.b
    headers = await as_user("unit_user", a.organisation)
    assert await _ids(client, "/organisations", headers) == {a.organisation}
    assert await _ids(client, "/institutions", headers) == {a.institution}
    assert await _ids(client, "/meters", headers) == set(a.meters)
    assert await _ids(client, "/vehicles", headers) == set(a.vehicles)
    # Asking for the other unit by filter finds nothing either.
    assert await _ids(client, "/institutions", headers, organisation_id=b.organisation) == set()
    assert await _ids(client, "/vehicles", headers, organisation_id=b.organisation) == set()
    assert await _ids(client, "/meters", headers, institution_id=b.institution) == set()


async def test_a_unit_user_of_two_units_sees_both(client: httpx.AsyncClient, units: Units, as_user: AsUser) -> None:
    headers = await as_user("unit_user", units.a.organisation, units.b.organisation)
    assert await _ids(client, "/vehicles", headers) == {*units.a.vehicles, *units.b.vehicles}
    assert (await client.get(f"/institutions/{units.b.institution}", headers=headers)).status_code == 200


async def test_lists_page_in_id_order(client: httpx.AsyncClient, units: Units, as_user: AsUser) -> None:
    headers = await as_user("unit_user", units.a.organisation)
    first = (await client.get("/vehicles", headers=headers, params={"limit": 1})).json()
    assert [v["id"] for v in first["items"]] == [min(units.a.vehicles)]
    second = (await client.get("/vehicles", headers=headers, params={"limit": 1, "after": first["next_after"]})).json()
    assert [v["id"] for v in second["items"]] == [max(units.a.vehicles)]
    last = (await client.get("/vehicles", headers=headers, params={"limit": 1, "after": second["next_after"]})).json()
    assert last == {"items": [], "next_after": None}


async def test_an_auditor_reads_every_unit_and_each_read_is_recorded(
    client: httpx.AsyncClient, units: Units, as_user: AsUser, api_settings: Settings
) -> None:
    a, b = units.a, units.b
    headers = await as_user("auditor")
    me = (await client.get("/users/me", headers=headers)).json()
    for unit in (a, b):
        assert (await client.get(f"/institutions/{unit.institution}", headers=headers)).status_code == 200
        assert (await client.get(f"/meters/{unit.meters[1]}", headers=headers)).status_code == 200
        assert (await client.get(f"/vehicles/{unit.vehicles[1]}", headers=headers)).status_code == 200
    assert await _ids(client, "/vehicles", headers, organisation_id=b.organisation) == set(b.vehicles)
    assert (await client.get("/vehicles/no-such-vehicle", headers=headers)).status_code == 404

    rows = audit_rows(api_settings.database_url, "user_id = %s AND action <> 'auth:login'", (me["id"],))
    seen = [(r["endpoint"], r["resource_ids"], r["outcome"]) for r in rows]
    assert seen == [
        ("/users/me", [], "ok"),
        ("/institutions/{institution_id}", [a.institution], "ok"),
        ("/meters/{meter_id}", [a.meters[1]], "ok"),
        ("/vehicles/{vehicle_id}", [a.vehicles[1]], "ok"),
        ("/institutions/{institution_id}", [b.institution], "ok"),
        ("/meters/{meter_id}", [b.meters[1]], "ok"),
        ("/vehicles/{vehicle_id}", [b.vehicles[1]], "ok"),
        ("/vehicles", [], "ok"),
        ("/vehicles/{vehicle_id}", ["no-such-vehicle"], "not_found"),
    ]
    listing = rows[-2]
    assert listing["action"] == "vehicles:read"
    assert listing["params"] == {"limit": "1000", "organisation_id": b.organisation}
    assert listing["role"] == "auditor"
    assert listing["method"] == "GET"
    assert listing["status"] == 200
    assert str(listing["address"]).startswith("10.")


async def test_reads_of_other_roles_are_not_recorded(
    client: httpx.AsyncClient, units: Units, as_user: AsUser, api_settings: Settings
) -> None:
    headers = await as_user("unit_user", units.a.organisation)
    me = (await client.get("/users/me", headers=headers)).json()
    assert (await client.get(f"/institutions/{units.a.institution}", headers=headers)).status_code == 200
    assert audit_rows(api_settings.database_url, "user_id = %s AND action <> 'auth:login'", (me["id"],)) == []


@pytest.mark.parametrize(
    "case",
    [
        ("energy_staff", "/meters", True),
        ("energy_staff", "/vehicles", False),
        ("dispatcher", "/vehicles", True),
        ("dispatcher", "/meters", False),
        ("unit_user", "/audit", False),
        ("auditor", "/audit", False),
        ("auditor", "/users", False),
        ("dispatcher", "/users", False),
        ("admin", "/audit", True),
    ],
)
async def test_a_role_without_the_permission_gets_403_and_the_refusal_is_recorded(
    client: httpx.AsyncClient,
    units: Units,
    as_user: AsUser,
    api_settings: Settings,
    case: tuple[Any, str, bool],
) -> None:
    role, path, allowed = case
    headers = await as_user(role, *([units.a.organisation] if role == "unit_user" else []))
    response = await client.get(path, headers=headers)
    if allowed:
        assert response.status_code == 200, response.text
        return
    assert response.status_code == 403
    assert "does not have the permission" in response.json()["detail"]
    me = (await client.get("/users/me", headers=headers)).json()
    denied = audit_rows(api_settings.database_url, "user_id = %s AND outcome = 'denied'", (me["id"],))
    assert [(r["endpoint"], r["status"]) for r in denied] == [(path, 403)]


_OPEN = {"/health", "/auth/token", "/auth/refresh"}


def _permissions(dependant: Any) -> list[str]:
    found = []
    for dependency in dependant.dependencies:
        if isinstance(dependency.call, require):
            found.append(dependency.call.permission)
        found.extend(_permissions(dependency))
    return found


def test_every_route_declares_one_permission(app: FastAPI) -> None:
    routes = [r for router in ROUTERS for r in router.routes if isinstance(r, APIRoute)]
    # ROUTERS is what the app serves (its OpenAPI paths come from nowhere else).
    assert {r.path for r in routes} == set(app.openapi()["paths"])
    assert len(routes) > 10
    for route in routes:
        declared = _permissions(route.dependant)
        if route.path in _OPEN:
            assert declared == [], route.path
        else:
            assert len(declared) == 1, (route.path, declared)


def test_every_role_has_its_permissions_and_only_admins_manage_users_and_read_the_audit_log() -> None:
    assert set(ROLE_PERMISSIONS) == set(ROLES)
    for role in ROLES:
        assert {"me:read", "me:write"} <= ROLE_PERMISSIONS[role]
        assert ("audit:read" in ROLE_PERMISSIONS[role]) == (role == "admin")
        assert ("dead_letters:read" in ROLE_PERMISSIONS[role]) == (role == "admin")
        assert ("users:write" in ROLE_PERMISSIONS[role]) == (role == "admin")
        assert not any(p.endswith(":write") and not p.startswith("me:") for p in ROLE_PERMISSIONS["auditor"])


def test_scope_conditions() -> None:
    def text(scope: Scope) -> str:
        return scope.condition("i.organisation_id").as_string(None)

    assert text(Scope(None)) == "TRUE"
    assert text(Scope(frozenset())) == "FALSE"
    assert text(Scope(frozenset({"b", "a"}))) == '"i"."organisation_id" = ANY(\'{a,b}\'::text[])'
    unit = Principal(1, "u", "unit_user", frozenset({"a"}), "s")
    assert scope_of(unit) == Scope(frozenset({"a"}))
    assert scope_of(unit).allows("a")
    assert not scope_of(unit).allows("b")
    auditor = Principal(2, "x", "auditor", frozenset(), "s")
    assert scope_of(auditor).everything
