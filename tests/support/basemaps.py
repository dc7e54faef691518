"""Base maps for the tests: a tiny MBTiles package made on the spot (solid-colour PNG tiles, no imaging library), a
tile server process that records what it is asked for, and a second `yiwang api` beside a running page-test system
with base-map settings of its own.

Run the tile server as `python -m tests.support.basemaps PORT FOLDER`: it answers every GET with a PNG tile and
appends the request's path and query, one a line, to FOLDER/requests.txt.
"""

from __future__ import annotations

import math
import sqlite3
import struct
import subprocess
import sys
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

from tests.support.waiting import wait_until
from yiwang.stack import free_port

Colour = tuple[int, int, int]


def png(colour: Colour, size: int = 256) -> bytes:
    """A PNG image of one colour (RGB, 8 bits), written by hand: the PNG signature, IHDR, IDAT and IEND chunks."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" + bytes(colour) * size  # filter type 0, then the pixels
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    body = chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(row * size)) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + body


def tile_of(latitude: float, longitude: float, zoom: int) -> tuple[int, int]:
    """The XYZ column and row of the tile holding a point (Web Mercator, as web maps and MBTiles cut tiles)."""
    n = 2**zoom
    x = int((longitude + 180.0) / 360.0 * n)
    phi = math.radians(latitude)
    y = int((1.0 - math.log(math.tan(phi) + 1.0 / math.cos(phi)) / math.pi) / 2.0 * n)
    return x, y


def make_package(
    path: Path, tiles: dict[tuple[int, int, int], bytes], metadata: dict[str, str], *, tms: bool = True
) -> Path:
    """An MBTiles file holding `tiles` (by XYZ address) and `metadata`; rows stored the MBTiles way (TMS, from the
    south) unless `tms` is False (a wrong package, to show that the flip matters)."""
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE metadata (name text, value text)")
        db.execute("CREATE TABLE tiles (zoom_level integer, tile_column integer, tile_row integer, tile_data blob)")
        db.execute("CREATE UNIQUE INDEX tile_index ON tiles (zoom_level, tile_column, tile_row)")
        db.executemany("INSERT INTO metadata VALUES (?, ?)", list(metadata.items()))
        db.executemany(
            "INSERT INTO tiles VALUES (?, ?, ?, ?)",
            [(z, x, (2**z - 1 - y) if tms else y, data) for (z, x, y), data in tiles.items()],
        )
    db.close()
    return path


def make_pmtiles(mbtiles: Path, path: Path) -> Path:
    """The MBTiles file converted to a PMTiles archive by the `pmtiles` library's converter (`pmtiles-convert`), as an
    operator would."""
    from pmtiles.convert import mbtiles_to_pmtiles  # noqa: PLC0415 (only the tests of PMTiles need it)

    mbtiles_to_pmtiles(str(mbtiles), str(path), None)
    return path


@dataclass(frozen=True)
class TileServer:
    port: int
    folder: Path

    def requests(self) -> list[str]:
        """The paths (with queries) asked for so far, oldest first."""
        log = self.folder / "requests.txt"
        return log.read_text(encoding="utf-8").splitlines() if log.exists() else []


@contextmanager
def tile_server(folder: Path) -> Iterator[TileServer]:
    """The tile server as a process of its own on a free loopback port, stopped when the block ends."""
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "tests.support.basemaps", str(port), str(folder)])
    try:
        wait_until(lambda: _answers(f"http://127.0.0.1:{port}/health") or process.poll() is not None, 15, "tiles")
        assert process.poll() is None, f"the tile server exited with {process.returncode}"
        yield TileServer(port, folder)
    finally:
        process.terminate()
        process.wait(10)


@contextmanager
def api_beside(env: dict[str, str], **settings: str) -> Iterator[str]:
    """A second `yiwang api` on the database of a running `yiwang run` (its environment `env`), with more YIWANG_*
    settings by name (pages_tile_url="..."): its URL. The same token secret and users: the run's admin logs in."""
    home = Path(env["YIWANG_HOME"])
    port = free_port()
    own = {
        **env,
        "YIWANG_API_PORT": str(port),
        # Its metrics on a port of its own: the run's API holds the run's.
        "YIWANG_API_METRICS_PORT": str(free_port()),
        "YIWANG_API_TOKEN_SECRET": (home / "api_token_secret").read_text().strip(),
    } | {f"YIWANG_{name.upper()}": value for name, value in settings.items()}
    url = f"http://127.0.0.1:{port}"
    log = (home / "logs" / f"api-{port}.log").open("wb")
    process = subprocess.Popen([sys.executable, "-m", "yiwang.cli", "api"], env=own, stdout=log, stderr=log)
    try:
        wait_until(lambda: _answers(f"{url}/health") or process.poll() is not None, 60, "the second API")
        assert process.poll() is None, f"the second API exited with {process.returncode}: see {log.name}"
        yield url
    finally:
        process.terminate()
        process.wait(30)
        log.close()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code < 500
    except httpx.HTTPError:
        return False


def _serve(port: int, folder: Path) -> None:
    tile = png((170, 200, 230))
    log = folder / "requests.txt"

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path != "/health":
                with log.open("a", encoding="utf-8") as file:
                    file.write(self.path + "\n")
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(tile)))
            self.end_headers()
            self.wfile.write(tile)

        def log_message(self, format: str, *args: object) -> None:
            pass

    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


if __name__ == "__main__":
    _serve(int(sys.argv[1]), Path(sys.argv[2]))
