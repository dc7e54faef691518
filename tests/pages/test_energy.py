"""The energy dashboard and an institution's page in headless Chromium against the running system, and its XLSX."""

from __future__ import annotations

from datetime import date, timedelta
from io import BytesIO
from pathlib import Path

from openpyxl import load_workbook
from playwright.sync_api import Page

from tests.pages.conftest import SCREENSHOTS, System, login, screenshot, until

LOADED = "window.yiwang && Object.values(window.yiwang.loaded).every(Boolean)"


def test_the_dashboard_shows_the_citys_indicators_ranking_and_data_quality(page: Page, system: System) -> None:
    login(page, system)
    page.click("header.top nav a[data-page=energy]")
    page.wait_for_url("**/energy.html")
    until(page, LOADED, seconds=60)
    assert page.locator("#energy-error").is_hidden(), page.text_content("#energy-error")
    # The city's figures of the year so far: comprehensive energy, the three assessed indicators, carbon.
    assert page.locator("#city-kpis .kpi").count() == 5
    city = system.api("GET", f"/energy/indicators?group=city&start={date.today().year}-01-01&end={_tomorrow()}")
    tce = float(city["rows"][0]["current"]["energy_tce"])
    assert tce > 0
    shown = (page.text_content("#city-kpis [data-kpi=energy_tce] .value") or "").replace("tce", "").replace(",", "")
    assert abs(float(shown) - tce) <= 0.01
    # Every institution of the simulated city is ranked, each a link to its page.
    assert page.locator("#ranking-table tbody a.institution-link").count() == 8
    assert page.locator("#quality-table tbody tr").count() == 8
    assert page.locator("#category-chart canvas").count() >= 1
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


def _tomorrow() -> str:
    return (date.today() + timedelta(days=1)).isoformat()


def _other_institutions(system: System, institution_id: str | None) -> list[str]:
    items = system.api("GET", "/institutions?limit=1000")["items"]
    return [i["name"] for i in items if i["id"] != institution_id]
