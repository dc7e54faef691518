"""Logging in, tokens and their end: against the real database through the ASGI app."""

from __future__ import annotations

import base64
import json
import secrets
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI

from api.access.tokens import AccessTokens, TokenSecretError
from api.app import create_app
from tests.support.api import PASSWORD, AddUser, address_for, bearer, client_at, login
from tests.support.registry import register_devices
from tests.support.stack import settings_for
from yiwang.settings import Settings
from yiwang.stack import Stack


async def test_login_gives_a_bearer_token_pair_that_opens_users_me(
    client: httpx.AsyncClient, add_user: AddUser
) -> None:
    name = await add_user("dispatcher")
    pair = await login(client, name)
    assert pair["token_type"] == "bearer"
    assert pair["expires_in"] == 15 * 60
    assert pair["refresh_token"]
    me = await client.get("/users/me", headers=bearer(pair["access_token"]))
    assert me.status_code == 200
    assert me.json()["name"] == name
    assert me.json()["role"] == "dispatcher"
    assert me.json()["organisations"] == []


async def test_login_name_is_the_same_in_any_case(client: httpx.AsyncClient, add_user: AddUser) -> None:
    name = await add_user("auditor")
    assert (await client.post("/auth/token", data={"username": name.upper(), "password": PASSWORD})).status_code == 200


@pytest.mark.parametrize("who", ["wrong password", "unknown user"])
async def test_a_wrong_password_or_unknown_user_is_401_with_a_challenge(
    client: httpx.AsyncClient, add_user: AddUser, who: str
) -> None:
    name = await add_user("auditor")
    form = (
        {"username": name, "password": "not the password!"}
        if who == "wrong password"
        else {
            "username": f"nobody-{name}",
            "password": PASSWORD,
        }
    )
    response = await client.post("/auth/token", data=form)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["detail"] == "wrong user name or password"


async def test_a_login_without_its_form_fields_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post("/auth/token", data={"username": "someone"})
    assert response.status_code == 422
    assert "password" in response.text


async def test_a_successful_login_forgives_the_users_earlier_failures(
    app: FastAPI, tag: str, add_user: AddUser
) -> None:
    name = await add_user("auditor")
    for attempt in range(4):
        async with client_at(app, address_for(tag, attempt)) as client:
            await client.post("/auth/token", data={"username": name, "password": "a wrong guess"})
    async with client_at(app, address_for(tag, 10)) as client:
        await login(client, name)
    for attempt in range(4):
        async with client_at(app, address_for(tag, 20 + attempt)) as client:
            assert (
                await client.post("/auth/token", data={"username": name, "password": "wrong again"})
            ).status_code == 401
    async with client_at(app, address_for(tag, 30)) as client:
        await login(client, name)


async def test_no_token_or_a_malformed_one_is_401_with_a_challenge(client: httpx.AsyncClient) -> None:
    for headers in ({}, {"Authorization": "Bearer"}, bearer("not-a-jwt"), {"Authorization": "Basic dXNlcjpwYXNz"}):
        response = await client.get("/users/me", headers=headers)
        assert response.status_code == 401, headers
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.json()["detail"]


async def test_an_expired_access_token_is_refused(
    client: httpx.AsyncClient, add_user: AddUser, api_settings: Settings
) -> None:
    name = await add_user("dispatcher")
    pair = await login(client, name)
    me = (await client.get("/users/me", headers=bearer(pair["access_token"]))).json()
    tokens = AccessTokens(api_settings.api_token_secret or "", timedelta(minutes=15))
    claims = tokens.read(pair["access_token"])
    # The same user and live session, signed with the right key, but issued 16 minutes ago.
    expired, _ = tokens.issue(me["id"], claims.session_id, now=datetime.now(UTC) - timedelta(minutes=16))
    response = await client.get("/users/me", headers=bearer(expired))
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


def _payload(token: str) -> dict[str, object]:
    part = token.split(".")[1]
    result: dict[str, object] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return result


def _with_payload(token: str, payload: dict[str, object]) -> str:
    header, _, signature = token.split(".")
    body = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    return f"{header}.{body}.{signature}"


