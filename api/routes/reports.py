"""Dispatch reports: dispatches and kilometres per unit, mileage and utilisation per vehicle, new-energy shares and
alerts per unit for a period of local days, as JSON and as XLSX and CSV exports (api/dispatch/reports.py says what
each figure counts)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from pydantic import Field

from api.deps import PoolDep, ScopeDep, SettingsDep, require
from api.dispatch import reports, workbook
from api.dispatch.reports import DispatchReport, Period, VehicleReport
from api.errors import Text, responses
from api.exports.responses import REPORT_RESPONSES, CsvForm, ReportForm, csv_download, period_name, xlsx_download
from api.exports.table import Sheet
from api.routes.energy import PeriodQuery

router = APIRouter(tags=["reports"])


class ReportQuery(PeriodQuery):
    """Local days [start, end) in the zone of YIWANG_ENERGY_ZONE, optionally of one unit."""

    organisation_id: Text | None = Field(default=None, description="only this unit (one you may see)")


class ExportQuery(ReportForm, ReportQuery):
    pass


class CsvQuery(CsvForm, ExportQuery):
    view: workbook.View = "units"


def _period(settings: SettingsDep, query: ReportQuery) -> Period:
    return Period(query.start, query.end, settings.zone)


@router.get(
    "/reports/dispatch",
    dependencies=[Depends(require("reports:read"))],
    responses=responses(401, 403, 422),
)
async def dispatch_report(
    pool: PoolDep, scope: ScopeDep, settings: SettingsDep, query: Annotated[ReportQuery, Query()]
) -> DispatchReport:
    """Per unit you may see, and a total line: dispatches (派车) and their kilometres, its vehicles' kilometres,
    fleet, new-energy shares of vehicles and of kilometres, utilisation, and alerts by kind.

    Dispatches are the unit's trip requests dispatched in the period, whatever came next (completed: returned
    since; dispatch km: return minus departure odometer of those with both readings). Kilometres are those of
    its vehicles' trips that started in the period, from the odometer where plausible, else from the cleaned
    track; they are brought up to date every YIWANG_MILEAGE_REFRESH_SECONDS. The fleet is its vehicles not
    retired, and retired ones that drove. New energy is battery_electric and plug_in_hybrid. Utilisation is
    vehicle-days with a trip / (vehicles x days of the period). Alerts are counted by fix time.
    """
    async with pool.connection() as conn:
        result, _ = await reports.report(conn, scope, _period(settings, query), query.organisation_id)
    return result


@router.get(
    "/reports/vehicles",
    dependencies=[Depends(require("reports:read"))],
    responses=responses(401, 403, 422),
)
async def vehicle_report(
    pool: PoolDep, scope: ScopeDep, settings: SettingsDep, query: Annotated[ReportQuery, Query()]
) -> VehicleReport:
    """Per vehicle you may see: kilometres of its trips that started in the period (and how many of them by
    odometer), trips, days used (with a trip) and reporting (with a position), utilisation (days used / days of
    the period), moving hours, top speed, and the requests dispatched to it with their odometer kilometres.
    Retired vehicles appear only if they drove in the period."""
    period = _period(settings, query)
    async with pool.connection() as conn:
        rows = await reports.vehicles(conn, scope, period, query.organisation_id)
    return VehicleReport(start=period.start, end=period.end, days=period.days, zone=period.zone.key, vehicles=rows)


async def _sheets(
    pool: PoolDep, scope: ScopeDep, settings: SettingsDep, query: ExportQuery, only: workbook.View | None
) -> list[Sheet]:
    async with pool.connection() as conn:
        result, rows = await reports.report(conn, scope, _period(settings, query), query.organisation_id)
    return workbook.sheets(result, rows, query.language, only)


@router.get(
    "/exports/dispatch.xlsx",
    dependencies=[Depends(require("reports:read"))],
    responses=REPORT_RESPONSES,
    response_class=StreamingResponse,
    tags=["exports"],
)
async def dispatch_xlsx(
    pool: PoolDep, scope: ScopeDep, settings: SettingsDep, query: Annotated[ExportQuery, Query()]
) -> StreamingResponse:
    """The dispatch report of a period as XLSX: units (with the total line), vehicles, and alerts per unit and
    kind; Chinese headers by default. The figures are those of GET /reports/dispatch and GET /reports/vehicles."""
    sheets = await _sheets(pool, scope, settings, query, None)
    return await xlsx_download(
        sheets, language=query.language, name=period_name("dispatch", query.start, query.end, "xlsx")
    )


@router.get(
    "/exports/dispatch.csv",
    dependencies=[Depends(require("reports:read"))],
    responses=REPORT_RESPONSES,
    response_class=StreamingResponse,
    tags=["exports"],
)
async def dispatch_csv(
    pool: PoolDep, scope: ScopeDep, settings: SettingsDep, query: Annotated[CsvQuery, Query()]
) -> StreamingResponse:
    """One view of the dispatch report as CSV (UTF-8), for systems: plain numbers, stable keys. The units view ends
    with the total line (no unit id)."""
    [sheet] = await _sheets(pool, scope, settings, query, query.view)
    return csv_download(
        sheet,
        header=query.header,
        bom=query.bom,
        name=period_name(f"dispatch-{query.view}", query.start, query.end, "csv"),
    )
