"""The web pages: the login, the dispatch map, the energy dashboard and the refused messages, served as static
files by the API.

The pages are public files (HTML, JavaScript, CSS and the vendored libraries of `static/vendor/`, see its README);
every figure they show comes from the JSON API with the bearer token the login page obtains and keeps in the
tab's sessionStorage. Nothing is fetched from outside the API's origin unless YIWANG_PAGES_TILE_URL names a tile
service (docs/basemap.md), and nothing needs building: the files are served as they are in the repository.

    GET /                    -> /pages/
    GET /pages/              the start page: the map or the dashboard for the role, or the login
    GET /pages/config.json   what the pages need of the settings (the base map, where the map opens)
    GET /pages/vocabulary/<language>.json   the pages' words in Chinese (zh) or English (en): domain/vocabulary
    GET /pages/<file>        the files of static/ (login.html, map.html, energy.html, institution.html, devices.html,
                             js/, css/)
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Final

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from api import basemap as base_map
from api import resources
from api.basemap.package import About
from domain import vocabulary
from domain.basemap import image_origin
from yiwang.settings import Settings

STATIC: Final = Path(__file__).parent / "static"
PREFIX: Final = "/pages"

router = APIRouter(include_in_schema=False)


def config(settings: Settings, basemap: About | None) -> dict[str, object]:
    """What the pages read of the settings: public, nothing secret (a tile service's key is public by its nature)."""
    return {
        **base_map.page_config(settings, basemap),
        "center": [settings.pages_map_latitude, settings.pages_map_longitude],
        "zoom": settings.pages_map_zoom,
        "offline_seconds": settings.vehicle_offline_seconds,
        "zone": settings.time_zone,
    }


def security_headers(settings: Settings) -> dict[str, str]:
    """The pages' Content-Security-Policy: scripts only from the API's origin, images also from the tile service's
    (the offline package's tiles are the API's own)."""
    images = "'self' data: blob:"
    urls = (settings.pages_tile_url, settings.pages_tile_labels_url)
    for origin in dict.fromkeys(image_origin(url) for url in urls if url):  # each origin once
        images += f" {origin}"
    return {
        "Content-Security-Policy": (
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
            f"img-src {images}; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
        ),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
    }


@router.get("/")
async def root() -> RedirectResponse:
    """The API's root leads people to the pages."""
    return RedirectResponse(f"{PREFIX}/", status_code=307)


@router.get(f"{PREFIX}/config.json")
async def page_config(request: Request) -> JSONResponse:
    """The settings the pages need (public)."""
    basemap: About | None = request.app.state.basemap  # set by api/app.py: the tile package's own description
    return JSONResponse(config(resources.of(request).settings, basemap), headers={"Cache-Control": "no-cache"})


def _vocabulary_file(language: vocabulary.Language) -> tuple[bytes, str]:
    content = vocabulary.path(language).read_bytes()
    return content, f'"{hashlib.sha256(content).hexdigest()[:32]}"'


# Read once: the files are part of the code (a deployment changes them, and their ETag with them).
_VOCABULARY: Final = {language: _vocabulary_file(language) for language in vocabulary.LANGUAGES}


@router.get(f"{PREFIX}/vocabulary/{{language}}.json")
async def page_vocabulary(language: vocabulary.Language, request: Request) -> Response:
    """The words of the pages in `language` (the same file the exports and alert texts read). Revalidated by ETag:
    a page loads it once per opening, and a browser that holds it gets 304."""
    content, etag = _VOCABULARY[language]
    headers = {"Cache-Control": "no-cache", "ETag": etag}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(content, media_type="application/json", headers=headers)


class PageFiles(StaticFiles):
    """The static files, each answered with the pages' security headers; `/pages/` is `index.html`."""

    def __init__(self, headers: dict[str, str]) -> None:
        super().__init__(directory=STATIC, html=True)
        self._headers = headers

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers.update(self._headers)
        if path.endswith(".html") or path in ("", "."):
            # Pages change with a deployment; their scripts are revalidated by ETag as well.
            response.headers["Cache-Control"] = "no-cache"
        return response


def mount(app: FastAPI, settings: Settings) -> None:
    """Serve the pages from `app`: the routes of `router` first (include it before), then the files."""
    app.mount(PREFIX, PageFiles(security_headers(settings)), name="pages")
