"""Fixtures of the API tests: the app on the session's real TimescaleDB, two units, users of every role."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import psycopg
import pytest
from fastapi import FastAPI
from psycopg.rows import dict_row

from api.access import Role
from api.app import create_app
from api.users import create_user
from tests.conftest import settings_for
from tests.support import Devices, register_devices
from yiwang.settings import Settings
from yiwang.stack import Stack

PASSWORD = "correct horse battery staple"


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


def address_for(tag: str, n: int = 0) -> str:
    """A client address of this test alone: login limits count per address, and tests share the database."""
    digest = hashlib.sha256(f"{tag}/{n}".encode()).digest()
    return f"10.{digest[0]}.{digest[1]}.{digest[2]}"


@asynccontextmanager
async def client_at(app: FastAPI, address: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://yiwang.test") as client:
        yield client


@pytest.fixture
async def client(app: FastAPI, tag: str) -> AsyncIterator[httpx.AsyncClient]:
    async with client_at(app, address_for(tag)) as c:
        yield c


@dataclass(frozen=True)
class Unit:
    organisation: str
    institution: str
    meters: list[str]
    vehicles: list[str]


@dataclass(frozen=True)
class Units:
    a: Unit
    b: Unit


def _unit(devices: Devices, tag: str) -> Unit:
    return Unit(devices.organisation, f"inst-{tag}", devices.meters, devices.vehicles)


@pytest.fixture
async def units(api_settings: Settings, tag: str) -> Units:
    """Two units of this test, each with an institution, two meters and two vehicles."""
    a = await register_devices(api_settings.database_url, f"{tag}a", meters=2, vehicles=2)
    b = await register_devices(api_settings.database_url, f"{tag}b", meters=2, vehicles=2)
    return Units(_unit(a, f"{tag}a"), _unit(b, f"{tag}b"))


AddUser = Callable[..., Awaitable[str]]


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


async def login(client: httpx.AsyncClient, name: str, password: str = PASSWORD) -> dict[str, str]:
    """Log in; the token pair."""
    response = await client.post("/auth/token", data={"username": name, "password": password})
    assert response.status_code == 200, response.text
    body: dict[str, str] = response.json()
    return body


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def as_user(client: httpx.AsyncClient, add_user: AddUser) -> Callable[..., Awaitable[dict[str, str]]]:
    """Add a user of a role and log in: the headers of their requests."""

    async def make(role: Role, *organisations: str) -> dict[str, str]:
        name = await add_user(role, *organisations)
        return bearer((await login(client, name))["access_token"])

    return make


def audit_rows(url: str, where: str, params: tuple[object, ...]) -> list[dict[str, object]]:
    """Audit records straight from the table, oldest first."""
    with psycopg.connect(url, autocommit=True) as conn, conn.cursor(row_factory=dict_row) as cur:
        cur.execute(f"SELECT * FROM audit_log WHERE {where} ORDER BY id", params)  # type: ignore[arg-type]
        return cur.fetchall()
