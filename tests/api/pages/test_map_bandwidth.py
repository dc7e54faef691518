"""The dispatch map over an office network, in headless Chromium against the running system: the browser negotiates
permessage-deflate on the map's stream, and a page that lost its connection asks only for what changed meanwhile."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from playwright.sync_api import Page

from tests.support.pages import TEST_VEHICLE, System, fix, login, until
from tests.support.waiting import wait_until


def test_the_map_stream_is_deflated_and_a_reconnecting_page_gets_only_what_changed(page: Page, system: System) -> None:
    handshakes: list[dict[str, Any]] = []
    devtools = page.context.new_cdp_session(page)
    devtools.send("Network.enable")
    devtools.on("Network.webSocketCreated", lambda event: handshakes.append({"url": event["url"]}))
    devtools.on(
        "Network.webSocketHandshakeResponseReceived",
        lambda event: handshakes[-1].update(headers={k.lower(): v for k, v in event["response"]["headers"].items()}),
    )
    login(page, system)
    until(page, "window.yiwang && window.yiwang.stream.snapshotAt && window.yiwang.stream.cursor")
    assert handshakes[0]["url"].endswith("/positions/stream")
    # The page has the snapshot, so the handshake's answer came before it: read as the page is asked once more.
    wait_until(lambda: page.evaluate("() => true") and "headers" in handshakes[0], 10, "the handshake's answer")
    assert handshakes[0]["headers"]["sec-websocket-extensions"].startswith("permessage-deflate")
    vehicles = page.evaluate("() => window.yiwang.layer.vehicles.size")

    # The connection drops; the test vehicle is reported elsewhere meanwhile (west of where test_map.py drives it
    # east from: the system is the package's, and the newest fix wins whichever test runs first).
    before = page.evaluate(f"() => window.yiwang.layer.get('{TEST_VEHICLE}').lon")
    page.evaluate("() => window.yiwang.stream.socket.close()")
    now = datetime.now(UTC)
    system.drive([fix(now + timedelta(seconds=i), 20 + i) for i in range(3)])
    until(page, "window.yiwang.stream.resumes === 1")
    assert "/positions/stream?since=" in handshakes[-1]["url"]
    until(page, f"Math.abs(window.yiwang.layer.get('{TEST_VEHICLE}').lon - {before}) > 0.004")
    assert page.evaluate("() => window.yiwang.stream.wholeMaps") == 1  # the whole map came once, at the start
    assert page.evaluate("() => window.yiwang.layer.vehicles.size") >= vehicles
    assert page.text_content("#stream-status") == "实时"
