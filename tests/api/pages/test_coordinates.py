"""The map's coordinate system in headless Chromium: the page states it, and the page's own shift onto GCJ-02
tiles agrees with domain/datum.py on the published test vectors."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from domain.datum import wgs84_to_gcj02
from tests.support.datum import PUBLISHED
from tests.support.pages import TEST_VEHICLE, System, login, screenshot, until

# The test vectors' WGS-84 points (eviltransform's Shanghai, Shenzhen, Beijing; gcoord's 45° N 123° E), a point of
# the simulated city, and two outside China (unchanged).
POINTS = [(v.lat, v.lon) for v in PUBLISHED] + [(29.29, 117.20), (45.0, 183.0), (48.8584, 2.2945)]

# The page's geo.js, as the map imports it, called with the settings a deployment would give config.json.
_DISPLAYED = """async ([settings, points]) => {
  const geo = await import("./js/geo.js");
  const display = geo.displayOf(settings);
  return { drawnIn: geo.drawnIn(settings), points: points.map(([lat, lon]) => display(lat, lon)) };
}"""


def test_the_map_states_its_coordinate_system_and_the_card_the_stored_one(page: Page, system: System) -> None:
    login(page, system)
    # The test system has no tile server: the map draws WGS-84 as stored, and says so.
    until(page, "document.querySelector('#map-coordinates').textContent === '坐标系：WGS-84'")
    assert page.get_attribute("#map-coordinates", "data-coordinates") == "wgs84"
    title = page.get_attribute("#map-coordinates", "title") or ""
    assert "WGS-84" in title
    # A vehicle's card gives its position as stored, and says in which system.
    until(page, f"window.yiwang.layer.get('{TEST_VEHICLE}')")
    page.evaluate(f"() => window.yiwang.selectVehicle('{TEST_VEHICLE}')")
    shown = until(page, "document.querySelector('#card-position')?.textContent")
    lat, lon = page.evaluate(
        f"() => [window.yiwang.layer.get('{TEST_VEHICLE}').lat, window.yiwang.layer.get('{TEST_VEHICLE}').lon]"
    )
    assert shown == f"{lat:.5f}, {lon:.5f} (WGS-84)"
    screenshot(page, "map-coordinates")


@pytest.mark.parametrize(
    ("settings", "shifted"),
    [
        ({"tile_url": "https://tiles.example/{z}/{x}/{y}.png", "tile_coordinates": "gcj02"}, True),
        ({"tile_url": "https://tiles.example/{z}/{x}/{y}.png", "tile_coordinates": "cgcs2000"}, False),
        ({"tile_url": "https://tiles.example/{z}/{x}/{y}.png", "tile_coordinates": "wgs84"}, False),
        # No tiles: nothing to be aligned with, whatever the setting.
        ({"tile_url": "", "tile_coordinates": "gcj02"}, False),
    ],
)
def test_the_page_draws_where_python_says(page: Page, system: System, settings: dict[str, str], shifted: bool) -> None:
    page.goto(f"{system.url}/pages/login.html")
    drawn = page.evaluate(_DISPLAYED, [settings, POINTS])
    assert drawn["drawnIn"] == (settings["tile_coordinates"] if settings["tile_url"] else "wgs84")
    for (lat, lon), (shown_lat, shown_lon) in zip(POINTS, drawn["points"], strict=True):
        expected = wgs84_to_gcj02(lat, lon) if shifted else (lat, lon)
        # The same formula in two languages: equal to the last bits of a double (1e-12 degrees is 0.1 micrometre).
        assert (shown_lat, shown_lon) == pytest.approx(expected, abs=1e-12, rel=0), (lat, lon)


def test_each_system_is_stated_in_chinese_and_english(page: Page, system: System) -> None:
    page.goto(f"{system.url}/pages/login.html")
    texts = page.evaluate("""async () => (await import("./js/texts.js")).TEXTS""")
    for system_name, name in (("wgs84", "WGS-84"), ("gcj02", "GCJ-02"), ("cgcs2000", "CGCS2000")):
        assert texts["zh"][f"coordinates.{system_name}"].startswith(f"坐标系：{name}")
        assert texts["en"][f"coordinates.{system_name}"].startswith(f"Coordinates: {name}")
    assert texts["zh"]["coordinates.gcj02"] == "坐标系：GCJ-02（显示时由 WGS-84 换算）"
    assert texts["en"]["coordinates.gcj02"] == "Coordinates: GCJ-02 (converted from WGS-84 for display)"
    for language in ("zh", "en"):
        assert "WGS-84" in texts[language]["coordinates.stored"]
