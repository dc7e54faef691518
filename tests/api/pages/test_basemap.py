"""The map's base map in headless Chromium: the grid when none is set, the tiles of an offline MBTiles package served
by the API, the tiles of a service by URL (with its key) with positions shifted onto its GCJ-02 tiles for display
only; and the areas drawn as supervision judges them (circles, corridors, forbidden zones) with their rules."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page

from domain.datum import wgs84_to_gcj02
from tests.support.basemaps import api_beside, make_package, png, tile_of, tile_server
from tests.support.pages import TEST_VEHICLE, System, login, screenshot, until

CENTRE = (29.29, 117.20)  # where the map opens (the settings' default)
PACKAGE_NAME = "测试城区瓦片"
ATTRIBUTION = '<a href="https://www.openstreetmap.org/copyright">© OpenStreetMap contributors</a>'
LOADED = ".base-tiles img.leaflet-tile-loaded"  # the base map's tiles drawn (Leaflet marks each image loaded)


def _colour(x: int, y: int) -> tuple[int, int, int]:
    """The package's tiles are a chessboard of two greens."""
    return (225, 236, 214) if (x + y) % 2 else (205, 222, 190)


def _login_at(page: Page, system: System, url: str) -> None:
    """Log in as the system's admin through the pages of the API at `url` (a second API on the same database)."""
    login(page, replace(system, url=url))


def _area(area_id: int, what: str) -> str:
    """A script reading `what` of the drawn area's Leaflet layer `l`."""
    return f"(l => {what})(window.yiwang.areas.drawn.get({area_id}).layer)"


