"""The energy dashboard and an institution's page in headless Chromium against the running system, and its XLSX."""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from decimal import Decimal
from io import BytesIO
from pathlib import Path

from openpyxl import load_workbook
from playwright.sync_api import Page

from tests.support.pages import SCREENSHOTS, System, login, login_page, screenshot, today, until

LOADED = "window.yiwang && Object.values(window.yiwang.loaded).every(Boolean)"


def test_the_dashboard_shows_the_citys_indicators_ranking_and_data_quality(page: Page, system: System) -> None:
    login(page, system)
    page.click("header.top nav a[data-page=energy]")
    page.wait_for_url("**/energy.html")
    until(page, LOADED, seconds=60)
    assert page.locator("#energy-error").is_hidden(), page.text_content("#energy-error")
    # It opens on the latest whole period with data, not on a year mostly without any, and says which: the city has
    # two days of history, so its last whole days.
    extent = system.api("GET", "/energy/extent")
    shown = page.evaluate("window.yiwang.period()")
    assert shown["start"] >= extent["first_day"]
    assert shown["end"] == today().isoformat()
    label = page.text_content("#period-label") or ""
    assert shown["start"] in label
    assert "有数据的最近几天" in label
    completeness = (page.text_content("#quality-kpis .kpi:nth-child(2) .value") or "").rstrip("%")
    assert float(completeness) > 50, completeness
    # The city's figures of that period: comprehensive energy, the three assessed indicators, carbon.
    assert page.locator("#city-kpis .kpi").count() == 5
    city = system.api("GET", f"/energy/indicators?group=city&start={shown['start']}&end={shown['end']}")
    tce = float(city["rows"][0]["current"]["energy_tce"])
    assert tce > 0
    shown = (page.text_content("#city-kpis [data-kpi=energy_tce] .value") or "").replace("tce", "").replace(",", "")
    assert abs(float(shown) - tce) <= 0.01
    # Every institution of the simulated city is ranked, each a link to its page.
    assert page.locator("#ranking-table tbody a.institution-link").count() == 8
    assert page.locator("#quality-table tbody tr").count() == 8
    assert page.locator("#category-chart canvas").count() >= 1
    # Quotas are set per category or institution (the city has none): without any, the panel says so plainly.
    rows = system.api("GET", f"/energy/indicators?group=institution&{_this_year()}")["rows"]
    if not any(row["quotas"] for row in rows):
        assert page.locator("#quota-none").is_visible()
        assert str(today().year) in (page.text_content("#quota-none") or "")
    screenshot(page, "energy", full_page=True)


def test_an_institutions_page_with_its_charts_and_its_xlsx_export(page: Page, system: System) -> None:
    login(page, system)
    page.goto(f"{system.url}/pages/energy.html")
    until(page, LOADED, seconds=60)
    link = page.locator("#ranking-table tbody a.institution-link").first
    name = link.text_content()
    institution_id = link.get_attribute("data-institution")
    link.click()
    page.wait_for_url("**/institution.html?*")
    until(page, LOADED, seconds=60)
    assert page.text_content("#institution-name") == name
    assert page.locator("#energy-error").is_hidden(), page.text_content("#energy-error")
    assert page.locator("#institution-kpis .kpi").count() == 5
    # Two days of history: the daily chart has its days, electricity first; the meters' quality is listed.
    assert page.input_value("#energy-type") == "electricity"
    assert page.locator("#meter-quality tbody tr").count() >= 2
    screenshot(page, "institution", full_page=True)
    page.click("#step button[data-step=month]")
    page.wait_for_timeout(1000)
    screenshot(page, "institution-month", full_page=True)

    with page.expect_download() as download:
        page.click("#export-xlsx")
    saved = download.value.path()
    assert download.value.suggested_filename.endswith(".xlsx")
    content = Path(saved).read_bytes()
    (SCREENSHOTS / f"institution-{institution_id}.xlsx").write_bytes(content)
    workbook = load_workbook(BytesIO(content), read_only=True)
    cells = {str(value) for sheet in workbook.worksheets for row in sheet.iter_rows(values_only=True) for value in row}
    assert name in cells  # the institution's own report, Chinese headers by default
    assert not any(other in cells for other in _other_institutions(system, institution_id))


