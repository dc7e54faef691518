"""An offline tile package: an MBTiles file (an SQLite database, the MBTiles 1.3 specification), opened read-only.

Its `metadata` table names the package (name, attribution, format, minzoom, maxzoom, bounds); its `tiles` table
(or view) holds each tile's image by zoom_level, tile_column and tile_row, rows counted from the south (TMS).
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from domain.basemap import IMAGE_TYPES, tile_exists, tms_row


class PackageError(ValueError):
    """The file given as the tile package cannot serve tiles: the message says why."""


@dataclass(frozen=True, slots=True)
class About:
    """What a package says of itself (its metadata), as far as the map needs it."""

    name: str
    attribution: str
    extension: str  # png, jpg or webp: the tiles' image format
    min_zoom: int
    max_zoom: int
    bounds: tuple[float, float, float, float] | None  # west, south, east, north (WGS-84 degrees)


@dataclass(frozen=True, slots=True)
class Tile:
    data: bytes
    media_type: str
    etag: str  # the image's own digest: the same tile of a package replaced by another is a new one


class Package:
    """An MBTiles file, read-only (SQLite's mode=ro: the API never writes it), one connection for every request,
    used by one thread at a time (a tile is an index look-up of microseconds)."""

    def __init__(self, path: Path) -> None:
        if not path.is_file():
            raise PackageError(f"no tile package at {path} (YIWANG_PAGES_TILE_PACKAGE)")
        try:
            self._db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)
            rows = self._db.execute("SELECT name, value FROM metadata").fetchall()
            self._db.execute("SELECT tile_data FROM tiles LIMIT 1").fetchall()
        except sqlite3.DatabaseError as exc:
            raise PackageError(f"{path} is no MBTiles file (a metadata and a tiles table): {exc}") from exc
        self._lock = threading.Lock()
        self.about = _about(path, {str(name): str(value) for name, value in rows}, self._zooms)

    def tile(self, z: int, x: int, y: int) -> Tile | None:
        """The tile at XYZ address (z, x, y), or None when the package has none there."""
        if not tile_exists(z, x, y):
            return None
        with self._lock:
            row = self._db.execute(
                "SELECT tile_data FROM tiles WHERE zoom_level = ? AND tile_column = ? AND tile_row = ?",
                (z, x, tms_row(z, y)),
            ).fetchone()
        if row is None or row[0] is None:
            return None
        data = bytes(row[0])
        return Tile(data, IMAGE_TYPES[self.about.extension], f'"{hashlib.blake2b(data, digest_size=12).hexdigest()}"')

    def _zooms(self) -> tuple[int, int]:
        low, high = self._db.execute("SELECT min(zoom_level), max(zoom_level) FROM tiles").fetchone()
        if low is None:
            raise PackageError("the tile package holds no tiles")
        return int(low), int(high)

    def close(self) -> None:
        self._db.close()


def _about(path: Path, metadata: dict[str, str], zooms: Callable[[], tuple[int, int]]) -> About:
    extension = metadata.get("format", "png").lower()
    if extension not in IMAGE_TYPES:
        # Vector tiles (pbf) need a style and a renderer the pages do not have.
        raise PackageError(f"{path} holds {extension} tiles: the map draws png, jpg or webp tiles")
    bounds = None
    try:
        west, south, east, north = (float(v) for v in metadata["bounds"].split(","))
        bounds = (west, south, east, north)
    except (KeyError, ValueError):
        pass  # optional: without bounds the page asks for tiles anywhere and the missing ones are 404s
    try:
        min_zoom, max_zoom = int(metadata["minzoom"]), int(metadata["maxzoom"])
    except (KeyError, ValueError):
        min_zoom, max_zoom = zooms()  # optional in MBTiles 1.3: what the tiles hold
    return About(
        name=metadata.get("name") or path.stem,
        attribution=metadata.get("attribution", ""),
        extension="jpg" if extension == "jpeg" else extension,
        min_zoom=min_zoom,
        max_zoom=max_zoom,
        bounds=bounds,
    )
