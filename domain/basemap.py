"""The map's base map: tiles of a service named by a URL template, tiles of an offline package, or none (a grid).

Tiles are addressed as in every web map (XYZ, "slippy map"): zoom z, column x from the west, row y from the north,
2**z columns and rows at zoom z. An MBTiles package numbers its rows from the south (TMS, the MBTiles 1.3
specification): row `2**z - 1 - y`. A URL template names its place-holders in braces ({z}, {x}, {y}; {s} a
subdomain, {key} the service's key), as Leaflet's L.tileLayer fills them in the page.
"""

from __future__ import annotations

from typing import Final, Literal

BaseMap = Literal["service", "package", "grid"]  # tiles by URL, tiles of the API's package, no tiles
MAX_ZOOM: Final = 24  # deeper than any published tile set (OpenStreetMap's tiles stop at 19)
IMAGE_TYPES: Final = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp"}


def base_map(url: str, package: str) -> BaseMap:
    """Which base map the settings give: a service by URL, an offline package, or the grid."""
    if url:
        return "service"
    return "package" if package else "grid"


def tile_exists(z: int, x: int, y: int) -> bool:
    """Whether (z, x, y) addresses a tile of the world at all: any other address is a missing tile."""
    return 0 <= z <= MAX_ZOOM and 0 <= x < 2**z and 0 <= y < 2**z


def tms_row(z: int, y: int) -> int:
    """The MBTiles (TMS) row of the XYZ row y at zoom z: TMS counts rows from the south."""
    return int(2**z) - 1 - y


def template_problem(url: str, key: str) -> str | None:
    """What is wrong with a tile URL template and its key, or None: the page can fill it and the pages' policy can
    name its origin."""
    scheme, _, rest = url.partition("://")
    host = rest.split("/", 1)[0].split("?", 1)[0]
    if scheme not in ("http", "https") or not host:
        return f"{url!r} is no http(s) URL template, such as https://tiles.example/{{z}}/{{x}}/{{y}}.png"
    if "{s}" in host and "{s}" not in host.split(".", 1)[0]:
        return f"{url!r} has {{s}} outside the host's first label: a policy can name only *.host as many hosts"
    missing = [name for name in ("{z}", "{x}", "{y}") if name not in url]
    if missing:
        return f"{url!r} lacks {', '.join(missing)}: the page fills them with each tile's zoom, column and row"
    if key and "{key}" not in url:
        return f"a key is set but {url!r} has no {{key}}: put it where the service wants it, e.g. ...&tk={{key}}"
    if not key and "{key}" in url:
        return f"{url!r} has {{key}} but no key is set"
    return None


def image_origin(url: str) -> str:
    """The origin the page loads a template's tiles from, as a Content-Security-Policy source: scheme and host; a
    host whose label holds {s} (one subdomain per request: t{s}.tianditu.gov.cn, {s}.tile.example) is every
    subdomain of the rest ("*.tianditu.gov.cn"), the only wildcard a policy knows."""
    scheme, _, rest = url.partition("://")
    netloc = rest.split("/", 1)[0].split("?", 1)[0]
    labels = netloc.split(".")
    if "{s}" in labels[0]:
        labels[0] = "*"
    return f"{scheme}://{'.'.join(labels)}"
