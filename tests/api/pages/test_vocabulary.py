"""The pages in each language against the running system: an alert card tells its detail in the page's language and
names its unit, whether or not the page has loaded the list of units yet (issue 20: "moved over 50 m without a
dispatched request" and org-0031 on the Chinese map)."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
from playwright.sync_api import Browser, Page, Route

from domain.registry import RegistryDocument, Vehicle
from domain.topics import topic
from domain.vocabulary import render
from tests.support.pages import System, fix, login, screenshot, until
from tests.support.registry import import_registry
from tests.support.waiting import wait_until

VEHICLE = "v-vocab"
PLATE = "赣H·VOCAB"


def _no_dispatch_alert(system: System) -> dict[str, Any]:
    """An open no_dispatch alert of a vehicle of this test's own, driven 50 m at a time with no request (published
    again until the collector and the supervisor know the new vehicle and the supervisor has judged its fixes)."""
    document = RegistryDocument(
        vehicles=[Vehicle(id=VEHICLE, organisation_id=system.organisation, plate=PLATE, energy="gasoline", seats=5)]
    )
    # In a thread of its own: Playwright's sync API keeps an event loop running in this one.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, import_registry(system.env["YIWANG_DATABASE_URL"], document)).result()
    now = datetime.now(UTC)
    fixes = [fix(now - timedelta(seconds=10 * (30 - i)), i) | {"latitude": 29.2950} for i in range(30)]
    messages = [(topic(system.root, "vehicle", VEHICLE, "position"), orjson.dumps(f)) for f in fixes]

    found: list[dict[str, Any]] = []

    def raised() -> bool:
        found[:] = system.api("GET", f"/alerts?open=true&vehicle_id={VEHICLE}&kind=no_dispatch")["items"]
        if not found:
            system.publish(messages)
        return bool(found)

    wait_until(raised, 90, "the supervisor's no_dispatch alert of the test's vehicle", every=1.0)
    return found[-1]


def _unit_name(system: System, organisation_id: str) -> str:
    units = system.api("GET", "/organisations?limit=1000")["items"]
    return next(u["name"] for u in units if u["id"] == organisation_id)


def _card(page: Page, alert_id: int) -> tuple[str, str]:
    page.click("[data-tab=alerts]")
    card = page.locator(f"#alert-list li[data-alert='{alert_id}']")
    card.wait_for()
    return card.locator(".detail").text_content() or "", card.locator(".unit").text_content() or ""


def test_an_alert_card_tells_its_detail_and_unit_in_the_page_language(page: Page, system: System) -> None:
    alert = _no_dispatch_alert(system)
    unit = _unit_name(system, alert["organisation_id"])
    # The list of units comes in pages (945 units: ten of them) and may arrive after the alerts: held here until the
    # cards are read, the card must name the unit by itself.
    held: list[Route] = []

    def hold(route: Route) -> None:  # a function: Playwright takes no bound method of a builtin (list.append)
        held.append(route)

    page.route("**/organisations?*", hold)

    login(page, system)
    detail, shown_unit = _card(page, alert["id"])
    screenshot(page, "alert-card-zh")
    assert detail == "无派车单行驶超过 50 米"
    assert shown_unit == unit != alert["organisation_id"]
    for route in held:  # the list comes: the card stays as it is
        route.continue_()
    held.clear()
    until(page, "document.querySelectorAll('#unit-filter option').length > 1")
    assert _card(page, alert["id"]) == (detail, unit)

    page.click("#lang-switch")  # English; the page reloads
    until(page, "document.documentElement.lang === 'en'")
    detail, shown_unit = _card(page, alert["id"])
    screenshot(page, "alert-card-en")
    assert detail == "moved over 50 m without a dispatched request"
    assert shown_unit == unit
    for route in held:
        route.continue_()
    # The API's parameters, which the page's words were made from.
    assert alert["params"] == {"moved_m": 50}
    assert render("zh", "no_dispatch", alert["params"]) == "无派车单行驶超过 50 米"


def test_the_pages_read_the_vocabulary_the_api_serves(system: System) -> None:
    """Each language's file, revalidated by ETag (a browser keeps it between pages)."""
    zh = httpx.get(f"{system.url}/pages/vocabulary/zh.json", timeout=10)
    assert zh.status_code == 200
    assert zh.json()["alert.no_dispatch"] == "无派车单行驶"
    again = httpx.get(f"{system.url}/pages/vocabulary/zh.json", headers={"If-None-Match": zh.headers["etag"]})
    assert again.status_code == 304
    en = httpx.get(f"{system.url}/pages/vocabulary/en.json", timeout=10)
    assert en.json().keys() == zh.json().keys()
    assert httpx.get(f"{system.url}/pages/vocabulary/fr.json", timeout=10).status_code == 422


def test_a_page_whose_words_do_not_load_says_so(browser: Browser, system: System) -> None:
    """A vocabulary file refused on the way (a proxy, a flaky link) leaves no blank login page: it says, in both
    languages, that its words did not load and to reload (and that is the page's only script error)."""
    context = browser.new_context(locale="zh-CN")
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    try:
        tab.route("**/pages/vocabulary/en.json", lambda route: route.fulfill(status=502, body="bad gateway"))
        tab.goto(f"{system.url}/pages/login.html")
        told = tab.locator("#vocabulary-error")
        told.wait_for()
        text = told.text_content() or ""
        assert "页面文字未能加载" in text
        assert "did not load" in text
        assert "HTTP 502" in text
        screenshot(tab, "vocabulary-not-loaded")
    finally:
        context.close()
    assert errors == ["vocabulary/en.json: HTTP 502"]


def test_the_login_takes_no_password_before_its_script_handles_the_form(browser: Browser, system: System) -> None:
    """On a slow link the page shows its form before its words (and its script) have loaded: sent then, the browser
    put the password in the address of a GET of the login page. The button waits for the script."""
    context = browser.new_context(locale="zh-CN")
    tab = context.new_page()
    held: list[Route] = []

    def hold(route: Route) -> None:  # (a bound list.append is no function Playwright can wrap)
        held.append(route)

    tab.route("**/pages/vocabulary/en.json", hold)
    try:
        tab.goto(f"{system.url}/pages/login.html", wait_until="domcontentloaded")
        tab.fill("#username", "admin")
        tab.fill("#password", system.admin_password)
        assert tab.is_disabled("#login-submit")
        tab.press("#password", "Enter")
        assert system.admin_password not in tab.url
        until(tab, "document.readyState === 'complete' || document.readyState === 'interactive'")
        assert held, "the vocabulary was not asked for"
        held[0].continue_()
        tab.click("#login-submit")  # once enabled
        tab.wait_for_url("**/map.html*")
        assert system.admin_password not in tab.url
    finally:
        context.close()
