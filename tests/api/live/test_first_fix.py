"""A vehicle registered while the API runs shows on the live map with its first fix, however soon the map read it
after the registry named it: a look that found it without a fix does not take it for a retired vehicle."""

from __future__ import annotations

from datetime import timedelta

import httpx
import psycopg
import pytest
from fastapi import FastAPI

from api.live.feed import LiveFeed
from db.live import VEHICLE_CHANNEL
from tests.support.api import AsUser
from tests.support.fleet import live, place
from tests.support.registry import register_devices
from tests.support.stack import settings_for
from tests.support.waiting import eventually
from yiwang.settings import Settings
from yiwang.stack import Stack


@pytest.fixture
def api_settings(stack: Stack, tag: str) -> Settings:
    """The API whose map looks at the database only when a request asks: the test orders every look."""
    return settings_for(stack, tag, api_token_secret="s" * 48, live_batch_ms=3_600_000, live_refresh_seconds=3600.0)


def heard(url: str, feed: LiveFeed, probe: str) -> bool:
    """Whether the map has heard a notification on the registry's channel yet; another one is sent meanwhile (the
    map starts listening in the background, and one sent before is lost)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_notify(%s, %s)", (VEHICLE_CHANNEL, probe))
    return probe in feed.dirty


async def test_a_vehicle_registered_and_read_before_its_first_fix_shows_with_that_fix(
    app: FastAPI, client: httpx.AsyncClient, as_user: AsUser, api_settings: Settings, tag: str
) -> None:
    url = api_settings.database_url
    feed: LiveFeed = app.state.resources.live.feed
    await eventually(lambda: heard(url, feed, f"probe-{tag}"), 10)
    [new] = (await register_devices(url, f"{tag}n", meters=0, vehicles=1)).vehicles
    await eventually(lambda: new in feed.dirty, 10)  # the registry's notification reached the map
    headers = await as_user("dispatcher")
    assert new not in await live(client, headers)  # this request's look read it: registered, no fix yet

    place(url, new, 29.27, 117.18, timedelta(seconds=5))  # its terminal's first fix, committed before the request
    assert new in await live(client, headers)
