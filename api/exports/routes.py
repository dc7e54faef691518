"""Exports: the energy and dispatch reports as XLSX workbooks for staff and as CSV for systems; each figure in a file
is the figure of the API's report it comes from."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from pydantic import Field

from api.deps import PoolDep, ScopeDep, SettingsDep, require
from api.energy import factor_sheet, series
from api.energy import workbook as energy_workbook
from api.energy.reports import IndicatorQuery, chosen_factors, indicator_report, quality_report
from api.files.responses import REPORT_RESPONSES, CsvForm, ReportForm, csv_download, period_name, xlsx_download
from api.files.table import Sheet
from api.fleet import reports
from api.fleet import workbook as dispatch_workbook
from api.fleet.reports import ReportQuery

router = APIRouter(prefix="/exports", tags=["exports"])


class EnergyExportQuery(ReportForm, IndicatorQuery):
    pass


class EnergyCsvQuery(CsvForm, EnergyExportQuery):
    view: energy_workbook.View | Literal["factors"] = Field(
        default="institutions", description="a sheet of the workbook; 'factors': the factors applied, with sources"
    )


class DispatchExportQuery(ReportForm, ReportQuery):
    pass


class DispatchCsvQuery(CsvForm, DispatchExportQuery):
    view: dispatch_workbook.View = "units"


# ---------------------------------------------------------------------------------------------------------------
# Energy


async def _energy_sheets(
    pool: PoolDep,
    scope: ScopeDep,
    settings: SettingsDep,
    query: EnergyExportQuery,
    only: energy_workbook.View | Literal["factors"] | None,
) -> list[Sheet]:
    async with pool.connection() as conn:
        # One choice of factors for every sheet.
        factors = await chosen_factors(conn, query)
        # The file says which factors made its figures, with their sources: a sheet of its own, and a CSV view.
        applied = factor_sheet.sheet(await factor_sheet.applied(conn, factors), query.language)
        if only == factor_sheet.VIEW:
            return [applied]
        per_institution = query.model_copy(update={"group": "institution"})
        result = await indicator_report(conn, scope, settings, per_institution, factors)
        months = await series.monthly(conn, scope, query.filters, start=query.start, end=query.end, factors=factors)
        checked = await quality_report(conn, scope, settings, query)
    sheets = energy_workbook.sheets(result, months, checked, query.language, only)
    return sheets if only is not None else [*sheets, applied]


@router.get(
    "/energy.xlsx",
    dependencies=[Depends(require("exports:read"))],
    responses=REPORT_RESPONSES,
    response_class=StreamingResponse,
)
async def energy_xlsx(
    pool: PoolDep, scope: ScopeDep, settings: SettingsDep, query: Annotated[EnergyExportQuery, Query()]
) -> StreamingResponse:
    """The energy report of a period as XLSX: a sheet per view (institutions x indicators, by month with a
    chart, a ranking per assessed indicator within categories, key energy-using units flagged or proposed, data
    quality, the factors applied with their sources), Chinese headers by default."""
    sheets = await _energy_sheets(pool, scope, settings, query, None)
    return await xlsx_download(
        sheets, language=query.language, name=period_name("energy", query.start, query.end, "xlsx")
    )


@router.get(
    "/energy.csv",
    dependencies=[Depends(require("exports:read"))],
    responses=REPORT_RESPONSES,
    response_class=StreamingResponse,
)
async def energy_csv(
    pool: PoolDep, scope: ScopeDep, settings: SettingsDep, query: Annotated[EnergyCsvQuery, Query()]
) -> StreamingResponse:
    """One view of the energy report as CSV (UTF-8), for systems: plain numbers, ISO dates, stable keys."""
    [sheet] = await _energy_sheets(pool, scope, settings, query, query.view)
    return csv_download(
        sheet,
        header=query.header,
        bom=query.bom,
        name=period_name(f"energy-{query.view}", query.start, query.end, "csv"),
    )


# ---------------------------------------------------------------------------------------------------------------
# Dispatch


async def _dispatch_sheets(
    pool: PoolDep,
    scope: ScopeDep,
    settings: SettingsDep,
    query: DispatchExportQuery,
    only: dispatch_workbook.View | None,
) -> list[Sheet]:
    async with pool.connection() as conn:
        result, rows = await reports.report(conn, scope, query.period, settings.zone, query.organisation_id)
    return dispatch_workbook.sheets(result, rows, query.language, only)


@router.get(
    "/dispatch.xlsx",
    dependencies=[Depends(require("reports:read"))],
    responses=REPORT_RESPONSES,
    response_class=StreamingResponse,
)
async def dispatch_xlsx(
    pool: PoolDep, scope: ScopeDep, settings: SettingsDep, query: Annotated[DispatchExportQuery, Query()]
) -> StreamingResponse:
    """The dispatch report of a period as XLSX: units (with the total line), vehicles, and alerts per unit and
    kind; Chinese headers by default. The figures are those of GET /reports/dispatch and GET /reports/vehicles."""
    sheets = await _dispatch_sheets(pool, scope, settings, query, None)
    return await xlsx_download(
        sheets, language=query.language, name=period_name("dispatch", query.start, query.end, "xlsx")
    )


@router.get(
    "/dispatch.csv",
    dependencies=[Depends(require("reports:read"))],
    responses=REPORT_RESPONSES,
    response_class=StreamingResponse,
)
async def dispatch_csv(
    pool: PoolDep, scope: ScopeDep, settings: SettingsDep, query: Annotated[DispatchCsvQuery, Query()]
) -> StreamingResponse:
    """One view of the dispatch report as CSV (UTF-8), for systems: plain numbers, stable keys. The units view ends
    with the total line (no unit id)."""
    [sheet] = await _dispatch_sheets(pool, scope, settings, query, query.view)
    return csv_download(
        sheet,
        header=query.header,
        bom=query.bom,
        name=period_name(f"dispatch-{query.view}", query.start, query.end, "csv"),
    )
