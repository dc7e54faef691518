"""Reports as downloads: an XLSX written before the response starts, a CSV streamed, each saved under a name."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any, Final

from fastapi import HTTPException, status
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from api.errors import responses
from api.files import provenance as made
from api.files.provenance import Provenance, ProvenanceForm
from api.files.table import Sheet
from api.files.workbook import CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE, Header, csv_chunks, file_chunks, spool_xlsx
from domain.labels import Language


class ReportForm(BaseModel):
    """How a report is written: the language of its headers and texts. A mixin: first among the bases, so that
    the report's own parameters come first."""

    language: Language = Field(default="zh", description="headers and texts: Chinese (default) or English")


class CsvForm(ProvenanceForm):
    """How a report's CSV is written, on top of `ReportForm`; a mixin as it is."""

    header: Header = Field(
        default="key", description="stable column keys for systems (default), or headers people read"
    )
    bom: bool = Field(default=False, description="start with a byte-order mark, for Excel to read UTF-8")


# The OpenAPI answers of a report's download: the file, or the usual refusals.
REPORT_RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    **responses(401, 403, 422),
    200: {"content": {XLSX_MEDIA_TYPE: {}, CSV_MEDIA_TYPE: {}}, "description": "the file"},
}


def period_name(stem: str, start: date, end: date, suffix: str) -> str:
    """A report's file name: what it is and its period, e.g. energy-2026-01-01-2026-07-01.xlsx."""
    return f"{stem}-{start.isoformat()}-{end.isoformat()}.{suffix}"


def attachment(name: str) -> dict[str, str]:
    """The header that has a browser save the response as `name`."""
    return {"Content-Disposition": f'attachment; filename="{name}"'}


async def xlsx_download(
    sheets: Sequence[Sheet], *, language: Language, name: str, provenance: Provenance
) -> StreamingResponse:
    """The workbook of `sheets` and, last, the sheet of its `provenance` (说明), written to a spooled file (in a worker
    thread) before the response starts, so that a row that does not fit is an error response naming it (our bug:
    500), not a broken download."""
    try:
        spool = await run_in_threadpool(spool_xlsx, [*sheets, made.sheet(provenance, language)], language=language)
    except ValueError as exc:
        raise HTTPException(status.HTTP_500_INTERNAL_SERVER_ERROR, detail=str(exc)) from exc
    return StreamingResponse(file_chunks(spool), media_type=XLSX_MEDIA_TYPE, headers=attachment(name))


def csv_download(
    sheet: Sheet, *, header: Header, bom: bool, name: str, provenance: Provenance | None
) -> StreamingResponse:
    """One sheet as CSV (UTF-8), streamed, after the '#' lines of its `provenance` (None: without them), labelled
    in the language of the headers (English with keys)."""
    comments = made.comment_records(provenance, "en" if header == "key" else header) if provenance else ()
    return StreamingResponse(
        csv_chunks(sheet, header=header, bom=bom, comments=comments),
        media_type=CSV_MEDIA_TYPE,
        headers=attachment(name),
    )