def test_a_last_year_without_readings_shows_no_zero_but_why(page: Page, system: System) -> None:
    """The simulated city states last year's floor areas and headcounts but has only this year's two days of
    readings: last year has no figures, and the pages say so in words instead of drawing or writing 0."""
    login(page, system)
    page.goto(f"{system.url}/pages/energy.html")
    until(page, LOADED, seconds=60)
    chart = "window.echarts.getInstanceByDom(document.getElementById('category-chart')).getOption().series"
    last_year = until(page, f"{chart}.length === 3 && {chart}[2].data")
    assert last_year, "the category chart has its categories"
    assert all(value is None for value in last_year), last_year  # a gap, not a line at 0
    link = page.locator("#ranking-table tbody a.institution-link").first
    link.click()
    page.wait_for_url("**/institution.html?*")
    until(page, LOADED, seconds=60)
    total = page.locator("#energy-table tr.total td").nth(2)
    assert total.locator(".missing").get_attribute("data-reason") == "no_readings"
    assert "0 kgce" not in (total.text_content() or "")
    assert (total.text_content() or "").startswith("\u2013")  # the dash the pages write for no figure
    for row in page.locator("#energy-table tbody tr:not(.total)").all():
        assert row.locator("td").nth(2).locator(".missing").get_attribute("data-reason") == "no_readings"
    sub_items = "window.echarts.getInstanceByDom(document.getElementById('sub-item-chart')).getOption().series"
    series = page.evaluate(f"{sub_items}.map((s) => s.data)")
    if series:  # the institution meters sub-items: last year's bars are gaps
        assert all(value is None for value in series[1]), series


def test_an_institutions_page_marks_a_figure_that_holds_a_corrected_day(page: Page, system: System) -> None:
    """Staff correct yesterday of an institution's electricity meter: its page marks the electricity and the
    comprehensive energy of the period as holding a correction, and the mark goes with the withdrawal."""
    login(page, system)
    page.goto(f"{system.url}/pages/energy.html")
    until(page, LOADED, seconds=60)
    link = page.locator("#ranking-table tbody a.institution-link").first
    institution_id = link.get_attribute("data-institution")
    meters = system.api("GET", f"/meters?institution_id={institution_id}&energy_type=electricity")["items"]
    meter_id = next(m["id"] for m in meters if m["sub_item"] is None)
    day = (today() - timedelta(days=1)).isoformat()  # counted: the history and the live readings bracket it
    system.api("PUT", f"/energy/corrections/{meter_id}", json={"day": day, "amount": "1", "reason": "页面测试"})
    try:
        link.click()
        page.wait_for_url("**/institution.html?*")
        until(page, LOADED, seconds=60)
        marks = page.locator("#energy-table .corrected")
        assert marks.count() == 2, page.inner_html("#energy-table")  # electricity, and the comprehensive energy
        assert {marks.nth(n).get_attribute("data-corrected") for n in range(2)} == {"1"}
        assert "含修正" in (marks.first.text_content() or "")
        screenshot(page, "institution-corrected", full_page=True)
    finally:
        system.api("DELETE", f"/energy/corrections/{meter_id}", json={"day": day, "reason": "测试结束"})
    page.reload()
    until(page, LOADED, seconds=60)
    assert page.locator("#energy-table .corrected").count() == 0


