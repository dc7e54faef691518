"""GET /tiles/{z}/{x}/{y}.{format}: the offline tile package's tiles (api/basemap/package.py), public like the pages
that show them (an <img> sends no bearer token), read-only; mounted only when YIWANG_PAGES_TILE_PACKAGE is set."""

from __future__ import annotations

import re
from typing import Final

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from api.basemap.package import About, Package
from api.errors import NotFound, responses

# Path parts are matched as text and read here: nothing but digits is a tile's address, so a path such as
# ../../etc/passwd names no tile (404) and never reaches a file name; the package is one SQLite file.
_NUMBER: Final = re.compile(r"[0-9]{1,8}")


def router_of(about: About, cache_seconds: int) -> APIRouter:
    """The /tiles router of a package that says this of itself; the lifespan holds the package open
    (app.state.tile_package: api/app.py)."""
    router = APIRouter(tags=["pages"])

    @router.get(
        "/tiles/{z}/{x}/{y}.{extension}",
        response_class=Response,
        responses={200: {"content": {"image/png": {}, "image/jpeg": {}, "image/webp": {}}}, **responses(404)},
    )
    async def tile(z: str, x: str, y: str, extension: str, request: Request) -> Response:
        """A tile of the offline package (XYZ addressing, as web maps ask; the package's TMS rows are flipped here).

        Browsers keep a tile `YIWANG_PAGES_TILE_CACHE_SECONDS`, then ask again with its ETag (304 if unchanged).
        """
        if extension != about.extension or not all(_NUMBER.fullmatch(part) for part in (z, x, y)):
            raise NotFound(f"no tile at /tiles/{z}/{x}/{y}.{extension}: tiles are /tiles/Z/X/Y.{about.extension}")
        package: Package = request.app.state.tile_package
        found = await run_in_threadpool(package.tile, int(z), int(x), int(y))
        if found is None:
            raise NotFound(f"the tile package has no tile {z}/{x}/{y}")
        headers = {"Cache-Control": f"public, max-age={cache_seconds}", "ETag": found.etag}
        if request.headers.get("if-none-match") == found.etag:
            return Response(status_code=304, headers=headers)
        return Response(found.data, media_type=found.media_type, headers=headers)

    return router
