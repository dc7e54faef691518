"""The base map's pure rules: tile addresses, the MBTiles row flip, a template's origin for the pages' policy."""

from __future__ import annotations

from domain.basemap import base_map, image_origin, template_problem, tile_exists, tms_row


def test_tms_rows_count_from_the_south() -> None:
    assert [tms_row(2, y) for y in range(4)] == [3, 2, 1, 0]
    assert tms_row(0, 0) == 0
    assert tms_row(13, 3388) == 8191 - 3388


def test_only_the_worlds_tiles_exist() -> None:
    assert tile_exists(0, 0, 0)
    assert tile_exists(2, 3, 3)
    assert not tile_exists(2, 4, 0)
    assert not tile_exists(2, 0, -1)
    assert not tile_exists(-1, 0, 0)
    assert not tile_exists(25, 0, 0)


def test_the_origin_of_a_template_with_subdomains_is_a_wildcard_of_the_rest() -> None:
    assert image_origin("https://t{s}.tianditu.gov.cn/vec_w/wmts?tk={key}") == "https://*.tianditu.gov.cn"
    assert image_origin("https://{s}.tile.example/{z}/{x}/{y}.png") == "https://*.tile.example"
    assert image_origin("http://127.0.0.1:8080/{z}/{x}/{y}.png") == "http://127.0.0.1:8080"
    assert (
        image_origin("https://webrd01.is.autonavi.com/appmaptile?x={x}&y={y}&z={z}")
        == "https://webrd01.is.autonavi.com"
    )


def test_which_base_map() -> None:
    assert base_map("https://t/{z}/{x}/{y}", "") == "service"
    assert base_map("", "/srv/city.mbtiles") == "package"
    assert base_map("", "") == "grid"


def test_a_template_the_page_can_fill() -> None:
    assert template_problem("https://t{s}.tianditu.gov.cn/?l={z}&c={x}&r={y}&tk={key}", "k") is None
    assert template_problem("https://tiles.example/{z}/{x}/{y}.png", "") is None
    assert "{key}" in (template_problem("https://tiles.example/{z}/{x}/{y}.png", "k") or "")
    assert "no key" in (template_problem("https://tiles.example/{z}/{x}/{y}.png?k={key}", "") or "")
