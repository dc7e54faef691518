"""The map's base map (docs/basemap.md): what the pages are told to draw under the vehicles (a tile service by URL,
the offline package this API serves, or a grid), and the package's tiles (routes.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

from api.basemap.package import About, Package
from api.basemap.package import open_package as open_file
from domain.basemap import base_map
from yiwang.settings import Settings


def open_package(settings: Settings) -> Package | None:
    """The settings' tile package opened, or None without one (the caller closes it).

    Raises:
        PackageError: the file is missing or holds no tiles the map can draw (the API does not start).
    """
    return open_file(settings.pages_tile_package) if settings.pages_tile_package is not None else None


def check_package(settings: Settings) -> About | None:
    """What the settings' tile package says of itself, the file opened and closed again, or None without one: a
    missing or wrong file stops the API when the app is built; the lifespan holds it open (held()).

    Raises:
        PackageError: the file is missing or holds no tiles the map can draw.
    """
    package = open_package(settings)
    if package is None:
        return None
    package.close()
    return package.about


@asynccontextmanager
async def held(settings: Settings) -> AsyncIterator[Package | None]:
    """The settings' tile package open for as long as the block runs (the API's lifespan), closed when it ends."""
    package = open_package(settings)
    try:
        yield package
    finally:
        if package is not None:
            package.close()


def page_config(settings: Settings, about: About | None) -> dict[str, object]:
    """What the map needs to draw its base map and to say which it is (public: the key goes to every browser)."""
    kind = base_map(settings.pages_tile_url, "package" if about is not None else "")
    config: dict[str, object] = {
        "basemap": kind,
        "basemap_name": settings.pages_tile_name,
        "tile_url": settings.pages_tile_url,
        "tile_labels_url": settings.pages_tile_labels_url,
        "tile_attribution": settings.pages_tile_attribution,
        "tile_max_zoom": settings.pages_tile_max_zoom,
        "tile_max_native_zoom": settings.pages_tile_max_zoom,
        "tile_min_native_zoom": 0,
        "tile_bounds": None,
        "tile_subdomains": settings.pages_tile_subdomains,
        "tile_key": settings.pages_tile_key,
        "tile_coordinates": settings.pages_tile_coordinates,
    }
    if kind == "service":
        config["basemap_name"] = (
            settings.pages_tile_name
            or urlsplit(settings.pages_tile_url.replace("{s}", settings.pages_tile_subdomains[:1])).netloc
        )
    elif about is not None:
        west, south, east, north = about.bounds or (None, None, None, None)
        config |= {
            "basemap_name": settings.pages_tile_name or about.name,
            # Relative to the pages (/pages/map.html): right behind a proxy that serves the API under a path too.
            "tile_url": f"../tiles/{{z}}/{{x}}/{{y}}.{about.extension}",
            "tile_attribution": settings.pages_tile_attribution or about.attribution,
            # Deeper than the package goes, the page enlarges its deepest tiles rather than asking for none.
            "tile_max_native_zoom": about.max_zoom,
            "tile_min_native_zoom": about.min_zoom,
            "tile_bounds": [[south, west], [north, east]] if about.bounds else None,
        }
    return config
