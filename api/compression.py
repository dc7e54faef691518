"""HTTP answers gzipped for the clients that accept it (every browser, curl --compressed, httpx): over an office
network the whole live map of 20,000 vehicles is 8.6 MB as JSON and some 1.1 MB gzipped at level 1.

Starlette's GZipMiddleware does what is needed: `Vary: Accept-Encoding`; a large body compressed in a worker thread
(the whole map takes some 35 ms of a core at level 1, 350 ms at its default 9: never on the event loop); a streamed
answer (a CSV export) compressed chunk by chunk, each flushed as it comes, never buffered whole; no partial (206)
answer and none already encoded touched. Here: the level and the size from the settings, and the types that are
compressed already left alone."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.middleware.gzip import DEFAULT_EXCLUDED_CONTENT_TYPES, GZipMiddleware

from api.files.workbook import XLSX_MEDIA_TYPE
from yiwang.settings import Settings

# An XLSX is a zip; files and map tiles are served as they were stored (a vector tile is often gzipped already).
COMPRESSED_ALREADY = (
    *DEFAULT_EXCLUDED_CONTENT_TYPES,
    XLSX_MEDIA_TYPE,
    "application/octet-stream",
    "application/x-protobuf",
    "application/vnd.mapbox-vector-tile",
)


def install(app: FastAPI, settings: Settings) -> None:
    """Compress the app's HTTP answers as the settings say (api_gzip_level 0: never)."""
    if settings.api_gzip_level == 0:
        return
    app.add_middleware(
        GZipMiddleware,
        minimum_size=settings.api_gzip_min_bytes,
        compresslevel=settings.api_gzip_level,
        exclude_content_types=COMPRESSED_ALREADY,
    )
