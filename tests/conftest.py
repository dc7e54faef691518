"""Fixtures: a real TimescaleDB and Mosquitto started once per session on free loopback ports."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator

import psycopg
import pytest

from collector.metrics import Metrics
from db.migrate import migrate
from tests.support.broker import open_broker_from_database
from tests.support.collector import collecting
from tests.support.registry import Devices, register_devices
from tests.support.stack import make_stack_home, settings_for
from yiwang.settings import Settings
from yiwang.stack import Stack, free_port


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    """The session's database and broker; tests isolate themselves by topic root and device ids."""
    home = make_stack_home("test")
    s = Stack.at(home, free_port(), free_port(), shared_buffers="256MB", device_port=free_port())
    s.up()
    try:
        migrate(s.postgres.url)
        s.postgres.grant()
        asyncio.run(open_broker_from_database(s.postgres.url, s.mosquitto))
        yield s
    finally:
        s.down()
        if not os.environ.get("YIWANG_KEEP_TEST_STACK"):
            shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def tag() -> str:
    """A short name unique to the test, for its topic root and device ids."""
    return uuid.uuid4().hex[:8]


@pytest.fixture
def settings(stack: Stack, tag: str) -> Settings:
    return settings_for(stack, tag)


@pytest.fixture
async def devices(settings: Settings, tag: str) -> Devices:
    """Three meters and three vehicles of one organisation, registered for this test only."""
    return await register_devices(settings.database_url, tag, meters=3, vehicles=3)


@pytest.fixture
async def collector(settings: Settings, devices: Devices) -> AsyncIterator[Metrics]:
    """A collector running in this event loop until the test ends, then stopped as by SIGTERM."""
    async with collecting(settings) as metrics:
        yield metrics


@pytest.fixture
def db(stack: Stack) -> Iterator[psycopg.Connection]:
    with psycopg.connect(stack.postgres.url, autocommit=True) as conn:
        yield conn
