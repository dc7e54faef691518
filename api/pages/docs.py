"""The API's own documentation, /docs (Swagger UI) and /redoc (ReDoc), served from the vendored copies in
`static/vendor/` (see its README) rather than a CDN: on an intranet without internet they still show, and they run
under the pages' Content-Security-Policy. Swagger UI is started by a script file (`static/js/swagger-init.js`), not
by the inline script of its usual page, which the policy (script-src 'self') refuses. ReDoc's search is off: it runs
in a worker made from a blob: URL, which the policy refuses too (Swagger UI filters the operations instead)."""

from __future__ import annotations

from html import escape
from typing import Final

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from api import resources
from api.pages import PREFIX, security_headers

SWAGGER_UI: Final = f"{PREFIX}/vendor/swagger-ui-dist-5.36.0"
REDOC: Final = f"{PREFIX}/vendor/redoc-2.5.4"

router = APIRouter(include_in_schema=False)

_SWAGGER_PAGE: Final = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="{root}{swagger}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-openapi-url="{root}{openapi}"></div>
<script src="{root}{swagger}/swagger-ui-bundle.js"></script>
<script src="{root}{prefix}/js/swagger-init.js"></script>
</body>
</html>
"""

_REDOC_PAGE: Final = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
</head>
<body style="margin: 0">
<redoc spec-url="{root}{openapi}" disable-search></redoc>
<script src="{root}{redoc}/redoc.standalone.js"></script>
</body>
</html>
"""


def _page(request: Request, template: str) -> HTMLResponse:
    app = request.app
    # Behind a proxy that serves the API under a path, the files are under it too.
    root = escape(str(request.scope.get("root_path", "")).rstrip("/"))
    html = template.format(
        title=escape(f"{app.title} API"),
        root=root,
        openapi=escape(app.openapi_url or ""),
        prefix=PREFIX,
        swagger=SWAGGER_UI,
        redoc=REDOC,
    )
    return HTMLResponse(html, headers=security_headers(resources.of(request).settings) | {"Cache-Control": "no-cache"})


@router.get("/docs")
async def swagger_ui(request: Request) -> HTMLResponse:
    """The API's operations in Swagger UI, where they can be tried."""
    return _page(request, _SWAGGER_PAGE)


@router.get("/redoc")
async def redoc(request: Request) -> HTMLResponse:
    """The API's reference in ReDoc."""
    return _page(request, _REDOC_PAGE)
