"""An offline tile package, opened read-only: an MBTiles file or a PMTiles archive, told apart by the file's suffix.

MBTiles (an SQLite database, the MBTiles 1.3 specification): its `metadata` table names the package (name,
attribution, format, minzoom, maxzoom, bounds); its `tiles` table (or view) holds each tile's image by zoom_level,
tile_column and tile_row, rows counted from the south (TMS).

PMTiles (version 3, one file of a header, directories and tiles; read with the `pmtiles` library): its header gives
the tile type, zooms and bounds, its JSON metadata the name and attribution; tiles are addressed as XYZ.
"""

from __future__ import annotations

import gzip
import hashlib
import mmap
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from pmtiles.reader import Reader
from pmtiles.tile import Compression, MagicNumberNotFound, SpecVersionUnsupported, TileType

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


class Package(Protocol):
    """What the /tiles route asks of a package, whichever its format."""

    about: About

    def tile(self, z: int, x: int, y: int) -> Tile | None: ...

    def close(self) -> None: ...


def open_package(path: Path) -> Package:
    """The package at `path`: a PMTiles archive if its name ends in .pmtiles, else an MBTiles file.

    Raises:
        PackageError: no such file, or none the map can draw.
    """
    if not path.is_file():
        raise PackageError(f"no tile package at {path} (YIWANG_PAGES_TILE_PACKAGE)")
    return PMTiles(path) if path.suffix.lower() == ".pmtiles" else MBTiles(path)


def _tile(data: bytes, extension: str) -> Tile:
    return Tile(data, IMAGE_TYPES[extension], f'"{hashlib.blake2b(data, digest_size=12).hexdigest()}"')


class MBTiles:
    """An MBTiles file, read-only (SQLite's mode=ro: the API never writes it), one connection for every request,
    used by one thread at a time (a tile is an index look-up of microseconds)."""

    def __init__(self, path: Path) -> None:
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
        return _tile(bytes(row[0]), self.about.extension)

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


# The raster tile types of PMTiles, as the extensions of /tiles.
_PMTILES_TYPES = {TileType.PNG: "png", TileType.JPEG: "jpg", TileType.WEBP: "webp"}


class PMTiles:
    """A PMTiles archive, read-only: mapped into memory (the operating system reads what is asked), so that threads
    read it at once without a lock."""

    def __init__(self, path: Path) -> None:
        with path.open("rb") as file:
            try:
                self._map = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
            except ValueError as exc:  # an empty file
                raise PackageError(f"{path} is no PMTiles archive: {exc}") from exc
        # The library is untyped: its reader is given what to read a byte range with.
        self._reader = Reader(lambda offset, length: self._map[offset : offset + length])  # type: ignore[no-untyped-call]
        try:
            header = self._reader.header()  # type: ignore[no-untyped-call]
            metadata = self._reader.metadata()  # type: ignore[no-untyped-call]
        except (MagicNumberNotFound, SpecVersionUnsupported, ValueError, OSError) as exc:
            raise PackageError(f"{path} is no PMTiles archive of version 3: {exc!r}") from exc
        extension = _PMTILES_TYPES.get(header["tile_type"])
        if extension is None:
            raise PackageError(f"{path} holds {header['tile_type'].name} tiles: the map draws png, jpg or webp tiles")
        self._gzip = header["tile_compression"] == Compression.GZIP
        west, south, east, north = (header[k] / 1e7 for k in ("min_lon_e7", "min_lat_e7", "max_lon_e7", "max_lat_e7"))
        self.about = About(
            name=str(metadata.get("name") or path.stem),
            attribution=str(metadata.get("attribution", "")),
            extension=extension,
            min_zoom=int(header["min_zoom"]),
            max_zoom=int(header["max_zoom"]),
            bounds=(west, south, east, north) if (west, south, east, north) != (0, 0, 0, 0) else None,
        )

    def tile(self, z: int, x: int, y: int) -> Tile | None:
        """The tile at XYZ address (z, x, y), or None when the archive has none there."""
        if not tile_exists(z, x, y):
            return None
        data = self._reader.get(z, x, y)  # type: ignore[no-untyped-call]
        if not data:
            return None
        return _tile(gzip.decompress(data) if self._gzip else bytes(data), self.about.extension)

    def close(self) -> None:
        self._map.close()
