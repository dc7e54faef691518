"""What crosses an office network: HTTP answers gzipped for clients that accept it (the security headers kept, a
streamed export still streamed), the files that are compressed already left alone, and the map's WebSocket
compressed with permessage-deflate, as browsers ask. Through a real uvicorn with `yiwang api`'s options."""

from __future__ import annotations

import asyncio
import gzip
import secrets
import zlib
from datetime import timedelta

import httpx
import orjson
import psycopg
import pytest
from fastapi import FastAPI
from websockets.asyncio.client import ClientConnection, connect

from api.headers import ALWAYS
from api.live.deflate import COMPRESSED, SHARED_BYTES
from api.live.follower import Live
from tests.support.api import AsUser, Units
from tests.support.fleet import place
from tests.support.registry import register_devices
from tests.support.stack import settings_for
from tests.support.waiting import eventually
from yiwang.settings import Settings
from yiwang.stack import Stack


@pytest.fixture
def api_settings(stack: Stack, tag: str) -> Settings:
    """A small threshold, so that a unit's two vehicles make an answer worth compressing."""
    return settings_for(
        stack, tag, api_token_secret=secrets.token_urlsafe(48), api_gzip_min_bytes=256, live_refresh_seconds=0.2
    )


def _plain(headers: dict[str, str]) -> dict[str, str]:
    return {**headers, "Accept-Encoding": "identity"}


def _features(body: bytes) -> list[dict[str, object]]:
    """The features without their ages, which move with the clock."""
    features: list[dict[str, object]] = orjson.loads(body)["features"]
    for feature in features:
        properties = feature["properties"]
        assert isinstance(properties, dict)
        properties.pop("age_seconds")
    return features


async def test_the_live_map_is_gzipped_for_a_client_that_accepts_it_with_vary_and_the_security_headers(
    app: FastAPI, port: int, units: Units, as_user: AsUser, api_settings: Settings
) -> None:
    a = units.a
    for vehicle in a.vehicles:
        place(api_settings.database_url, vehicle, 29.27, 117.18, timedelta(seconds=20))
    live: Live = app.state.resources.live
    await eventually(lambda: all(v in live.feed._map for v in a.vehicles), 10)
    headers = await as_user("dispatcher")
    params = {"organisation_id": a.organisation}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
        plain = await http.get("/positions/live", headers=_plain(headers), params=params)
        async with http.stream(
            "GET", "/positions/live", headers={**headers, "Accept-Encoding": "gzip"}, params=params
        ) as response:
            raw = b"".join([chunk async for chunk in response.aiter_raw()])
    assert response.status_code == 200
    assert response.headers["content-encoding"] == "gzip"
    assert "accept-encoding" in response.headers["vary"].lower()
    assert int(response.headers["content-length"]) == len(raw) < len(plain.content)
    for name, value in ALWAYS.items():
        assert response.headers[name] == value
    assert response.headers["content-security-policy"] == plain.headers["content-security-policy"]
    assert _features(gzip.decompress(raw)) == _features(plain.content)
    # A client that asks for none gets none, and is told that the answer varies with what it accepts.
    assert "content-encoding" not in plain.headers
    assert "accept-encoding" in plain.headers["vary"].lower()


async def test_a_streamed_csv_export_is_gzipped_as_it_streams_and_an_xlsx_is_left_as_it_is(
    port: int, units: Units, as_user: AsUser
) -> None:
    staff = await as_user("energy_staff")
    period = {"start": "2025-01-01", "end": "2026-01-01", "institution_id": units.a.institution}
    # Without the provenance lines: they say when the file was made, to the second, and the two requests may straddle
    # a second on a busy machine.
    params = {**period, "view": "factors", "language": "en", "provenance": "false"}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
        plain = await http.get("/exports/energy.csv", headers=_plain(staff), params=params)
        assert plain.status_code == 200, plain.text
        async with http.stream(
            "GET", "/exports/energy.csv", headers={**staff, "Accept-Encoding": "gzip"}, params=params
        ) as response:
            raw = b"".join([chunk async for chunk in response.aiter_raw()])
        workbook = await http.get(
            "/exports/energy.xlsx", headers={**staff, "Accept-Encoding": "gzip"}, params={**period, "language": "en"}
        )
    assert response.status_code == 200
    assert response.headers["content-encoding"] == "gzip"
    # Still a stream: sent in chunks as they are written, its length unknown beforehand (never buffered whole).
    assert response.headers["transfer-encoding"] == "chunked"
    assert "content-length" not in response.headers
    assert gzip.decompress(raw) == plain.content
    assert response.headers["content-disposition"] == plain.headers["content-disposition"]
    # An XLSX is a zip already: sent as it is.
    assert workbook.status_code == 200
    assert "content-encoding" not in workbook.headers
    assert workbook.content[:2] == b"PK"


