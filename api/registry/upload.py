"""An import over HTTP: the file read from a multipart/form-data body after the route has checked the user, and
no further than the limit (a larger one is refused before it is all received), imported, and recorded in the
audit log by its name, size and SHA-256."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from typing import Any, Final

from fastapi import Request
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from api.access.audit import audit_entry
from api.errors import Problem, TooLarge, responses
from api.registry.models import ImportRefused, ImportResult
from api.registry.spreadsheets import MAX_UPLOAD_BYTES, FileRefused, RowsRefused, fingerprint, read_rows
from db.scope import Scope

# Room for the multipart envelope around the file.
_ENVELOPE_BYTES = 64 * 1024
# The request body an import route takes (`max_body_size=`), above the API's limit for every other body
# (YIWANG_API_MAX_BODY_BYTES): the largest file and its envelope.
UPLOAD_BODY_BYTES: Final = MAX_UPLOAD_BYTES + _ENVELOPE_BYTES


async def read_upload(request: Request, *, limit: int = MAX_UPLOAD_BYTES) -> tuple[str, bytes]:
    """The name and content of the file sent as the multipart/form-data field `file`.

    The body is read here, after the route's dependencies have checked the user, and no further than `limit`
    bytes and the envelope: a larger one is refused before it is all received.

    Raises:
        TooLarge: the file is larger than `limit`.
        FileRefused: the body is not multipart/form-data with one file in the field `file`.
    """
    how = "send the file as multipart/form-data in the field 'file' (curl -F file=@registry.xlsx)"
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise FileRefused(f"the body is not multipart/form-data: {how}")
    too_large = TooLarge(f"the file is larger than {limit // (1024 * 1024)} MB: split it into several files")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + _ENVELOPE_BYTES:
        raise too_large

    async def body() -> AsyncGenerator[bytes, None]:
        received = 0
        async for chunk in request.stream():
            received += len(chunk)
            if received > limit + _ENVELOPE_BYTES:
                raise too_large
            yield chunk

    parser = MultiPartParser(request.headers, body(), max_files=1, max_fields=10)
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise FileRefused(f"the body cannot be read ({exc}): {how}") from exc
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise FileRefused(f"there is no file in the field 'file': {how}")
        content = await upload.read()
        if len(content) > limit:
            raise too_large
        return upload.filename or "", content
    finally:
        await form.close()


# The request body of an import, for the OpenAPI schema: the route reads the body itself (`read_upload`), after
# checking the user and no further than the limit, so FastAPI does not describe it.
UPLOAD_BODY: Final[dict[str, Any]] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "file": {
                            "type": "string",
                            "contentMediaType": "application/octet-stream",
                            "description": "an XLSX workbook (its first sheet is read) or a CSV file",
                        }
                    },
                    "required": ["file"],
                }
            }
        },
    }
}
IMPORT_RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    **responses(401, 403),
    413: {"model": Problem, "description": "the file is larger, or has more rows, than one import takes"},
    422: {
        "model": ImportRefused,
        "description": "the file cannot be read, or rows do not fit (which, where and why); nothing was written",
    },
}

Importer = Callable[[AsyncConnection, Scope, Sequence[tuple[int, Sequence[object]]]], Awaitable[ImportResult]]


async def import_upload(
    request: Request, pool: AsyncConnectionPool[AsyncConnection], scope: Scope, importer: Importer
) -> ImportResult:
    """Read the uploaded file and import it: the counts.

    The audit entry records the file's name, size and SHA-256, and what was written or how many problems there were.

    Raises:
        TooLarge: the file is larger, or has more rows, than one import takes (413).
        FileRefused: the file cannot be read, or rows do not fit (RowsRefused): nothing was written (422).
    """
    entry = audit_entry(request)
    try:
        name, content = await read_upload(request)
        entry.params = {"file": name, "bytes": len(content), "sha256": fingerprint(content)}
        rows = await run_in_threadpool(read_rows, content)
        async with pool.connection() as conn:
            result = await importer(conn, scope, rows)
    except RowsRefused as exc:
        entry.params["problems"] = len(exc.problems)
        raise
    entry.params.update(result.model_dump())
    return result
