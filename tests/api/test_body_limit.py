"""Request bodies: one anonymous upload of megabytes is refused (413) before it is read, so it holds no other
request; an import still takes a file larger than that limit; a refusal (422) never sends the input back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.support.api import AsUser, Units
from tests.support.files import upload
from yiwang.settings import Settings

MB = 1024 * 1024


async def _post_big(port: int, path: str, size: int, events: list[str], started: asyncio.Event) -> int:
    """POST `size` bytes of JSON as a client would (Content-Length up front), sending while reading the answer;
    `started` is set once the first MiB is out. `events` gets "answered", and "sent" when the whole body went out
    or "cut off" when the API closed first. The answer's status."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: yiwang.test\r\nContent-Type: application/json\r\nContent-Length: {size}\r\n\r\n"
    )
    # One JSON string as the refresh token: what the API's parser and its 422 would carry whole.
    body = b'{"refresh_token": "' + b"a" * (size - len(b'{"refresh_token": ""}')) + b'"}'
    assert len(body) == size

    async def send() -> None:
        try:
            writer.write(head.encode())
            for start in range(0, size, 64 * 1024):
                writer.write(body[start : start + 64 * 1024])
                await writer.drain()
                if start >= MB:
                    started.set()
            events.append("sent")
        except ConnectionError:
            events.append("cut off")

    sending = asyncio.create_task(send())
    try:
        status_line = await reader.readline()
        events.append("answered")
        await sending
    finally:
        sending.cancel()
        writer.close()
    return int(status_line.split()[1])


async def test_an_anonymous_40_mb_body_is_refused_before_it_is_read_and_holds_no_other_request(port: int) -> None:
    events: list[str] = []
    started = asyncio.Event()
    big = asyncio.create_task(_post_big(port, "/auth/refresh", 40 * MB, events, started))
    # Another client asks while the big body is on its way.
    await asyncio.wait_for(started.wait(), 30)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as other:
        health = await other.get("/health")
    status = await big

    assert health.status_code == 200
    assert status == 413
    # The API answered before the body was all sent: it neither waited for the 40 MB nor parsed them (today's
    # API read them whole, then held every request and WebSocket for seconds while it parsed and echoed them).
    assert events[0] == "answered", events


async def test_a_chunked_body_without_content_length_is_refused_once_it_passes_the_limit(
    port: int, api_settings: Settings
) -> None:
    limit = api_settings.api_max_body_bytes

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"refresh_token": "'
        for _ in range(4 * limit // (8 * 1024)):
            yield b"a" * 8 * 1024
        yield b'"}'

    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        request = client.build_request("POST", "/auth/refresh", content=chunks())
        assert "content-length" not in request.headers
        assert request.headers["transfer-encoding"] == "chunked"
        response = await client.send(request)
    assert response.status_code == 413, response.text[:200]
    assert response.json() == {"detail": f"the request body is larger than {limit:,} bytes: send less"}


async def test_an_import_still_takes_a_file_larger_than_the_limit_of_other_bodies(
    client: httpx.AsyncClient, units: Units, as_user: AsUser, api_settings: Settings, tag: str
) -> None:
    staff = await as_user("energy_staff")
    org = units.a.organisation
    rows = [f"i-{tag}-{n},{org},市第{n}中学,学校,否,2025,4200,180\n" for n in range(1600)]
    content = (
        "单位编号,所属组织编号,单位名称,类别,重点用能单位,年度,建筑面积（m²）,用能人数\n" + "".join(rows)
    ).encode()
    assert len(content) > api_settings.api_max_body_bytes

    response = await upload(client, "/registry/institutions", staff, content, "名录.csv")
    assert response.status_code == 200, response.text[:500]
    assert response.json()["created"] == 1600


async def test_a_422_does_not_send_the_input_back(client: httpx.AsyncClient) -> None:
    marker = "zq-distinctive-input-7c1e"
    bad = await client.post("/auth/refresh", json={"refresh_token": marker * 20})  # longer than a token may be
    assert bad.status_code == 422
    assert marker not in bad.text
    problems = bad.json()["detail"]
    assert problems
    assert all(set(problem) == {"loc", "msg", "type"} for problem in problems)
    assert all(marker not in problem["msg"] for problem in problems)
    assert [problem["loc"] for problem in problems if problem["type"] == "string_too_long"] == [
        ["body", "refresh_token"]
    ]

    # Invalid JSON: the position, not the text.
    broken = await client.post(
        "/auth/refresh", content=f'{{"refresh_token": "{marker}'.encode(), headers={"Content-Type": "application/json"}
    )
    assert broken.status_code == 422
    assert marker not in broken.text


async def test_a_websocket_message_over_the_limit_is_refused_before_it_is_parsed(
    port: int, api_settings: Settings
) -> None:
    # Before authentication: uvicorn's default took 32 queued messages of up to 16 MB each, parsed one by one.
    async with connect(f"ws://127.0.0.1:{port}/positions/stream", compression=None) as ws:
        await ws.send('{"type": "auth", "token": "' + "t" * (2 * api_settings.api_max_body_bytes) + '"}')
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1009  # message too big


async def test_every_route_that_reads_a_body_declares_the_413(client: httpx.AsyncClient) -> None:
    """A client generated from the schema (and the schema tests' oversized bodies) expects the limit's answer."""
    schema = (await client.get("/openapi.json")).json()
    with_body = [
        (path, method, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if "requestBody" in operation
    ]
    assert ("/areas", "post") in {(path, method) for path, method, _ in with_body}
    assert [(path, method) for path, method, operation in with_body if "413" not in operation["responses"]] == []
