"""The dispatch map in headless Chromium against the running system: live vehicles, a card, replay, alerts, dispatch."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from playwright.sync_api import Page

from tests.support.pages import TEST_PLATE, TEST_VEHICLE, System, fix, login, login_page, screenshot, until
from tests.support.waiting import wait_until


def _click_vehicle(page: Page, vehicle_id: str) -> None:
    """Click where the map draws the vehicle, as a person would (the page finds what is under the pointer)."""
    page.evaluate(
        """([id]) => { const v = window.yiwang.layer.get(id); window.yiwang.map.setView([v.lat, v.lon], 17,
           { animate: false }); }""",
        [vehicle_id],
    )
    point = until(page, f"window.yiwang.layer.drawn.singles.length > 0 && window.yiwang.layer.pointOf('{vehicle_id}')")
    box = page.locator("#map").bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + point["x"], box["y"] + point["y"])


def test_log_in_and_see_vehicles_appear_and_move_then_open_a_card(page: Page, system: System) -> None:
    login_page(page, system)
    assert page.text_content("#login-submit") == "登录"  # Chinese by default
    screenshot(page, "login")
    login(page, system)

    # Every vehicle the API has on its live map appears: in the stream's snapshot, or in the changes after it for
    # the simulated vehicles whose first report comes later (a parked terminal reports every 5 minutes).
    until(page, "window.yiwang && window.yiwang.stream.snapshotAt")
    live = system.api("GET", "/positions/live")["features"]
    until(page, f"window.yiwang.layer.vehicles.size >= {len(live)}")
    assert page.evaluate(f"() => Boolean(window.yiwang.layer.get('{TEST_VEHICLE}'))")
    assert page.text_content("#stream-status") == "实时"
    until(page, "document.querySelector('#vehicle-total').textContent.startsWith('共 ')")
    screenshot(page, "map")

    # The test vehicle's terminal reports it further east: the map moves it without a reload.
    before = page.evaluate(f"() => window.yiwang.layer.get('{TEST_VEHICLE}').lon")
    now = datetime.now(UTC)
    system.drive([fix(now + timedelta(seconds=i), 130 + i) for i in range(3)])
    until(page, f"window.yiwang.layer.get('{TEST_VEHICLE}').lon > {before} + 0.004")

    # A click on it opens its card: plate, unit, speed, battery, how old the last report is.
    _click_vehicle(page, TEST_VEHICLE)
    until(page, f"document.querySelector('#card-plate')?.textContent === '{TEST_PLATE}'")
    assert "km/h" in (page.text_content("#card-speed") or "")
    assert "%" in (page.text_content("#card-battery") or "")
    assert "秒前" in (page.text_content("#card-age") or "") or "分钟前" in (page.text_content("#card-age") or "")
    screenshot(page, "map-card")


def test_filters_by_state_and_unit(page: Page, system: System) -> None:
    login(page, system)
    until(page, "window.yiwang && window.yiwang.stream.snapshotAt")
    page.evaluate("() => window.yiwang.map.setZoom(10, { animate: false })")  # the whole city in view
    page.select_option("#unit-filter", system.organisation)
    # The city runs: a vehicle (a JT/T 808 terminal logging in, say) may report its first fix between two looks, so
    # the page is compared with the API until both have seen it: the page follows the stream within 250 ms.
    counted = "Object.values(window.yiwang.layer.counts()).reduce((a, b) => a + b, 0)"
    wait_until(
        lambda: (
            page.evaluate(f"() => {counted}")
            == len(system.api("GET", f"/positions/live?organisation_id={system.organisation}")["features"])
        ),
        20,
        "the map's unit filter keeping what the API gives that unit",
        every=0.25,
    )
    # What the map draws (single vehicles and those in clusters) is what the filters keep, counted at the same moment.
    drawn = "(d => d.singles.length + d.clusters.reduce((n, c) => n + c.n, 0))(window.yiwang.layer.drawn)"
    until(page, f"{drawn} === {counted}")
    page.uncheck("input[data-state=available]")
    until(page, f"{drawn} === {counted} - window.yiwang.layer.counts().available")
    screenshot(page, "map-filtered")


def test_replay_a_track_with_the_time_slider(page: Page, system: System) -> None:
    login(page, system)
    until(page, f"window.yiwang && window.yiwang.layer.get('{TEST_VEHICLE}')")
    _click_vehicle(page, TEST_VEHICLE)
    until(page, "document.querySelector('#replay-open')")
    page.select_option("#replay-hours", "1")
    page.click("#replay-open")
    # Twenty minutes of fixes every 10 s (the fixture's history): the slider has a step per fix kept.
    slider = "document.querySelector('#replay-slider')"
    steps = until(page, f"!document.querySelector('#replay').hidden && Number({slider}.max)")
    assert steps >= 100
    first_time = page.text_content("#replay-time")
    page.locator("#replay-slider").fill(str(steps // 2))
    until(page, f"document.querySelector('#replay-time').textContent !== {first_time!r}")
    middle = page.evaluate("() => window.yiwang.replay.marker.getLatLng().lng")
    page.click("#replay-play")
    until(page, f"window.yiwang.replay.marker.getLatLng().lng > {middle}", seconds=10)
    screenshot(page, "map-replay")
    page.click("#replay-play")  # pause
    page.click("#replay-close")
    assert page.locator("#replay").is_hidden()


def test_a_tab_clicked_as_soon_as_the_page_shows_it_is_taken_on_a_slow_link(page: Page, system: System) -> None:
    """On a slow link the page shows its tabs long before its scripts have loaded and asked the API who the user
    is: a click on a tab then must not be lost."""
    login(page, system)
    link = page.context.new_cdp_session(page)
    link.send("Network.enable")
    link.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 400, "downloadThroughput": -1, "uploadThroughput": -1},
    )
    page.reload(wait_until="commit")
    page.click("[data-tab=requests]")
    assert page.locator("#tab-requests").is_visible()
    assert page.locator("#tab-card").is_hidden()


def test_acknowledge_an_alert_with_a_note(page: Page, system: System) -> None:
    # The fixture waited for the supervisor's alert of the test vehicle's speeding fixes (at any hour).
    login(page, system)
    page.click("[data-tab=alerts]")
    first = page.locator("#alert-list li.alert").first
    first.wait_for()
    alert_id = first.get_attribute("data-alert")
    assert alert_id is not None
    screenshot(page, "map-alerts")
    first.locator("button.acknowledge").click()
    first.locator("textarea").fill("已电话核实：测试车辆，驾驶员已提醒")
    first.locator("button[type=submit]").click()
    page.locator(f"[data-acknowledged='{alert_id}']").wait_for()
    screenshot(page, "map-alert-acknowledged")
    found = [a for a in system.api("GET", "/alerts?limit=1000")["items"] if str(a["id"]) == alert_id]
    assert found
    assert found[0]["acknowledged_at"] is not None
    assert found[0]["note"] == "已电话核实：测试车辆，驾驶员已提醒"


def test_approve_a_request_and_dispatch_a_suggested_vehicle_in_one_click(page: Page, system: System) -> None:
    driver = system.api(
        "POST",
        "/drivers",
        json={"organisation_id": system.organisation, "name": "王建国", "phone": "13800138000", "licence_class": "C1"},
    )
    start = datetime.now(UTC) + timedelta(hours=1)
    request = system.api(
        "POST",
        "/requests",
        json={
            "organisation_id": system.organisation,
            "purpose": "市政府会议接送",
            "passengers": 2,
            "origin": "市政府",
            "origin_location": {"latitude": 29.2900, "longitude": 117.2000},
            "destination": "景德镇北站",
            "wanted_start": start.isoformat(),
            "wanted_end": (start + timedelta(hours=2)).isoformat(),
        },
    )
    login(page, system)
    page.click("[data-tab=requests]")
    item = page.locator(f"li[data-request='{request['id']}']")
    with page.expect_response(lambda response: response.url.endswith("/suggestions")) as answer:
        item.locator("button.approve").click()
    # Approved: the suggested vehicles come, each with a dispatch button, as the server suggests them, best first.
    item.locator("button.dispatch").first.wait_for(timeout=20_000)
    assert answer.value.status == 200
    suggested = [s["vehicle_id"] for s in answer.value.json()["items"]]
    shown = [b.get_attribute("data-vehicle") for b in item.locator("button.dispatch").all()]
    assert shown
    assert shown == suggested[: len(shown)]
    page.select_option("#driver-select", str(driver["id"]))
    screenshot(page, "map-requests")
    vehicle = item.locator("button.dispatch").first.get_attribute("data-vehicle")
    item.locator("button.dispatch").first.click()
    page.locator(f"[data-dispatched='{request['id']}']").wait_for()
    screenshot(page, "map-request-dispatched")
    done = system.api("GET", f"/requests/{request['id']}")
    assert done["state"] == "dispatched"
    assert done["vehicle_id"] == vehicle
    assert done["driver_id"] == driver["id"]


def test_a_fresh_city_has_drivers_to_dispatch_and_a_dispatcher_adds_one_in_the_page(page: Page, system: System) -> None:
    # The simulated city brings its drivers: the first dispatch needs nobody to create one through the API.
    seeded = system.api("GET", "/drivers?limit=500")["items"]
    assert any(d["organisation_id"] == system.organisation for d in seeded)
    login(page, system)
    page.click("[data-tab=requests]")
    until(page, "document.querySelectorAll('#driver-select option[value]:not([value=\"\"])').length > 0")
    assert page.is_hidden("#driver-none")
    # A new driver joins: added from the dispatch panel, listed and chosen at once.
    page.click("#driver-add summary")
    page.fill("#driver-name", "欧阳文华")
    page.fill("#driver-phone", "13912345678")
    page.select_option("#driver-licence", "B1")
    page.select_option("#driver-unit", system.organisation)
    screenshot(page, "map-driver-add")
    with page.expect_response(lambda r: r.url.endswith("/drivers") and r.request.method == "POST") as answer:
        page.click("#driver-form button[type=submit]")
    assert answer.value.status == 201, answer.value.text()
    added = answer.value.json()
    until(page, f"document.querySelector('#driver-select').value === '{added['id']}'")
    assert "欧阳文华" in (page.text_content("#driver-message") or "")
    stored = system.api("GET", f"/drivers/{added['id']}")
    assert (stored["name"], stored["phone"], stored["licence_class"], stored["organisation_id"]) == (
        "欧阳文华",
        "13912345678",
        "B1",
        system.organisation,
    )


def test_a_units_user_submits_follows_cancels_and_evaluates_requests_in_the_page(page: Page, system: System) -> None:
    name, password = f"unit-{uuid.uuid4().hex[:6]}", "a-long-password-for-a-unit"
    system.api(
        "POST",
        "/users",
        json={"name": name, "role": "unit_user", "organisations": [system.organisation], "password": password},
    )
    page.goto(f"{system.url}/")
    page.wait_for_url("**/login.html*")
    page.fill("#username", name)
    page.fill("#password", password)
    page.click("#login-submit")
    page.wait_for_url("**/map.html*")
    page.click("[data-tab=requests]")
    assert page.is_hidden("#driver-choice")  # no empty driver selector: dispatchers choose drivers
    page.click("#request-new summary")
    for field, value in (
        ("#request-purpose", "赴市政府参加会议"),
        ("#request-passengers", "3"),
        ("#request-origin", "本单位"),
        ("#request-destination", "市政府"),
    ):
        page.fill(field, value)
    submitted = []
    for purpose in ("赴市政府参加会议", "送文件"):
        page.fill("#request-purpose", purpose)
        page.fill("#request-origin", "本单位")
        page.fill("#request-destination", "市政府")
        with page.expect_response(lambda r: r.url.endswith("/requests") and r.request.method == "POST") as answer:
            page.click("#request-form button[type=submit]")
        assert answer.value.status == 201, answer.value.text()
        submitted.append(answer.value.json()["id"])
    first, second = submitted
    page.locator(f"li[data-request='{first}'] .pill[data-state=submitted]").wait_for()
    stored = system.api("GET", f"/requests/{first}")
    assert (stored["organisation_id"], stored["purpose"], stored["destination"]) == (
        system.organisation,
        "赴市政府参加会议",
        "市政府",
    )
    # Cancelled with a reason, as the unit decides.
    page.once("dialog", lambda dialog: dialog.accept("会议改期"))
    page.locator(f"li[data-request='{second}'] button.cancel").click()
    page.locator(f"li[data-request='{second}'] .pill[data-state=cancelled]").wait_for()
    assert system.api("GET", f"/requests/{second}")["state"] == "cancelled"
    # Followed through dispatch and return (the centre's steps), then evaluated.
    driver = system.api("GET", f"/drivers?organisation_id={system.organisation}&active=true")["items"][0]
    system.api("POST", f"/requests/{first}/approve", json={})
    vehicle = system.api("GET", f"/requests/{first}/suggestions")["items"][0]["vehicle_id"]
    system.api("POST", f"/requests/{first}/dispatch", json={"vehicle_id": vehicle, "driver_id": driver["id"]})
    page.locator(f"li[data-request='{first}'] .assigned").wait_for(timeout=30_000)
    assert driver["name"] in (page.text_content(f"li[data-request='{first}'] .assigned") or "")
    system.api("POST", f"/requests/{first}/depart", json={})
    system.api("POST", f"/requests/{first}/return", json={})
    page.locator(f"li[data-request='{first}'] button.evaluate").wait_for(timeout=30_000)
    page.select_option(f"li[data-request='{first}'] select.score", "4")
    page.fill(f"li[data-request='{first}'] input.note", "准时")
    page.locator(f"li[data-request='{first}'] button.evaluate").click()
    page.locator(f"li[data-request='{first}'] .pill[data-state=evaluated]").wait_for()
    screenshot(page, "map-unit-requests")
    done = system.api("GET", f"/requests/{first}")
    assert (done["state"], done["evaluation_score"]) == ("evaluated", 4)


def test_the_pages_speak_english_when_asked(page: Page, system: System) -> None:
    login_page(page, system)
    page.click("#lang-switch")
    page.wait_for_load_state()
    until(page, "document.querySelector('#login-submit').textContent === 'Log in'")
    login(page, system)
    until(page, "document.querySelector('#stream-status').textContent === 'live'")
    assert page.text_content("header.top nav a[data-page=map]") == "Dispatch map"
    screenshot(page, "map-english")


def test_an_area_name_is_shown_as_text_never_as_markup(page: Page, system: System) -> None:
    # Areas are made by dispatchers; their names reach every map. This one would be markup, and a script where the
    # CSP did not stop it.
    name = '<b id="area-markup">bold</b><img id="area-img" src="x" onerror="window.areaPwned = 1">'
    # Permitted for the test vehicle's unit and larger than the city: no vehicle leaves it, so no alert follows.
    china = [[[70.0, 15.0], [140.0, 15.0], [140.0, 55.0], [70.0, 55.0], [70.0, 15.0]]]
    area = {"name": name, "kind": "permitted", "organisation_id": system.organisation}
    created = system.api("POST", "/areas", json=area | {"geometry": {"type": "Polygon", "coordinates": china}})
    try:
        login(page, system)
        until(page, "window.yiwang && window.yiwang.stream.snapshotAt")
        # Open every tooltip on the map; the area's is the one that mentions "bold", as text or as markup.
        shown = until(
            page,
            """(() => {
                const found = [];
                window.yiwang.map.eachLayer((layer) => {
                  const tooltip = layer.getTooltip && layer.getTooltip();
                  if (!tooltip) return;
                  layer.openTooltip(window.yiwang.map.getCenter());
                  const node = tooltip.getElement();
                  if (node && node.textContent.includes("bold")) found.push(node.textContent);
                });
                return found.length ? found : null;
            })()""",
        )
        assert shown == [name]
        made = page.evaluate(
            "() => [document.getElementById('area-markup'), document.getElementById('area-img'),"
            " document.querySelector('.leaflet-tooltip *'), window.areaPwned ?? null]"
        )
        assert made == [None, None, None, None]
        screenshot(page, "map-area-name")
    finally:
        system.api("DELETE", f"/areas/{created['id']}")
