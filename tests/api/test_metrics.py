"""The API's Prometheus metrics: by route template and status, WebSocket clients, the database's size; served on the
metrics port only, never to a caller of the public port."""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import AsyncIterator

import httpx
import orjson
import pytest
from fastapi import FastAPI
from websockets.asyncio.client import connect

from api.app import create_app
from tests.support.api import AsUser, serving
from tests.support.stack import settings_for
from tests.support.waiting import eventually
from yiwang.settings import Settings
from yiwang.stack import Stack, free_port


@pytest.fixture
def api_settings(stack: Stack, tag: str) -> Settings:
    """The API with its metrics on a port of this test's own."""
    return settings_for(stack, tag, api_token_secret=secrets.token_urlsafe(48), api_metrics_port=free_port())


@pytest.fixture
async def app(api_settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(api_settings)
    async with application.router.lifespan_context(application):
        yield application


async def scraped(settings: Settings) -> str:
    """What Prometheus reads at the metrics port (served by the app's event loop, which this test shares)."""
    async with httpx.AsyncClient(timeout=5) as scraper:
        response = await scraper.get(f"http://127.0.0.1:{settings.api_metrics_port}/metrics")
    assert response.status_code == 200
    return response.text


async def test_requests_are_counted_by_route_template_and_status_never_by_raw_path(
    client: httpx.AsyncClient, as_user: AsUser, api_settings: Settings
) -> None:
    admin = await as_user("admin")
    for vehicle_id in ("no-such-a", "no-such-b", "no-such-c"):
        assert (await client.get(f"/vehicles/{vehicle_id}", headers=admin)).status_code == 404
    assert (await client.get("/vehicles/no-such-d")).status_code == 401
    # A caller walking paths that do not exist adds no series of its own.
    for _ in range(20):
        assert (await client.get(f"/{uuid.uuid4().hex}")).status_code == 404
    for _ in range(3):
        await client.request(f"X{uuid.uuid4().hex[:6].upper()}", "/health")
    text = await scraped(api_settings)
    assert 'yiwang_api_requests_total{method="GET",route="/vehicles/{vehicle_id}",status="404"} 3.0' in text
    assert 'yiwang_api_requests_total{method="GET",route="/vehicles/{vehicle_id}",status="401"} 1.0' in text
    assert 'yiwang_api_requests_total{method="GET",route="unrouted",status="404"} 20.0' in text
    assert 'yiwang_api_requests_total{method="other",route="/health",status="405"} 3.0' in text
    assert "no-such" not in text
    assert 'yiwang_api_request_seconds_count{route="/vehicles/{vehicle_id}"} 4.0' in text


async def test_the_public_port_serves_no_metrics_to_anyone(
    app: FastAPI, api_settings: Settings, client: httpx.AsyncClient, as_user: AsUser
) -> None:
    """An anonymous caller, or any user, at the public port learns nothing of the API's traffic or the database's
    size: /metrics is served on the metrics port alone (on loopback by default)."""
    admin = await as_user("admin")
    assert (await client.get("/health")).status_code == 200
    async with serving(app, api_settings) as port, httpx.AsyncClient(timeout=5) as caller:
        for headers in ({}, admin):
            response = await caller.get(f"http://127.0.0.1:{port}/metrics", headers=headers)
            assert response.status_code == 404
            assert "yiwang_" not in response.text
    assert "yiwang_api_requests_total" in await scraped(api_settings)
    assert api_settings.metrics_host == "127.0.0.1"


async def test_websocket_clients_are_counted_while_connected(
    app: FastAPI, api_settings: Settings, as_user: AsUser
) -> None:
    metrics = app.state.metrics
    token = (await as_user("dispatcher"))["Authorization"].removeprefix("Bearer ")
    async with serving(app, api_settings) as port:
        async with connect(f"ws://127.0.0.1:{port}/positions/stream", compression=None) as ws:
            await ws.send(orjson.dumps({"type": "auth", "token": token}).decode())
            await eventually(lambda: metrics.registry.get_sample_value("yiwang_api_websocket_clients") == 1)
            assert "yiwang_api_websocket_clients 1.0" in await scraped(api_settings)
        await eventually(lambda: metrics.registry.get_sample_value("yiwang_api_websocket_clients") == 0)


async def test_the_database_size_is_measured(app: FastAPI) -> None:
    metrics = app.state.metrics
    await eventually(lambda: (metrics.registry.get_sample_value("yiwang_database_size_bytes") or 0) > 1_000_000)


async def test_a_callback_holding_the_event_loop_is_measured_as_that_much_lag(app: FastAPI) -> None:
    """Every request waits behind what holds the API's event loop: a blocking call of 0.5 s on it (the fault the
    metric is there to show, made here on purpose) is one wake-up more than 0.25 s late (the timer was due at
    most 0.1 s into it)."""
    registry = app.state.metrics.registry

    def late(at_least: str) -> float:
        return (registry.get_sample_value("yiwang_api_event_loop_lag_seconds_count") or 0) - (
            registry.get_sample_value("yiwang_api_event_loop_lag_seconds_bucket", {"le": at_least}) or 0
        )

    await eventually(lambda: (registry.get_sample_value("yiwang_api_event_loop_lag_seconds_count") or 0) >= 1)
    before = late("0.25")
    time.sleep(0.5)  # noqa: ASYNC251 - the fault itself: the loop held (not a wait for a condition)
    await eventually(lambda: late("0.25") > before)
