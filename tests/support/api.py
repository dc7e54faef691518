"""The API in tests: users of every role logged in, two units with devices, a client at an address of its own, the
audit log read straight from its table."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import psycopg
import uvicorn
from fastapi import FastAPI
from psycopg.rows import dict_row

from api.server import server_options
from tests.support.registry import Devices
from tests.support.waiting import eventually
from yiwang.settings import Settings
from yiwang.stack import free_port

PASSWORD = "correct horse battery staple"


def address_for(tag: str, n: int = 0) -> str:
    """A client address of this test alone: login limits count per address, and tests share the database."""
    digest = hashlib.sha256(f"{tag}/{n}".encode()).digest()
    return f"10.{digest[0]}.{digest[1]}.{digest[2]}"


@asynccontextmanager
async def client_at(app: FastAPI, address: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://yiwang.test") as client:
        yield client


@asynccontextmanager
async def serving(app: FastAPI, settings: Settings) -> AsyncIterator[int]:
    """The app (its lifespan already running) behind a real uvicorn on a free loopback port, with the options of
    `yiwang api` (api/server.py): its port."""
    port = free_port()
    options = {**server_options(settings), "host": "127.0.0.1", "port": port, "log_level": "warning"}
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", **options))
    task = asyncio.create_task(server.serve())
    await eventually(lambda: server.started or task.done(), 10)
    try:
        yield port
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


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


def unit_of(devices: Devices, tag: str) -> Unit:
    """The unit that `register_devices` registered under this tag."""
    return Unit(devices.organisation, f"inst-{tag}", devices.meters, devices.vehicles)


AddUser = Callable[..., Awaitable[str]]
AsUser = Callable[..., Awaitable[dict[str, str]]]


async def login(client: httpx.AsyncClient, name: str, password: str = PASSWORD) -> dict[str, str]:
    """Log in; the token pair."""
    response = await client.post("/auth/token", data={"username": name, "password": password})
    assert response.status_code == 200, response.text
    body: dict[str, str] = response.json()
    return body


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass(frozen=True)
class Person:
    """A user logged in: the headers of their requests, their id and name."""

    headers: dict[str, str]
    id: int
    name: str


async def person(client: httpx.AsyncClient, as_user: AsUser, role: str, *organisations: str) -> Person:
    """A new user of a role (and organisations), logged in."""
    headers = await as_user(role, *organisations)
    me = (await client.get("/users/me", headers=headers)).json()
    return Person(headers, me["id"], me["name"])


def audit_rows(url: str, where: str, params: tuple[object, ...]) -> list[dict[str, object]]:
    """Audit records straight from the table, oldest first."""
    with psycopg.connect(url, autocommit=True) as conn, conn.cursor(row_factory=dict_row) as cur:
        cur.execute(f"SELECT * FROM audit_log WHERE {where} ORDER BY id", params)  # type: ignore[arg-type]
        return cur.fetchall()
