"""Proxy headers: the API served as `yiwang api` serves it believes X-Forwarded-For only from the proxies it is
told to trust (none by default), so a client cannot choose the address the login limit and the audit log see."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from tests.support.api import audit_rows, serving
from yiwang.settings import Settings

FORGED = "203.0.113.77"


async def _failed_login_address(app: FastAPI, settings: Settings, name: str) -> object:
    """Fail a login as `name` from 127.0.0.1 with X-Forwarded-For: FORGED; the address its audit record holds."""
    async with serving(app, settings) as port, httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        response = await client.post(
            "/auth/token", data={"username": name, "password": "a wrong password"}, headers={"X-Forwarded-For": FORGED}
        )
    assert response.status_code == 401
    [record] = audit_rows(settings.database_url, "user_name = %s", (name,))
    return record["address"]


async def test_by_default_a_forwarded_for_header_does_not_change_the_address(
    app: FastAPI, api_settings: Settings, tag: str
) -> None:
    assert api_settings.api_trusted_proxies == ""
    assert await _failed_login_address(app, api_settings, f"nobody-{tag}") == "127.0.0.1"


async def test_a_trusted_proxy_gives_the_client_address(app: FastAPI, api_settings: Settings, tag: str) -> None:
    behind_proxy = api_settings.model_copy(update={"api_trusted_proxies": "10.9.8.7, 127.0.0.1"})
    assert await _failed_login_address(app, behind_proxy, f"proxied-{tag}") == FORGED