async def test_a_tampered_or_foreign_token_is_refused(
    client: httpx.AsyncClient, add_user: AddUser, api_settings: Settings
) -> None:
    name = await add_user("unit_user", *await _an_organisation(api_settings))
    pair = await login(client, name)
    payload = _payload(pair["access_token"])
    # A longer life, with the signature of the original: refused.
    longer = _with_payload(pair["access_token"], {**payload, "exp": int(payload["exp"]) + 3600})  # type: ignore[call-overload]
    response = await client.get("/users/me", headers=bearer(longer))
    assert response.status_code == 401
    assert "signature" in response.json()["detail"]
    # Signed correctly, but with another key: refused.
    other = AccessTokens(secrets.token_urlsafe(48), timedelta(minutes=15))
    forged, _ = other.issue(int(payload["sub"]), str(payload["sid"]))  # type: ignore[call-overload]
    assert (await client.get("/users/me", headers=bearer(forged))).status_code == 401
    # "alg": "none" with no signature: refused.
    header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
    unsigned = header + "." + pair["access_token"].split(".")[1] + "."
    assert (await client.get("/users/me", headers=bearer(unsigned))).status_code == 401
    # The untouched token still works: what failed above was the tampering.
    assert (await client.get("/users/me", headers=bearer(pair["access_token"]))).status_code == 200


async def _an_organisation(settings: Settings) -> list[str]:
    devices = await register_devices(settings.database_url, f"o{secrets.token_hex(4)}", meters=0, vehicles=0)
    return [devices.organisation]


async def test_logout_refuses_the_sessions_access_and_refresh_tokens(
    client: httpx.AsyncClient, add_user: AddUser
) -> None:
    name = await add_user("energy_staff")
    pair = await login(client, name)
    other = await login(client, name)  # another session of the same user (another browser)
    assert (await client.get("/users/me", headers=bearer(pair["access_token"]))).status_code == 200
    out = await client.post("/auth/logout", headers=bearer(pair["access_token"]))
    assert out.status_code == 204
    after = await client.get("/users/me", headers=bearer(pair["access_token"]))
    assert after.status_code == 401
    assert "ended" in after.json()["detail"]
    refreshed = await client.post("/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert refreshed.status_code == 401
    # Only that session ended.
    assert (await client.get("/users/me", headers=bearer(other["access_token"]))).status_code == 200


async def test_refresh_rotates_and_a_used_refresh_token_ends_the_session(
    client: httpx.AsyncClient, add_user: AddUser
) -> None:
    name = await add_user("dispatcher")
    first = await login(client, name)
    response = await client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert response.status_code == 200, response.text
    second = response.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert (await client.get("/users/me", headers=bearer(second["access_token"]))).status_code == 200
    # The first refresh token again: someone copied it. Refused, and the whole session ends.
    reused = await client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert reused.status_code == 401
    assert "already used" in reused.json()["detail"]
    assert (await client.post("/auth/refresh", json={"refresh_token": second["refresh_token"]})).status_code == 401
    assert (await client.get("/users/me", headers=bearer(second["access_token"]))).status_code == 401


async def test_an_unknown_or_missing_refresh_token_is_refused(client: httpx.AsyncClient) -> None:
    unknown = await client.post("/auth/refresh", json={"refresh_token": secrets.token_urlsafe(32)})
    assert unknown.status_code == 401
    assert unknown.headers["www-authenticate"] == "Bearer"
    assert (await client.post("/auth/refresh", json={})).status_code == 422


async def test_a_disabled_user_is_refused_at_once_and_at_login(client: httpx.AsyncClient, add_user: AddUser) -> None:
    admin = bearer((await login(client, await add_user("admin")))["access_token"])
    name = await add_user("auditor")
    pair = await login(client, name)
    me = (await client.get("/users/me", headers=bearer(pair["access_token"]))).json()
    changed = await client.patch(f"/users/{me['id']}", json={"disabled": True}, headers=admin)
    assert changed.status_code == 200, changed.text
    assert changed.json()["disabled"] is True
    assert (await client.get("/users/me", headers=bearer(pair["access_token"]))).status_code == 401
    refused = await client.post("/auth/token", data={"username": name, "password": PASSWORD})
    assert refused.status_code == 401
    assert "disabled" in refused.json()["detail"]


@pytest.mark.parametrize("secret", [None, "", "too short a secret"])
def test_the_api_refuses_to_start_without_a_long_enough_secret(stack: Stack, tag: str, secret: str | None) -> None:
    with pytest.raises(TokenSecretError, match="YIWANG_API_TOKEN_SECRET"):
        create_app(settings_for(stack, tag, api_token_secret=secret))