def test_the_english_dashboard_names_every_category_and_its_legend_covers_no_axis_name(
    page: Page, system: System
) -> None:
    login_page(page, system)
    page.click("#lang-switch")
    page.wait_for_load_state()
    until(page, "document.querySelector('#login-submit').textContent === 'Log in'")
    login(page, system)
    page.goto(f"{system.url}/pages/energy.html")
    until(page, LOADED, seconds=60)
    drawn = page.evaluate(
        """() => {
          const chart = echarts.getInstanceByDom(document.getElementById('category-chart'));
          const model = chart.getModel();
          const legend = chart.getViewOfComponentModel(model.getComponent('legend', 0)).group.getBoundingRect();
          const grid = model.getComponent('grid', 0).coordinateSystem.getRect();
          const axis = model.getComponent('yAxis', 1);
          return {
            categories: model.getComponent('xAxis', 0).get('data').length,
            labels: model.getComponent('xAxis', 0).axis.getViewLabels().length,
            legendBottom: legend.y + legend.height,
            // The axes' names stand on the grid's top, their text's height (plus the gap) above it.
            namesTop: grid.y - axis.get('nameGap') - axis.getModel('nameTextStyle').getFont().match(/(\\d+)px/)[1],
          };
        }"""
    )
    assert drawn["categories"] == 6
    assert drawn["labels"] == drawn["categories"], drawn  # none dropped for want of room
    assert drawn["legendBottom"] <= drawn["namesTop"], drawn
    # Units in English too: per person, not 人.
    axes = page.evaluate("echarts.getInstanceByDom(document.getElementById('category-chart')).getOption().yAxis")
    assert [a["name"] for a in axes] == ["kgce/person", "kgce/m²"]
    assert "/人" not in (page.text_content("main") or "")  # (人 itself is in names: 人民医院)
    screenshot(page, "energy-english", full_page=True)


def test_an_admin_sets_a_quota_in_the_page_and_the_panel_assesses_it(page: Page, system: System) -> None:
    # The page names no API path to users; the quota is set in the page, and the panel counts against it at once.
    year = today().year
    institutions = system.api("GET", f"/energy/indicators?group=institution&{_this_year()}")["rows"]
    # A school: the last test puts every school over a quota of its category anyway.
    school = next(r for r in institutions if r["category"] == "school")
    login(page, system)
    page.goto(f"{system.url}/pages/energy.html?year={year}")
    until(page, LOADED, seconds=60)
    assert "PUT /quotas" not in (page.text_content("#quota-panel") or "")
    page.click("#quota-set summary")
    page.fill("#quota-year", str(year))
    page.select_option("#quota-indicator", "water_per_capita")
    page.select_option("#quota-holder", f"institution:{school['institution_id']}")
    page.fill("#quota-limit", "0.001")  # far under what it uses: over quota
    with page.expect_response(lambda r: r.url.endswith("/quotas") and r.request.method == "PUT") as answer:
        page.click("#quota-form button[type=submit]")
    assert answer.value.status == 200, answer.value.text()
    assert school["institution_name"] in (page.text_content("#quota-message") or "")
    stored = system.api("GET", f"/quotas?year={year}")
    assert any(
        q["institution_id"] == school["institution_id"]
        and q["indicator"] == "water_per_capita"
        and Decimal(q["limit_value"]) == Decimal("0.001")
        for q in stored
    )
    until(page, "document.querySelector('#quota-summary [data-status=over] .count') !== null", seconds=30)
    screenshot(page, "energy-quota-set", full_page=True)


