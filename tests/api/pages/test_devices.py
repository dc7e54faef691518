"""The refused messages page in headless Chromium: an admin finds the device that sends what cannot be read."""

from __future__ import annotations

from playwright.sync_api import Page

from domain.topics import topic
from tests.support.pages import TEST_VEHICLE, System, login, screenshot, until
from tests.support.waiting import wait_until


def test_an_admin_finds_a_misconfigured_terminal_and_sees_why_its_messages_are_refused(
    page: Page, system: System
) -> None:
    # A terminal configured with a wrong payload format: its positions are refused, each with its reason.
    position = topic(system.root, "vehicle", TEST_VEHICLE, "position")
    system.publish([(position, b"$GPRMC,123519,A,4807.038,N,01131.000,E*6A")] * 3)
    wait_until(
        lambda: any(d["device_id"] == TEST_VEHICLE for d in system.api("GET", "/dead-letters/devices")),
        30,
        "the refusals recorded",
    )
    login(page, system)
    page.click("header.top nav a[data-page=devices]")
    page.wait_for_url("**/devices.html*")
    row = page.locator(f"#device-table tr[data-device='{TEST_VEHICLE}']")
    row.wait_for()
    assert "不是合法 JSON (malformed_json) \u00d7 3" in (row.text_content() or "")
    row.click()
    page.locator("#letter-table tr[data-letter]").first.wait_for()
    letters = page.locator("#letter-table tr[data-letter]").all_text_contents()
    assert len(letters) >= 3
    assert all("$GPRMC,123519" in text for text in letters[:3])
    screenshot(page, "devices-refused")
    # In English too, with the reason in words.
    page.click("#lang-switch")
    page.wait_for_load_state()
    until(page, f"document.querySelector(\"#device-table tr[data-device='{TEST_VEHICLE}']\") !== null")
    text = page.locator(f"#device-table tr[data-device='{TEST_VEHICLE}']").text_content() or ""
    assert "not valid JSON (malformed_json) \u00d7 3" in text
    screenshot(page, "devices-refused-english")
