"""Vehicle fuel and charging: statements imported (fuel cards' 消费明细, charging platforms' bills), and the fuel
report per vehicle against its track's kilometres, as JSON, XLSX and CSV (api/fleet/fuel.py says what each figure
counts)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from api.access.audit import audit_entry
from api.access.rules import Principal
from api.deps import CurrentUser, PoolDep, ScopeDep, SettingsDep, require
from api.errors import responses
from api.fields import RowId, Text
from api.files import provenance
from api.files.provenance import Provenance
from api.files.responses import REPORT_RESPONSES, CsvForm, ReportForm, csv_download, period_name, xlsx_download
from api.files.table import Sheet
from api.fleet import fuel, fuel_withdrawals
from api.fleet.fuel import FuelReport
from api.fleet.fuel_imports import Densities, FuelImportResult, import_statement, sheet_of
from api.fleet.fuel_withdrawals import FuelPurchase, FuelPurchaseWithdrawal
from api.fleet.reports import ReportQuery
from api.queries import PeriodQuery
from api.registry.spreadsheets import fingerprint, read_rows
from api.registry.upload import IMPORT_RESPONSES, UPLOAD_BODY, UPLOAD_BODY_BYTES, read_upload

router = APIRouter(prefix="/fuel", tags=["fuel"])

Reader = Annotated[Principal, Depends(require("reports:read"))]
Importer = Annotated[Principal, Depends(require("fuel:write"))]

_IMPORT_RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    **IMPORT_RESPONSES,
    422: {**IMPORT_RESPONSES[422], "description": "the file cannot be read, or its header names no plate, time or "
          "quantity column; nothing was stored"},
}  # fmt: skip


class FuelExportQuery(ReportForm, ReportQuery):
    pass


class FuelCsvQuery(CsvForm, FuelExportQuery):
    view: fuel.View = "vehicles"


@router.post(
    "/statements",
    response_model=FuelImportResult,
    responses=_IMPORT_RESPONSES,
    openapi_extra=UPLOAD_BODY,
    max_body_size=UPLOAD_BODY_BYTES,
)
async def import_fuel_statement(
    request: Request, pool: PoolDep, scope: ScopeDep, settings: SettingsDep, user: Importer
) -> FuelImportResult:
    """Import a fuel-card statement (加油卡消费明细 of 中国石化 or 中国石油) or a charging platform's bill, as an
    XLSX workbook (its first sheet) or a CSV file in the multipart field `file`. Headers in Chinese or English:
    卡号, 车牌号, 交易时间 (a charge's 充电开始时间) and 充电结束时间, 油站/加油站名称/充电站, 油品, 数量(升)/加油量
    or 充电量(kWh), 金额(元) (docs/api.md, "Fuel and charging", lists every header read). Each row's plate is
    resolved to the vehicle of your units that held it at the purchase time.

    Rows that fit are stored; every other row is listed with its sheet, row (as Excel numbers it), column and reason:
    unknown plate (or not one of your units' vehicles), duplicate, unparseable number or time, a refund. A purchase
    stored before (the same vehicle, time, fuel and quantity) is not stored again, so a statement may be imported
    again after its rows are mended."""
    entry = audit_entry(request)
    name, content = await read_upload(request)
    entry.params = {"file": name, "bytes": len(content), "sha256": fingerprint(content)}
    rows = await run_in_threadpool(read_rows, content)
    sheet = await run_in_threadpool(sheet_of, content, name)
    densities = Densities(
        gasoline=Decimal(str(settings.fuel_gasoline_kg_per_litre)),
        diesel=Decimal(str(settings.fuel_diesel_kg_per_litre)),
    )
    async with pool.connection() as conn:
        result = await import_statement(
            conn,
            scope,
            rows,
            statement=name.replace("\x00", "") or "statement",
            sheet=sheet,
            zone=settings.zone,
            densities=densities,
            user_id=user.id,
        )
    entry.params.update(imported=result.imported, duplicates=result.duplicates, problems=len(result.problems))
    return result


@router.get("/report", responses=responses(401, 403, 422))
async def fuel_report(
    pool: PoolDep, scope: ScopeDep, settings: SettingsDep, query: Annotated[ReportQuery, Query()], _: Reader
) -> FuelReport:
    """Per vehicle you may see with a purchase in the period: litres, kWh and yuan bought, the kilometres its track
    drove (its trips that started in the period), L/100 km and kWh/100 km (null with the reason where it drove
    none), and flags, each with its evidence: bought with no driving within YIWANG_FUEL_IDLE_DAYS days, one
    purchase larger than the tank (tank_litres) or battery (battery_kwh), per 100 km outside the plausible band
    (YIWANG_FUEL_*_PER_100KM_LOW/HIGH; not for plug-in hybrids). `not_counted`: vehicles with no home institution,
    whose fuel counts in no institution's energy statistics."""
    async with pool.connection() as conn:
        return await fuel.report(conn, scope, query, settings.zone, fuel.rules_of(settings))


async def _sheets(
    pool: PoolDep, user: Principal, scope: ScopeDep, settings: SettingsDep, query: FuelExportQuery, *,
    only: fuel.View | None,
) -> tuple[list[Sheet], Provenance]:  # fmt: skip
    what = ("车辆油耗电耗统计", "Vehicle fuel report")
    async with pool.connection() as conn:
        result = await fuel.report(conn, scope, query, settings.zone, fuel.rules_of(settings))
        made = await provenance.made(
            conn,
            user,
            settings,
            what=what if only is None else (f"{what[0]}（{only}）", f"{what[1]} ({only})"),
            start=query.start,
            end=query.end,
            filters={"organisation_id": query.organisation_id},
        )
    return fuel.sheets(result, query.language, only), made


@router.get("/report.xlsx", responses=REPORT_RESPONSES, response_class=StreamingResponse)
async def fuel_report_xlsx(
    pool: PoolDep, user: Reader, scope: ScopeDep, settings: SettingsDep, query: Annotated[FuelExportQuery, Query()]
) -> StreamingResponse:
    """The fuel report of GET /fuel/report as XLSX: vehicles, and the flags one per row with their evidence; Chinese
    headers by default; last, how the file was made (说明)."""
    sheets, made = await _sheets(pool, user, scope, settings, query, only=None)
    return await xlsx_download(
        sheets, language=query.language, name=period_name("fuel", query.start, query.end, "xlsx"), provenance=made
    )


@router.get("/report.csv", responses=REPORT_RESPONSES, response_class=StreamingResponse)
async def fuel_report_csv(
    pool: PoolDep, user: Reader, scope: ScopeDep, settings: SettingsDep, query: Annotated[FuelCsvQuery, Query()]
) -> StreamingResponse:
    """One view of the fuel report (vehicles or flags) as CSV (UTF-8), for systems: plain numbers, stable keys,
    after '#' comment lines saying how it was made (provenance=false: without)."""
    [sheet], made = await _sheets(pool, user, scope, settings, query, only=query.view)
    return csv_download(
        sheet,
        header=query.header,
        bom=query.bom,
        name=period_name(f"fuel-{query.view}", query.start, query.end, "csv"),
        provenance=made if query.provenance else None,
    )


class PurchaseQuery(PeriodQuery):
    vehicle_id: Text | None = Field(default=None, description="one vehicle's purchases")


@router.get("/purchases", responses=responses(401, 403, 422))
async def list_fuel_purchases(
    pool: PoolDep, scope: ScopeDep, query: Annotated[PurchaseQuery, Query()], _: Reader
) -> list[FuelPurchase]:
    """The purchases of the vehicles you may see (of one, if given) on the period's local days, in vehicle and time
    order (at most 10,000), withdrawn ones included and marked (`withdrawn_at`): the ids to withdraw."""
    async with pool.connection() as conn:
        return await fuel_withdrawals.listed(
            conn, scope, vehicle_id=query.vehicle_id, days=(query.period.start, query.period.end)
        )


@router.post("/purchases/{purchase_id}/withdrawal", responses=responses(401, 403, 404, 409, 422))
async def withdraw_fuel_purchase(
    request: Request,
    pool: PoolDep,
    *,
    scope: ScopeDep,
    user: CurrentUser,
    purchase_id: Annotated[RowId, Path()],
    body: FuelPurchaseWithdrawal,
    _: Importer,
) -> FuelPurchase:
    """Withdraw a purchase of your units' vehicles, with the reason: imported by mistake, resolved to the wrong
    vehicle, or reversed (冲正) where the statement did not say. It stays listed (`withdrawn_at`), counted nowhere:
    not in the fuel report, the home institution's energy statistics or its costs. 404 when it is not a purchase of
    a vehicle you may see; 409 when it is withdrawn already."""
    audit = audit_entry(request)
    audit.params = body.model_dump(mode="json")
    audit.resource_ids.append(str(purchase_id))
    async with pool.connection() as conn:
        return await fuel_withdrawals.withdraw(conn, scope, purchase_id, body, user.id)