def test_the_dashboard_shows_quotas_by_category_and_institution(page: Page, system: System) -> None:
    """Last in the file: the quotas it sets stay for the later tests of the session."""
    year = today().year
    before = system.api("GET", f"/energy/indicators?group=institution&{_this_year()}")["rows"]
    # The simulated schools far over a tiny quota of energy per capita, the hospitals well within a huge one.
    for category, limit in (("school", "0.1"), ("hospital", "100000")):
        quota = {"year": year, "indicator": "energy_per_capita", "category": category, "limit_value": limit}
        system.api("PUT", "/quotas", json=quota)
    # One institution of another category near a quota of its own: its value is 95% of it, pro rata for the days.
    near = next(r for r in before if r["category"] not in ("school", "hospital") and r["current"]["energy_per_capita"])
    days = (today() + timedelta(days=1) - date(year, 1, 1)).days
    share = min(Decimal(days) / (366 if calendar.isleap(year) else 365), Decimal(1))
    limit = Decimal(near["current"]["energy_per_capita"]) / Decimal("0.95") / share
    quota = {
        "year": year,
        "indicator": "energy_per_capita",
        "institution_id": near["institution_id"],
        "limit_value": str(limit.quantize(Decimal("0.0001"))),
    }
    system.api("PUT", "/quotas", json=quota)

    login(page, system)
    page.goto(f"{system.url}/pages/energy.html?year={year}")  # quotas are of a year: the year so far
    until(page, LOADED, seconds=60)
    assert page.locator("#energy-error").is_hidden(), page.text_content("#energy-error")
    assert page.locator("#quota-none").count() == 0
    # Each category with a quota, its indicator in % of it, coloured as the API assesses it.
    school = page.locator("#quota-table tr[data-category=school] td[data-indicator=energy_per_capita]")
    assert school.get_attribute("data-status") == "over"
    assert "超定额" in (school.text_content() or "")
    hospital = page.locator("#quota-table tr[data-category=hospital] td[data-indicator=energy_per_capita]")
    assert hospital.get_attribute("data-status") == "ok"
    assert "达标" in (hospital.text_content() or "")
    assert page.locator("#quota-table tr[data-category=school] td[data-status=none]").count() == 2  # no quota

    # How many institutions are over and near, as GET /energy/indicators?group=institution says.
    rows = system.api("GET", f"/energy/indicators?group=institution&{_this_year()}")["rows"]
    statuses = {r["institution_id"]: _worst(r["quotas"]) for r in rows}
    assert {statuses[r["institution_id"]] for r in rows if r["category"] == "school"} == {"over"}
    assert {statuses[r["institution_id"]] for r in rows if r["category"] == "hospital"} == {"ok"}
    assert statuses[near["institution_id"]] == "near"
    for status in ("over", "near", "ok"):
        shown = page.text_content(f"#quota-summary [data-status={status}] .count")
        assert shown == str(list(statuses.values()).count(status)), status
    # The ranking: each institution's quota status as a badge.
    badges = page.eval_on_selector_all(
        "#ranking-table tbody tr",
        "rows => rows.map((r) => [r.querySelector('a').dataset.institution,"
        " r.querySelector('.quota-badge').dataset.status])",
    )
    assert dict(badges) == {i: s or "none" for i, s in statuses.items()}
    # The city's cards count the institutions over and near each indicator's quota.
    card = page.text_content("#city-kpis [data-kpi=energy_per_capita] .quota") or ""
    assert f"超定额 {list(statuses.values()).count('over')} 家" in card
    screenshot(page, "energy-quotas", full_page=True)
    # The same in English.
    with page.expect_navigation():
        page.click("#lang-switch")
    until(page, LOADED, seconds=60)
    assert "over" in (school.text_content() or "")
    assert "within" in (hospital.text_content() or "")
    screenshot(page, "energy-quotas-en", full_page=True)


def _worst(checks: list[dict[str, str | None]]) -> str | None:
    """The worst status of an institution's quota checks, as the dashboard counts it (None: no quota)."""
    found = {check["status"] for check in checks}
    return next((s for s in ("over", "near", "ok") if s in found), "unknown" if checks else None)


def _this_year() -> str:
    return f"start={today().year}-01-01&end={_tomorrow()}"


def _tomorrow() -> str:
    return (today() + timedelta(days=1)).isoformat()


def _other_institutions(system: System, institution_id: str | None) -> list[str]:
    items = system.api("GET", "/institutions?limit=1000")["items"]
    return [i["name"] for i in items if i["id"] != institution_id]
