"""Exports: the energy report as an XLSX workbook for staff and as CSV for systems."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from api.deps import PoolDep, ScopeDep, SettingsDep, require
from api.energy import series, workbook
from api.exports.responses import REPORT_RESPONSES, CsvForm, ReportForm, csv_download, period_name, xlsx_download
from api.exports.table import Sheet
from api.routes.energy import IndicatorQuery, chosen_factors, indicator_report, quality_report

router = APIRouter(tags=["exports"])


class ExportQuery(ReportForm, IndicatorQuery):
    pass


class CsvQuery(CsvForm, ExportQuery):
    view: workbook.View = "institutions"


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


@router.get(
    "/exports/energy.xlsx",
    dependencies=[Depends(require("exports:read"))],
    responses=REPORT_RESPONSES,
    response_class=StreamingResponse,
)
async def energy_xlsx(
    pool: PoolDep, scope: ScopeDep, settings: SettingsDep, query: Annotated[ExportQuery, Query()]
) -> StreamingResponse:
    """The energy report of a period as XLSX: a sheet per view (institutions x indicators, by month with a
    chart, rankings within categories, key energy-using units, data quality), Chinese headers by default."""
    sheets = await _sheets(pool, scope, settings, query, None)
    return await xlsx_download(
        sheets, language=query.language, name=period_name("energy", query.start, query.end, "xlsx")
    )


@router.get(
    "/exports/energy.csv",
    dependencies=[Depends(require("exports:read"))],
    responses=REPORT_RESPONSES,
    response_class=StreamingResponse,
)
async def energy_csv(
    pool: PoolDep, scope: ScopeDep, settings: SettingsDep, query: Annotated[CsvQuery, Query()]
) -> StreamingResponse:
    """One view of the energy report as CSV (UTF-8), for systems: plain numbers, ISO dates, stable keys."""
    [sheet] = await _sheets(pool, scope, settings, query, query.view)
    return csv_download(
        sheet,
        header=query.header,
        bom=query.bom,
        name=period_name(f"energy-{query.view}", query.start, query.end, "csv"),
    )
