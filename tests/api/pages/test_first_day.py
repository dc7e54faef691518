"""A new user's first day, in Chinese and in English, all in the pages: a unit's user requests a vehicle, a dispatcher
approves and dispatches it and sees the trip on the map; an energy officer opens the dashboard on the latest period
with data, opens an institution and downloads its XLSX report. The API is called only to give them their accounts,
as an administrator would; nobody needs /docs. A screenshot of each step is kept in test-artifacts/screenshots/."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path

import psycopg
import pytest
from openpyxl import load_workbook
from playwright.sync_api import Page

from tests.support.pages import SCREENSHOTS, TEST_PLATE, System, fix, login, login_page, screenshot, until
from tests.support.waiting import wait_until

LOADED = "window.yiwang && Object.values(window.yiwang.loaded).every(Boolean)"
# What a user of each language reads at each step (api/pages/static/js/texts.js).
WORDS = {
    "zh": {
        "log in": "登录",
        "submitted": "待审批",
        "dispatched": "已派车",
        "depart": "出车",
        "return": "还车",
        "latest data": "有数据的最近",
        "export": "#export-xlsx",
        "report header": "综合能耗",
        "set a quota": "设定定额",
        "add a driver first": "请先添加",
        "base map": "底图：",
        "coordinates": "坐标系：",
    },
    "en": {
        "log in": "Log in",
        "submitted": "to approve",
        "dispatched": "dispatched",
        "depart": "Departed",
        "return": "Returned",
        "latest data": "the latest",
        "export": "#export-xlsx-en",
        "report header": "Comprehensive energy",
        "set a quota": "Set a quota",
        "add a driver first": "add one before dispatching",
        "base map": "Base map: ",
        "coordinates": "Coordinates: ",
    },
}


def _account(system: System, role: str, organisations: list[str] | None = None) -> tuple[str, str]:
    """A new user of the role, as the admin gives one (the only API call of a first day); name and password."""
    name, password = f"{role}-{uuid.uuid4().hex[:6]}", f"first-day-{uuid.uuid4().hex}"
    system.api(
        "POST", "/users", json={"name": name, "role": role, "organisations": organisations or [], "password": password}
    )
    return name, password


def _log_in(page: Page, system: System, language: str, name: str, password: str) -> None:
    """From the address a new user is given, in their language (the login page's switch), to their first page."""
    login_page(page, system)  # a second login finds the language chosen before
    if page.text_content("#login-submit") != WORDS[language]["log in"]:
        page.click("#lang-switch")
        page.wait_for_load_state()
    until(page, f"document.querySelector('#login-submit').textContent === {WORDS[language]['log in']!r}")
    page.fill("#username", name)
    page.fill("#password", password)
    page.click("#login-submit")
    page.wait_for_url(lambda url: "/pages/" in url and "/login.html" not in url)
    until(page, "document.querySelector('#user-name') !== null")
    assert page.evaluate("document.documentElement.lang") == ("zh-CN" if language == "zh" else "en")


@pytest.fixture
def requests_made(system: System) -> Iterator[list[str]]:
    """The trip requests a test makes, cancelled (or returned) at its end while still open: the tests after it find
    their vehicles and drivers free."""
    made: list[str] = []
    yield made
    for request_id in made:
        if system.api("GET", f"/requests/{request_id}")["state"] == "under_way":
            system.api("POST", f"/requests/{request_id}/return", json={})
        elif system.api("GET", f"/requests/{request_id}")["state"] in {"submitted", "approved", "dispatched"}:
            system.api("POST", f"/requests/{request_id}/cancel", json={"note": "page test over"})


@pytest.mark.parametrize("language", ["zh", "en"])
def test_a_first_dispatch_from_request_to_the_map_in_the_pages(
    page: Page, system: System, language: str, requests_made: list[str]
) -> None:
    words = WORDS[language]
    unit_user = _account(system, "unit_user", [system.organisation])
    dispatcher = _account(system, "dispatcher")
    shot = f"first-day-{language}"

    # The unit's user lands on the map and requests a vehicle in the requests tab.
    _log_in(page, system, language, *unit_user)
    page.wait_for_url("**/map.html*")
    # The map says what it is drawn on: which base map (here none: the grid) and which coordinate system.
    until(page, "document.querySelector('#map-basemap').textContent")
    assert (page.text_content("#map-basemap") or "").startswith(words["base map"])
    assert (page.text_content("#map-coordinates") or "").startswith(words["coordinates"])
    screenshot(page, f"{shot}-01-unit-user-map")
    page.click("[data-tab=requests]")
    page.click("#request-new summary")
    purpose = "赴市政府参加会议" if language == "zh" else "To the city hall for a meeting"
    page.fill("#request-purpose", purpose)
    page.fill("#request-passengers", "2")
    page.fill("#request-origin", "本单位" if language == "zh" else "Our office")
    page.fill("#request-destination", "市政府" if language == "zh" else "City hall")
    screenshot(page, f"{shot}-02-request-form")
    page.click("#request-form button[type=submit]")
    # The page says which request it made: its number, waiting for approval; the list shows it so.
    message = until(page, "document.querySelector('#request-message').textContent")
    found = re.search(r"#(\d+)", message)
    assert found is not None, message
    request_id = found.group(1)
    requests_made.append(request_id)
    submitted = page.locator(f"#request-list li[data-request='{request_id}']")
    submitted.locator(".pill[data-state=submitted]").wait_for()
    assert submitted.locator(".pill").text_content() == words["submitted"]
    screenshot(page, f"{shot}-03-request-submitted")
    page.click("#logout")
    page.wait_for_url("**/login.html*")

    # The dispatcher approves it, is shown the vehicles to send, best first, and dispatches one with a driver.
    _log_in(page, system, language, *dispatcher)
    page.wait_for_url("**/map.html*")
    until(page, "window.yiwang && window.yiwang.stream.snapshotAt")
    page.click("[data-tab=requests]")
    item = page.locator(f"li[data-request='{request_id}']")
    assert purpose in (item.text_content() or "")
    screenshot(page, f"{shot}-04-dispatcher-queue")
    item.locator("button.approve").click()
    item.locator("button.dispatch").first.wait_for(timeout=20_000)
    until(page, "document.querySelector('#driver-select').value !== ''")  # the city's drivers: one is free
    # A vehicle the dispatcher sees on the map (a simulated terminal may not have reported since the start).
    vehicles = [b.get_attribute("data-vehicle") for b in item.locator("button.dispatch").all()]
    vehicle = next(v for v in vehicles if page.evaluate(f"Boolean(window.yiwang.layer.get('{v}'))"))
    screenshot(page, f"{shot}-05-suggestions")
    item.locator(f"button.dispatch[data-vehicle='{vehicle}']").click()
    done = page.locator(f"[data-dispatched='{request_id}']")
    done.wait_for()
    plate = page.evaluate(f"window.yiwang.layer.get('{vehicle}').properties.plate")
    assert plate in (done.text_content() or "")
    screenshot(page, f"{shot}-06-dispatched")

    # The trip on the map: the vehicle found by its plate, dispatched on this request.
    page.fill("#plate-search", plate)
    page.press("#plate-search", "Enter")
    until(page, f"document.querySelector('#card-plate')?.textContent === {plate!r}")
    until(page, f"document.querySelector('#card-state').textContent === {words['dispatched']!r}", seconds=30)
    until(page, f"document.querySelector('#card-request').textContent.startsWith('#{request_id} {purpose}')")
    screenshot(page, f"{shot}-07-trip-on-the-map")
    stored = system.api("GET", f"/requests/{request_id}")
    assert (stored["state"], stored["vehicle_id"], stored["purpose"]) == ("dispatched", vehicle, purpose)

    # The centre records the departure (出车) with the odometer read at the car, then the return (还车).
    page.click("[data-tab=requests]")
    trip = page.locator(f"#request-list li[data-request='{request_id}']")
    trip.locator("button.depart").wait_for(timeout=30_000)
    assert trip.locator("button.depart").text_content() == words["depart"]
    trip.locator("input.odometer").fill("12345.6")
    # The queue's refresh (every 15 s) keeps a reading being typed.
    page.evaluate("window.yiwang.queue.load()")
    assert trip.locator("input.odometer").input_value() == "12345.6"
    trip.locator("button.depart").click()
    trip.locator("button.return").wait_for(timeout=30_000)
    assert trip.locator("button.return").text_content() == words["return"]
    screenshot(page, f"{shot}-08-under-way")
    trip.locator("input.odometer").fill("12388")
    trip.locator("button.return").click()
    trip.wait_for(state="detached", timeout=30_000)
    back = system.api("GET", f"/requests/{request_id}")
    assert (back["state"], back["departure_odometer_km"], back["return_odometer_km"]) == ("returned", 12345.6, 12388)
    page.click("#logout")
    page.wait_for_url("**/login.html*")

    # The unit's user evaluates the trip in the page.
    _log_in(page, system, language, *unit_user)
    page.wait_for_url("**/map.html*")
    page.click("[data-tab=requests]")
    mine = page.locator(f"li[data-request='{request_id}']")
    mine.locator("button.evaluate").wait_for(timeout=30_000)
    mine.locator("select.score").select_option("5")
    mine.locator("button.evaluate").click()
    mine.locator(".pill[data-state=evaluated]").wait_for()
    screenshot(page, f"{shot}-09-evaluated")
    assert system.api("GET", f"/requests/{request_id}")["evaluation_score"] == 5


@pytest.mark.parametrize("language", ["zh", "en"])
def test_a_first_energy_report_from_the_dashboard_to_an_institutions_xlsx(
    page: Page, system: System, language: str
) -> None:
    words = WORDS[language]
    officer = _account(system, "energy_staff")
    shot = f"first-day-{language}"

    # The energy officer lands on the dashboard, opened on the latest period with data, which it names.
    _log_in(page, system, language, *officer)
    page.wait_for_url("**/energy.html*")
    until(page, LOADED, seconds=60)
    assert page.locator("#energy-error").is_hidden(), page.text_content("#energy-error")
    shown = page.evaluate("window.yiwang.period()")
    label = page.text_content("#period-label") or ""
    assert shown["start"] in label
    assert words["latest data"] in label, label
    # Quotas are set in the page, which names no API path to its users.
    assert "/quotas" not in (page.text_content("#quota-panel") or "")
    assert page.text_content("#quota-set summary") == words["set a quota"]
    screenshot(page, f"{shot}-10-energy-dashboard", full_page=True)

    # An institution of the ranking, opened by a click, and its report downloaded as XLSX.
    link = page.locator("#ranking-table tbody a.institution-link").first
    name = link.text_content() or ""
    institution_id = link.get_attribute("data-institution")
    link.click()
    page.wait_for_url("**/institution.html?*")
    until(page, LOADED, seconds=60)
    assert page.text_content("#institution-name") == name
    assert page.locator("#energy-error").is_hidden(), page.text_content("#energy-error")
    screenshot(page, f"{shot}-11-institution", full_page=True)
    with page.expect_download() as download:
        page.click(words["export"])
    assert download.value.suggested_filename.endswith(".xlsx")
    content = Path(download.value.path()).read_bytes()
    (SCREENSHOTS / f"{shot}-12-institution-{institution_id}.xlsx").write_bytes(content)
    workbook = load_workbook(BytesIO(content), read_only=True)
    cells = {str(v) for sheet in workbook.worksheets for row in sheet.iter_rows(values_only=True) for v in row}
    assert name in cells
    assert any(words["report header"] in cell for cell in cells), sorted(cells)[:80]


@pytest.mark.parametrize("language", ["zh", "en"])
def test_a_platform_without_drivers_says_how_to_add_one_and_the_dispatcher_does(
    page: Page, system: System, language: str
) -> None:
    # A platform whose registry has no driver yet (the simulated city brings its own: they are set aside here, and
    # back at the end): the dispatch panel says so and how to add one, with the form open, rather than a dispatch
    # that fails; the driver added there is the one chosen.
    words = WORDS[language]
    dispatcher = _account(system, "dispatcher")
    with psycopg.connect(system.env["YIWANG_DATABASE_URL"], autocommit=True) as conn:
        set_aside = [row[0] for row in conn.execute("UPDATE driver SET active = false WHERE active RETURNING id")]
    try:
        _log_in(page, system, language, *dispatcher)
        page.wait_for_url("**/map.html*")
        page.click("[data-tab=requests]")
        page.locator("#driver-none").wait_for()
        assert words["add a driver first"] in (page.text_content("#driver-none") or "")
        assert "/registry" not in (page.text_content("#driver-none") or "")  # no API path shown to users
        assert page.evaluate("document.querySelector('#driver-add').open")
        screenshot(page, f"first-day-{language}-11-no-driver-yet")
        name = "欧阳明" if language == "zh" else "Li Ming"
        page.fill("#driver-name", name)
        page.fill("#driver-phone", "13900001111")
        page.select_option("#driver-unit", system.organisation)
        with page.expect_response(lambda r: r.url.endswith("/drivers") and r.request.method == "POST") as answer:
            page.click("#driver-form button[type=submit]")
        assert answer.value.status == 201, answer.value.text()
        added = answer.value.json()
        until(page, f"document.querySelector('#driver-select').value === '{added['id']}'")
        assert page.is_hidden("#driver-none")
        assert name in (page.text_content("#driver-message") or "")
        screenshot(page, f"first-day-{language}-12-first-driver-added")
    finally:
        with psycopg.connect(system.env["YIWANG_DATABASE_URL"], autocommit=True) as conn:
            conn.execute("UPDATE driver SET active = true WHERE id = ANY(%s)", [set_aside])


def test_a_vehicles_card_stays_open_and_live_when_an_alert_comes(page: Page, system: System) -> None:
    # Met on a first day: with a vehicle's card open, the stream's alert messages (they carry no vehicles) broke the
    # page's handler ("Cannot read properties of undefined (reading 'some')"), once for every alert in the city.
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    frames: list[str] = []
    page.on("websocket", lambda socket: socket.on("framereceived", lambda payload: frames.append(str(payload))))
    login(page, system)
    until(page, "window.yiwang && window.yiwang.stream.snapshotAt")
    page.fill("#plate-search", TEST_PLATE)
    page.press("#plate-search", "Enter")
    until(page, f"document.querySelector('#card-plate')?.textContent === {TEST_PLATE!r}")
    # The test vehicle's driver presses the emergency button (alarm bit 0), then the terminal clears it: an alert.
    # Where the fixture left it, a step on: test_map.py drives it further east and expects it to move.
    now = datetime.now(UTC)
    system.drive([fix(now, 119) | {"alarm": 1}, fix(now + timedelta(seconds=1), 120) | {"alarm": 0}])
    # Playwright's sync API hands over the page's events while it is called: the page is asked something each time.
    wait_until(
        lambda: page.evaluate("true") and any('"type":"alerts"' in frame for frame in frames),
        60,
        "an alert message on the stream",
    )
    # The card still follows the vehicle: its newest position is shown.
    until(page, "document.querySelector('#card-position').textContent.includes('117.24000')", seconds=30)
    screenshot(page, "first-day-13-card-open-as-an-alert-comes")
    assert errors == []