async def test_the_map_stream_negotiates_permessage_deflate_as_browsers_offer_it(port: int, as_user: AsUser) -> None:
    token = (await as_user("dispatcher"))["Authorization"].removeprefix("Bearer ")
    # websockets offers permessage-deflate as Chromium does (client_max_window_bits).
    async with connect(f"ws://127.0.0.1:{port}/positions/stream", compression="deflate") as ws:
        await ws.send(orjson.dumps({"type": "auth", "token": token}).decode())
        snapshot = orjson.loads(await ws.recv())
        assert ws.response is not None
        assert ws.response.headers.get("Sec-WebSocket-Extensions", "").startswith("permessage-deflate")
    assert snapshot["type"] == "FeatureCollection"


async def _message_naming(ws: ClientConnection, ids: list[str]) -> str:
    """The first message that names every one of `ids`."""
    async with asyncio.timeout(30):
        while True:
            message = await ws.recv()
            assert isinstance(message, str)
            if all(i in message for i in ids):
                return message


async def test_a_change_is_compressed_once_for_every_client_that_follows_it(
    port: int, as_user: AsUser, api_settings: Settings, tag: str
) -> None:
    """The fan-out's cost: every map client of a scope gets the same text, so the server compresses it once (each
    message on its own: server_no_context_takeover) and each client still inflates it as its own."""
    devices = await register_devices(api_settings.database_url, f"{tag}c", meters=0, vehicles=8)
    token = (await as_user("unit_user", devices.organisation))["Authorization"].removeprefix("Bearer ")
    stream = f"ws://127.0.0.1:{port}/positions/stream"
    async with (
        connect(stream, compression="deflate") as one,
        connect(stream, compression="deflate") as two,
        connect(stream, compression=None) as plain,
    ):
        for ws in (one, two, plain):
            await ws.send(orjson.dumps({"type": "auth", "token": token}).decode())
            await ws.recv()  # the snapshot
        for ws in (one, two):
            assert ws.response is not None
            assert "server_no_context_takeover" in ws.response.headers["Sec-WebSocket-Extensions"]
        misses, hits = COMPRESSED.misses, COMPRESSED.hits
        with psycopg.connect(api_settings.database_url) as conn:  # one commit: one change naming all eight
            for i, vehicle in enumerate(devices.vehicles):
                conn.execute(
                    """INSERT INTO live_position (vehicle_id, time, latitude, longitude, speed, heading, odometer,
                                                  ignition, received_at)
                       VALUES (%s, now(), %s, 117.2, 40, 90, 1000, true, now())""",
                    (vehicle, 29.3 + i / 1000),
                )
        received = [await _message_naming(ws, devices.vehicles) for ws in (one, two, plain)]
    assert len(received[0]) >= SHARED_BYTES
    assert received[0] == received[1] == received[2]
    # Each message of this scope was compressed for the first client and taken as it was for the second.
    assert COMPRESSED.misses - misses >= 1
    assert COMPRESSED.hits - hits == COMPRESSED.misses - misses


def test_a_shared_compression_inflates_to_the_message_and_is_kept_for_the_next_client() -> None:
    message = orjson.dumps([{"vehicle_id": f"v{i}", "latitude": 29.3 + i / 1000} for i in range(100)])
    first = COMPRESSED.of(message, 12)
    again = COMPRESSED.of(bytes(message), 12)  # an equal message, another object: as each client's send makes it
    assert again is first
    # What a client does (RFC 7692 7.2.2): append the empty block and inflate with the negotiated window.
    assert zlib.decompressobj(wbits=-12).decompress(first + b"\x00\x00\xff\xff") == message
    assert len(first) < len(message) / 4
