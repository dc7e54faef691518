"""The audit log: writes and logins recorded, append-only in the database, queryable by admins."""

from __future__ import annotations

import httpx
import psycopg
import pytest

from tests.support.api import PASSWORD, AddUser, Units, audit_rows, bearer, login
from yiwang.settings import Settings


async def _admin(client: httpx.AsyncClient, add_user: AddUser) -> tuple[dict[str, str], int]:
    headers = bearer((await login(client, await add_user("admin")))["access_token"])
    me = (await client.get("/users/me", headers=headers)).json()
    return headers, me["id"]


async def test_writes_are_recorded_with_what_changed_but_never_a_password(
    client: httpx.AsyncClient, add_user: AddUser, units: Units, api_settings: Settings, tag: str
) -> None:
    admin, admin_id = await _admin(client, add_user)
    body = {"name": f"clerk-{tag}", "role": "unit_user", "organisations": [units.a.organisation], "password": PASSWORD}
    created = await client.post("/users", json=body, headers=admin)
    assert created.status_code == 201, created.text
    user_id = created.json()["id"]
    assert created.json()["organisations"] == [units.a.organisation]
    again = await client.post("/users", json=body, headers=admin)
    assert again.status_code == 409
    assert "already a user" in again.json()["detail"]
    changed = await client.patch(f"/users/{user_id}", json={"password": "a new long password"}, headers=admin)
    assert changed.status_code == 200

    rows = audit_rows(api_settings.database_url, "user_id = %s AND action = 'users:write'", (admin_id,))
    assert [(r["method"], r["endpoint"], r["status"], r["outcome"]) for r in rows] == [
        ("POST", "/users", 201, "ok"),
        ("POST", "/users", 409, "conflict"),
        ("PATCH", "/users/{user_id}", 200, "ok"),
    ]
    assert rows[0]["resource_ids"] == [str(user_id)]
    assert rows[0]["params"] == {"name": body["name"], "role": "unit_user", "organisations": [units.a.organisation]}
    assert rows[2]["resource_ids"] == [str(user_id)]
    assert rows[2]["params"] == {"password": "changed"}
    assert all(PASSWORD not in str(r) and "a new long password" not in str(r) for r in rows)


async def test_logins_and_logouts_are_recorded(
    client: httpx.AsyncClient, add_user: AddUser, api_settings: Settings
) -> None:
    name = await add_user("dispatcher")
    await client.post("/auth/token", data={"username": name, "password": "not the password"})
    first = await login(client, name)
    pair = (await client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})).json()
    await client.post("/auth/logout", headers=bearer(pair["access_token"]))
    rows = audit_rows(api_settings.database_url, "user_name = %s", (name,))
    assert [(r["action"], r["outcome"]) for r in rows] == [
        ("auth:login", "unauthenticated"),
        ("auth:login", "ok"),
        ("auth:refresh", "ok"),
        ("me:write", "ok"),
    ]
    assert rows[0]["user_id"] is None  # who typed the name is unknown until the password matches
    assert rows[1]["user_id"] == rows[2]["user_id"] == rows[3]["user_id"] is not None
    assert rows[1]["resource_ids"] == rows[2]["resource_ids"] == rows[3]["resource_ids"]  # the session


async def test_invalid_writes_are_refused_with_a_reason(client: httpx.AsyncClient, add_user: AddUser, tag: str) -> None:
    admin, _ = await _admin(client, add_user)
    cases = [
        ({"name": f"u-{tag}", "role": "unit_user", "password": PASSWORD}, "needs at least one organisation"),
        ({"name": f"u-{tag}", "role": "auditor", "organisations": ["x"], "password": PASSWORD}, "unit users only"),
        ({"name": f"u-{tag}", "role": "auditor", "password": "short"}, "at least 12 characters"),
        ({"name": f"u-{tag}", "role": "unit_user", "organisations": [f"none-{tag}"], "password": PASSWORD}, "no such"),
        ({"name": "with space", "role": "auditor", "password": PASSWORD}, "pattern"),
        ({"name": f"u-{tag}", "role": "king", "password": PASSWORD}, "admin"),
        ({"name": f"u-{tag}", "role": "auditor", "password": PASSWORD, "extra": 1}, "extra"),
    ]
    for body, reason in cases:
        response = await client.post("/users", json=body, headers=admin)
        assert response.status_code == 422, body
        assert reason in response.text, (body, response.text)
    assert (await client.patch("/users/999999999", json={"disabled": True}, headers=admin)).status_code == 404


def test_the_audit_log_refuses_update_delete_and_truncate(db: psycopg.Connection, api_settings: Settings) -> None:
    # `db` connects as the cluster's superuser: the trigger holds even there.
    row = db.execute(
        "INSERT INTO audit_log (action, method, endpoint, status, outcome) VALUES ('test', 'GET', '/', 200, 'ok')"
        " RETURNING id"
    ).fetchone()
    assert row is not None
    for statement in (
        "UPDATE audit_log SET outcome = 'error' WHERE id = %s",
        "DELETE FROM audit_log WHERE id = %s",
    ):
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
            db.execute(statement, (row[0],))
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
        db.execute("TRUNCATE audit_log")
    assert audit_rows(api_settings.database_url, "id = %s", (row[0],))[0]["outcome"] == "ok"


async def test_admins_query_the_audit_log_with_filters_and_pages(
    client: httpx.AsyncClient, add_user: AddUser, units: Units
) -> None:
    admin, _ = await _admin(client, add_user)
    auditor_name = await add_user("auditor")
    auditor = bearer((await login(client, auditor_name))["access_token"])
    for vehicle in units.b.vehicles:
        assert (await client.get(f"/vehicles/{vehicle}", headers=auditor)).status_code == 200

    query = {"user_name": auditor_name, "action": "vehicles:read"}
    page = (await client.get("/audit", params={**query, "limit": 1}, headers=admin)).json()
    assert [r["resource_ids"] for r in page["items"]] == [[units.b.vehicles[1]]]  # newest first
    older = (
        await client.get("/audit", params={**query, "limit": 1, "before": page["next_before"]}, headers=admin)
    ).json()
    assert [r["resource_ids"] for r in older["items"]] == [[units.b.vehicles[0]]]
    by_resource = (await client.get("/audit", params={"resource_id": units.b.vehicles[0]}, headers=admin)).json()
    assert [r["user_name"] for r in by_resource["items"]] == [auditor_name]
    logins = (await client.get("/audit", params={"user_name": auditor_name, "outcome": "ok"}, headers=admin)).json()
    assert {r["action"] for r in logins["items"]} == {"auth:login", "vehicles:read"}

    for bad in ({"outcome": "fine"}, {"since": "yesterday"}, {"limit": "0"}, {"colour": "red"}):
        response = await client.get("/audit", params=bad, headers=admin)
        assert response.status_code == 422, bad
        assert response.json()["detail"]
