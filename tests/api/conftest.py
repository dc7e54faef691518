"""Fixtures of the API tests: the app on the session's real TimescaleDB, two units, users of every role."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator

import httpx
import psycopg
import pytest
from fastapi import FastAPI

from api.access.rules import Role
from api.access.users import create_user
from api.app import create_app
from tests.support.api import (
    PASSWORD,
    AddUser,
    AsUser,
    Units,
    address_for,
    bearer,
    client_at,
    login,
    serving,
    unit_of,
)
from tests.support.registry import register_devices
from tests.support.stack import settings_for
from yiwang.settings import Settings
from yiwang.stack import Stack


@pytest.fixture
def api_settings(stack: Stack, tag: str) -> Settings:
    """Settings with a token secret made for this test (the API refuses to start without one)."""
    return settings_for(stack, tag, api_token_secret=secrets.token_urlsafe(48))


@pytest.fixture
async def app(api_settings: Settings) -> AsyncIterator[FastAPI]:
    """The app with its lifespan running (httpx's ASGITransport does not run it)."""
    application = create_app(api_settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def port(app: FastAPI, api_settings: Settings) -> AsyncIterator[int]:
    """The app served by a real uvicorn on a free port, with the options `yiwang api` uses."""
    async with serving(app, api_settings) as p:
        yield p


@pytest.fixture
async def client(app: FastAPI, tag: str) -> AsyncIterator[httpx.AsyncClient]:
    async with client_at(app, address_for(tag)) as c:
        yield c


@pytest.fixture
async def units(api_settings: Settings, tag: str) -> Units:
    """Two units of this test, each with an institution, two meters and two vehicles."""
    a = await register_devices(api_settings.database_url, f"{tag}a", meters=2, vehicles=2)
    b = await register_devices(api_settings.database_url, f"{tag}b", meters=2, vehicles=2)
    return Units(unit_of(a, f"{tag}a"), unit_of(b, f"{tag}b"))


@pytest.fixture
def add_user(api_settings: Settings, tag: str) -> AddUser:
    """Add a user of this test (as `yiwang user add` does) and return their name."""
    count = 0

    async def add(role: Role, *organisations: str, password: str = PASSWORD) -> str:
        nonlocal count
        count += 1
        name = f"{role}-{tag}-{count}"
        async with await psycopg.AsyncConnection.connect(api_settings.database_url) as conn:
            await create_user(conn, name, password, role, organisations)
        return name

    return add


@pytest.fixture
def as_user(client: httpx.AsyncClient, add_user: AddUser) -> AsUser:
    """Add a user of a role and log in: the headers of their requests."""

    async def make(role: Role, *organisations: str) -> dict[str, str]:
        name = await add_user(role, *organisations)
        return bearer((await login(client, name))["access_token"])

    return make
