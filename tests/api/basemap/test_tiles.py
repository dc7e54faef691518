"""The offline tile package served by the API at /tiles: a tile as its MBTiles file holds it (rows flipped from TMS),
404 for a missing tile or a path that names no tile, caching by ETag; the pages told which base map to draw, and
their Content-Security-Policy opening images to the configured tile service's origin only."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import httpx
import pytest

from api.app import create_app
from api.basemap.package import PackageError
from tests.support.api import address_for, client_at
from tests.support.basemaps import make_package, make_pmtiles, png
from yiwang.settings import Settings

RED, BLUE = png((200, 30, 30)), png((30, 30, 200))
METADATA = {
    "name": "测试城区",
    "format": "png",
    "minzoom": "1",
    "maxzoom": "2",
    "bounds": "117.0,29.0,117.5,29.5",
    "attribution": '<a href="https://www.openstreetmap.org/copyright">© OpenStreetMap contributors</a>',
}

Serve = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def serve(api_settings: Settings, tag: str) -> Serve:
    """The API with more settings, its lifespan running: a client of it."""

    @asynccontextmanager
    async def serving(**settings: object) -> AsyncIterator[httpx.AsyncClient]:
        app = create_app(api_settings.model_copy(update=settings))
        async with app.router.lifespan_context(app), client_at(app, address_for(tag)) as client:
            yield client

    return serving


@pytest.fixture
def package(tmp_path: Path) -> Path:
    # Zoom 2 has 4 rows: XYZ row 0 (the north) is TMS row 3. Red there, blue at XYZ row 3 (TMS row 0).
    return make_package(tmp_path / "city.mbtiles", {(2, 1, 0): RED, (2, 1, 3): BLUE, (1, 0, 0): RED}, METADATA)


@pytest.fixture(params=["mbtiles", "pmtiles"])
def any_package(request: pytest.FixtureRequest, package: Path) -> Path:
    """The package as an MBTiles file, and converted to a PMTiles archive."""
    return package if request.param == "mbtiles" else make_pmtiles(package, package.with_suffix(".pmtiles"))


async def test_a_tile_of_the_package_with_rows_counted_from_the_north(serve: Serve, any_package: Path) -> None:
    async with serve(pages_tile_package=any_package) as client:
        north = await client.get("/tiles/2/1/0.png")
        assert north.status_code == 200, north.text
        assert north.headers["content-type"] == "image/png"
        assert north.content == RED
        assert (await client.get("/tiles/2/1/3.png")).content == BLUE
        # Public (an <img> sends no token), kept by browsers, then revalidated by its ETag.
        assert north.headers["cache-control"] == "public, max-age=86400"
        again = await client.get("/tiles/2/1/0.png", headers={"If-None-Match": north.headers["etag"]})
        assert again.status_code == 304
        assert again.content == b""
        other = await client.get("/tiles/2/1/3.png", headers={"If-None-Match": north.headers["etag"]})
        assert other.status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/tiles/2/2/0.png",  # in the world, not in the package
        "/tiles/2/1/1.png",
        "/tiles/2/4/0.png",  # beyond the world's 4 columns at zoom 2
        "/tiles/30/0/0.png",
        "/tiles/2/1/0.jpg",  # the package's tiles are PNG
        "/tiles/2/-1/0.png",
        "/tiles/2/1/0x.png",
        "/tiles/2/1/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd.png",
        "/tiles/../../etc/passwd",
        "/tiles/2/1/..%2F..%2F..%2Fetc%2Fpasswd",
    ],
)
async def test_a_missing_tile_or_a_path_naming_no_tile_is_404(serve: Serve, any_package: Path, path: str) -> None:
    async with serve(pages_tile_package=any_package) as client:
        response = await client.get(path)
        assert response.status_code == 404, (path, response.status_code, response.text)
        assert b"root:" not in response.content


async def test_the_package_is_only_read(serve: Serve, package: Path) -> None:
    package.chmod(0o444)  # noqa: ASYNC240 (as a package on a read-only mount: the API opens it all the same)
    before = package.stat().st_mtime_ns  # noqa: ASYNC240 (a stat of a local file)
    async with serve(pages_tile_package=package) as client:
        for _ in range(3):
            assert (await client.get("/tiles/2/1/0.png")).status_code == 200
    assert package.stat().st_mtime_ns == before  # noqa: ASYNC240
    assert not package.with_name("city.mbtiles-journal").exists()


async def test_without_a_package_there_are_no_tiles(serve: Serve) -> None:
    async with serve() as client:
        assert (await client.get("/tiles/2/1/0.png")).status_code == 404
        config = (await client.get("/pages/config.json")).json()
    assert config["basemap"] == "grid"
    assert config["tile_url"] == ""


async def test_the_pages_are_told_of_the_package(serve: Serve, any_package: Path) -> None:
    async with serve(pages_tile_package=any_package) as client:
        config = (await client.get("/pages/config.json")).json()
        policy = (await client.get("/pages/map.html")).headers["content-security-policy"]
    assert config["basemap"] == "package"
    assert config["basemap_name"] == "测试城区"
    assert config["tile_url"] == "../tiles/{z}/{x}/{y}.png"  # beside /pages/: right behind a path prefix too
    assert config["tile_attribution"] == METADATA["attribution"]  # the page shows it as text
    assert (config["tile_min_native_zoom"], config["tile_max_native_zoom"]) == (1, 2)
    assert config["tile_bounds"] == [[29.0, 117.0], [29.5, 117.5]]
    # The tiles are the API's own: images from no other origin.
    assert "img-src 'self' data: blob:;" in policy


async def test_a_tile_service_with_its_key_and_its_origin_alone_in_the_policy(serve: Serve) -> None:
    tianditu = "https://t{s}.tianditu.gov.cn/vec_w/wmts?TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk={key}"
    labels = tianditu.replace("vec_w", "cva_w")
    async with serve(
        pages_tile_url=tianditu,
        pages_tile_labels_url=labels,
        pages_tile_key="k123",
        pages_tile_subdomains="01234567",
        pages_tile_name="天地图",
    ) as client:
        config = (await client.get("/pages/config.json")).json()
        policy = (await client.get("/pages/map.html")).headers["content-security-policy"]
    assert config["basemap"] == "service"
    assert (config["basemap_name"], config["tile_key"], config["tile_subdomains"]) == ("天地图", "k123", "01234567")
    assert config["tile_labels_url"] == labels
    assert "img-src 'self' data: blob: https://*.tianditu.gov.cn;" in policy


@pytest.mark.parametrize(
    ("settings", "says"),
    [
        ({"pages_tile_url": "https://tiles.example/{z}/{x}/{y}.png", "pages_tile_package": "/x.mbtiles"}, "both"),
        ({"pages_tile_url": "https://tiles.example/{z}/{x}/{y}.png", "pages_tile_key": "k"}, "{key}"),
        ({"pages_tile_url": "https://tiles.example/{z}/{x}.png"}, "{y}"),
        ({"pages_tile_url": "tiles.example/{z}/{x}/{y}.png"}, "http"),
        ({"pages_tile_url": "https://tiles.{s}.example/{z}/{x}/{y}.png"}, "first label"),
        ({"pages_tile_labels_url": "https://tiles.example/{z}/{x}/{y}.png"}, "set that too"),
        (
            {"pages_tile_url": "https://tiles.example/{z}/{x}/{y}.png", "pages_tile_labels_url": "https://l/{z}/{x}"},
            "LABELS_URL: 'https://l/{z}/{x}' lacks {y}",
        ),
    ],
)
def test_settings_that_name_no_drawable_base_map_are_refused(
    api_settings: Settings, settings: dict[str, str], says: str
) -> None:
    with pytest.raises(ValueError, match="YIWANG_PAGES_TILE") as refused:
        Settings(**(api_settings.model_dump() | settings))
    assert says in str(refused.value)


def test_a_missing_or_wrong_package_stops_the_api_at_its_start(api_settings: Settings, tmp_path: Path) -> None:
    with pytest.raises(PackageError, match="no tile package"):
        create_app(api_settings.model_copy(update={"pages_tile_package": tmp_path / "none.mbtiles"}))
    (tmp_path / "text.mbtiles").write_text("not a database")
    with pytest.raises(PackageError, match="no MBTiles file"):
        create_app(api_settings.model_copy(update={"pages_tile_package": tmp_path / "text.mbtiles"}))
    (tmp_path / "text.pmtiles").write_text("not an archive")
    with pytest.raises(PackageError, match="no PMTiles archive"):
        create_app(api_settings.model_copy(update={"pages_tile_package": tmp_path / "text.pmtiles"}))


def _held(path: Path) -> int:
    """How many of this process's open files and memory maps are the file at `path`."""
    target = str(path.resolve())
    proc = Path("/proc/self")
    fds = 0
    for fd in (proc / "fd").iterdir():
        try:
            fds += fd.readlink().as_posix() == target
        except OSError:
            continue  # closed since the listing
    maps = sum(line.rstrip().endswith(target) for line in (proc / "maps").read_text().splitlines())
    return fds + maps


async def test_the_package_is_held_open_only_while_the_app_runs(
    api_settings: Settings, tag: str, any_package: Path
) -> None:
    app = create_app(api_settings.model_copy(update={"pages_tile_package": any_package}))
    # Read when the app is built (a wrong file stops it), not held: an app never started leaves nothing open.
    assert _held(any_package) == 0
    async with app.router.lifespan_context(app), client_at(app, address_for(tag)) as client:
        assert (await client.get("/tiles/2/1/0.png")).content == RED
        assert _held(any_package) >= 1
    # The lifespan's end closed it: an API stopped (or a test's app) does not keep the file or its mapping open.
    assert _held(any_package) == 0