def test_the_grid_when_no_base_map_is_set(page: Page, system: System) -> None:
    login(page, system)
    until(page, "document.querySelector('#map-basemap').textContent === '底图：无（网格）'")
    assert page.get_attribute("#map-basemap", "data-basemap") == "grid"
    assert page.locator(".grid-tiles").count() == 1
    assert page.locator(".base-tiles").count() == 0
    screenshot(page, "basemap-grid")


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A package of the city centre at zooms 12 and 13, and nothing else."""
    tiles = {}
    for z in (12, 13):
        cx, cy = tile_of(*CENTRE, z)
        for x in range(cx - 4, cx + 5):
            for y in range(cy - 3, cy + 4):
                tiles[(z, x, y)] = png(_colour(x, y))
    metadata = {"name": PACKAGE_NAME, "format": "png", "minzoom": "12", "maxzoom": "13", "attribution": ATTRIBUTION}
    return make_package(tmp_path_factory.mktemp("basemap") / "city.mbtiles", tiles, metadata)


@pytest.fixture(scope="module")
def with_package(system: System, package: Path) -> Iterator[str]:
    with api_beside(system.env, pages_tile_package=str(package)) as url:
        yield url


def test_the_tiles_of_the_offline_package(page: Page, system: System, with_package: str) -> None:
    _login_at(page, system, with_package)
    until(page, f"document.querySelector('#map-basemap').textContent === '底图：{PACKAGE_NAME}（离线瓦片包）'")
    assert page.get_attribute("#map-basemap", "data-basemap") == "package"
    # The page draws the package's tiles where the map opens (zoom 13), each asked of the API at /tiles.
    until(page, f"document.querySelectorAll('{LOADED}').length >= 4")
    drawn = page.evaluate(f"() => [...document.querySelectorAll('{LOADED}')].map((i) => i.src)")
    cx, cy = tile_of(*CENTRE, 13)
    assert f"{with_package}/tiles/13/{cx}/{cy}.png" in drawn
    for src in drawn:
        found = re.fullmatch(rf"{with_package}/tiles/13/(\d+)/(\d+)\.png", src)
        assert found is not None, src
        x, y = int(found[1]), int(found[2])
        assert httpx.get(src, timeout=10).content == png(_colour(x, y)), src
    # No grid under it; the package's attribution is shown as text, its link as no link.
    assert page.locator(".grid-tiles").count() == 0
    attribution = page.locator(".leaflet-control-attribution")
    assert "© OpenStreetMap contributors" in (attribution.text_content() or "")
    assert attribution.locator("a[href*=openstreetmap]").count() == 0
    screenshot(page, "basemap-package")


def test_a_tile_service_by_url_with_its_key_labels_and_gcj02_for_display_only(
    page: Page, system: System, tmp_path: Path
) -> None:
    with (
        tile_server(tmp_path / "tiles") as server,
        api_beside(
            system.env,
            pages_tile_url=f"http://127.0.0.1:{server.port}/{{z}}/{{x}}/{{y}}.png?tk={{key}}",
            pages_tile_labels_url=f"http://127.0.0.1:{server.port}/labels/{{z}}/{{x}}/{{y}}.png?tk={{key}}",
            pages_tile_key="test-key-123",
            pages_tile_coordinates="gcj02",
            pages_tile_name="测试瓦片服务",
        ) as url,
    ):
        # Images from the tile service's origin, and from no other.
        policy = httpx.get(f"{url}/pages/map.html", timeout=10).headers["content-security-policy"]
        assert f"img-src 'self' data: blob: http://127.0.0.1:{server.port};" in policy
        _login_at(page, system, url)
        until(page, "document.querySelector('#map-basemap').textContent === '底图：测试瓦片服务（在线瓦片服务）'")
        assert page.text_content("#map-coordinates") == "坐标系：GCJ-02（显示时由 WGS-84 换算）"
        # The page asks the service for the tiles where the map opens, with the key where the template puts it.
        until(page, f"document.querySelectorAll('{LOADED}').length >= 4")
        cx, cy = tile_of(*wgs84_to_gcj02(*CENTRE), 13)
        asked = server.requests()
        assert f"/13/{cx}/{cy}.png?tk=test-key-123" in asked, asked[:10]
        # Its labels (Tianditu's cva_w) are tiles of their own, drawn over the base tiles.
        until(page, "document.querySelectorAll('.label-tiles img.leaflet-tile-loaded').length >= 4")
        assert f"/labels/13/{cx}/{cy}.png?tk=test-key-123" in server.requests()
        assert all(line.endswith("?tk=test-key-123") for line in asked), asked

        # The test vehicle is drawn where GCJ-02 tiles show its WGS-84 position; the API answers it as stored.
        until(page, f"window.yiwang.layer.get('{TEST_VEHICLE}')")
        stored = page.evaluate(f"() => (v => [v.lat, v.lon])(window.yiwang.layer.get('{TEST_VEHICLE}'))")
        token = system.token()
        live = httpx.get(f"{url}/positions/live", headers={"Authorization": f"Bearer {token}"}, timeout=30).json()
        lon, lat = next(f for f in live["features"] if f["id"] == TEST_VEHICLE)["geometry"]["coordinates"]
        assert [lat, lon] == pytest.approx(stored, abs=1e-9)
        shifted = wgs84_to_gcj02(lat, lon)
        page.evaluate("([lat, lon]) => window.yiwang.map.setView([lat, lon], 17, { animate: false })", shifted)
        point = until(
            page, f"window.yiwang.layer.drawn.singles.length > 0 && window.yiwang.layer.pointOf('{TEST_VEHICLE}')"
        )
        shown = page.evaluate(
            "([x, y]) => (p => [p.lat, p.lng])(window.yiwang.map.containerPointToLatLng([x, y]))",
            [point["x"], point["y"]],
        )
        # Within a pixel (about 1 m at zoom 17, 1e-5 degree) of the shifted point, hundreds of metres from the stored.
        assert shown == pytest.approx(shifted, abs=2e-5)
        assert abs(shown[1] - lon) > 0.003
        screenshot(page, "basemap-service-gcj02")


def test_the_base_map_and_areas_are_stated_in_chinese_and_english(page: Page, system: System) -> None:
    page.goto(f"{system.url}/pages/login.html")
    texts = page.evaluate("""async () => (await import("./js/texts.js")).TEXTS""")
    assert texts["zh"]["basemap.package"] == "底图：{name}（离线瓦片包）"
    assert texts["en"]["basemap.package"] == "Base map: {name} (offline tile package)"
    keys = [k for k in texts["zh"] if k.startswith(("basemap.", "area."))]
    assert len(keys) >= 16
    assert sorted(keys) == sorted(k for k in texts["en"] if k.startswith(("basemap.", "area.")))
    for key in keys:
        assert texts["zh"][key] != texts["en"][key], key


def test_circles_corridors_and_forbidden_zones_drawn_as_they_are(page: Page, system: System) -> None:
    # Away from the simulated city (about 25 km north-east): no vehicle crosses them, so no alert follows.
    lat, lon = 29.45, 117.45
    common = {"organisation_id": system.organisation}
    circle = system.api(
        "POST",
        "/areas",
        json=common
        | {
            "name": "禁入圆区",
            "kind": "forbidden",
            "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "radius_m": 400,
            "speed_limit_kmh": 30,
            "hours": "off_hours",
        },
    )
    route = [[lon - 0.02, lat - 0.01], [lon + 0.02, lat - 0.01]]
    corridor = system.api(
        "POST",
        "/areas",
        json=common
        | {
            "name": "通勤走廊",
            "kind": "permitted",
            "geometry": {"type": "LineString", "coordinates": route},
            "width_m": 120,
            "speed_limit_kmh": 40,
        },
    )
    try:
        login(page, system)
        has = "window.yiwang.areas.drawn.has"
        until(page, f"window.yiwang && {has}({corridor['id']}) && {has}({circle['id']})")
        page.evaluate(f"() => window.yiwang.map.setView([{lat - 0.004}, {lon}], 15, {{ animate: false }})")
        # The circle: its radius in metres, red as a forbidden zone; the permitted corridor in another colour.
        drawn = page.evaluate(
            "() => " + _area(circle["id"], "({ radius: l.getRadius(), colour: l.options.color, at: l.getLatLng() })")
        )
        assert drawn["radius"] == 400
        assert [drawn["at"]["lat"], drawn["at"]["lng"]] == pytest.approx([lat, lon])
        assert drawn["colour"] == "#c92a2a"
        assert page.evaluate("() => " + _area(corridor["id"], "l.band.options.color")) != "#c92a2a"
        # The corridor: a band 120 m wide on the screen at every zoom (metres per pixel of Web Mercator).
        for zoom in (15, 16):
            page.evaluate(f"() => window.yiwang.map.setZoom({zoom}, {{ animate: false }})")
            weight = until(
                page,
                f"window.yiwang.map.getZoom() === {zoom} && " + _area(corridor["id"], "l.band.options.weight"),
            )
            metres_per_pixel = 40_075_016.686 * math.cos(math.radians(lat - 0.01)) / 2 ** (zoom + 8)
            assert weight == pytest.approx(120 / metres_per_pixel, rel=1e-6), zoom
        page.evaluate("() => window.yiwang.map.setZoom(15, { animate: false })")
        # A click on the circle shows its rules.
        box = page.locator("#map").bounding_box()
        assert box is not None
        centre = page.evaluate(f"() => window.yiwang.map.latLngToContainerPoint([{lat}, {lon}])")
        page.mouse.click(box["x"] + centre["x"], box["y"] + centre["y"])
        popup = until(page, f"document.querySelector('.leaflet-popup [data-area=\"{circle['id']}\"]')?.innerText")
        assert "禁入圆区" in popup
        assert "禁入区域 · 圆形，半径 400 米" in popup
        assert "限速 30 km/h" in popup
        assert "非工作时间生效（默认日历）" in popup  # calendar_id null: the default calendar's working time
        screenshot(page, "map-areas")
        page.evaluate("() => " + _area(corridor["id"], "l.openPopup()"))
        popup = until(page, f"document.querySelector('.leaflet-popup [data-area=\"{corridor['id']}\"]')?.innerText")
        assert "允许区域 · 走廊，宽 120 米" in popup
        assert "限速 40 km/h" in popup
        assert "全天生效" in popup
    finally:
        system.api("DELETE", f"/areas/{circle['id']}")
        system.api("DELETE", f"/areas/{corridor['id']}")
