"""Exports: the energy report as an XLSX workbook for staff and as CSV for systems."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, status
from fastapi.responses import StreamingResponse
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from api.deps import PoolDep, ScopeDep, SettingsDep, require
from api.energy import series, workbook
from api.errors import responses
from api.exports.table import Sheet
from api.exports.workbook import CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE, csv_chunks, file_chunks, spool_xlsx
from api.routes.energy import IndicatorQuery, chosen_factors, indicator_report, quality_report

router = APIRouter(tags=["exports"])

_FILE_RESPONSES = {
    **responses(401, 403, 422),
    200: {"content": {XLSX_MEDIA_TYPE: {}, CSV_MEDIA_TYPE: {}}, "description": "the file"},
}


class ExportQuery(IndicatorQuery):
    language: Literal["zh", "en"] = Field(default="zh", description="headers and texts: Chinese (default) or English")


class CsvQuery(ExportQuery):
    view: workbook.View = "institutions"
    header: Literal["key", "zh", "en"] = Field(
        default="key", description="stable column keys for systems (default), or headers people read"
    )
    bom: bool = Field(default=False, description="start with a byte-order mark, for Excel to read UTF-8")


async def _sheets(
    pool: PoolDep, scope: ScopeDep, settings: SettingsDep, query: ExportQuery, only: workbook.View | None
) -> list[Sheet]:
    async with pool.connection() as conn:
        # One choice of factors for every sheet.
        factors = await chosen_factors(conn, query)
        per_institution = query.model_copy(update={"group": "institution"})
        result = await indicator_report(conn, scope, settings, per_institution, factors)
        months = await series.monthly(conn, scope, query.filters, start=query.start, end=query.end, factors=factors)
        checked = await quality_report(conn, scope, settings, query)
    return workbook.sheets(result, months, checked, query.language, only)


def _filename(stem: str, start: date, end: date, suffix: str) -> str:
    return f'attachment; filename="{stem}-{start.isoformat()}-{end.isoformat()}.{suffix}"'


@router.get(
    "/exports/energy.xlsx",
    dependencies=[Depends(require("exports:read"))],
    responses=_FILE_RESPONSES,
    response_class=StreamingResponse,
)
async def energy_xlsx(
    pool: PoolDep, scope: ScopeDep, settings: SettingsDep, query: Annotated[ExportQuery, Query()]
) -> StreamingResponse:
    """The energy report of a period as XLSX: a sheet per view (institutions x indicators, by month with a
    chart, rankings within categories, key energy-using units, data quality), Chinese headers by default."""
    sheets = await _sheets(pool, scope, settings, query, None)
    try:
        spool = await run_in_threadpool(spool_xlsx, sheets, language=query.language)
    except ValueError as exc:  # a value the sheet cannot hold: our bug, but say which
        raise HTTPException(status.HTTP_500_INTERNAL_SERVER_ERROR, detail=str(exc)) from exc
    return StreamingResponse(
        file_chunks(spool),
        media_type=XLSX_MEDIA_TYPE,
        headers={"Content-Disposition": _filename("energy", query.start, query.end, "xlsx")},
    )


@router.get(
    "/exports/energy.csv",
    dependencies=[Depends(require("exports:read"))],
    responses=_FILE_RESPONSES,
    response_class=StreamingResponse,
)
async def energy_csv(
    pool: PoolDep, scope: ScopeDep, settings: SettingsDep, query: Annotated[CsvQuery, Query()]
) -> StreamingResponse:
    """One view of the energy report as CSV (UTF-8), for systems: plain numbers, ISO dates, stable keys."""
    [sheet] = await _sheets(pool, scope, settings, query, query.view)
    return StreamingResponse(
        csv_chunks(sheet, header=query.header, bom=query.bom),
        media_type=CSV_MEDIA_TYPE,
        headers={"Content-Disposition": _filename(f"energy-{query.view}", query.start, query.end, "csv")},
    )
