"""Energy and water costs from bills and delivery notes: per type, per floor area and per person, against last year;
as JSON, XLSX and CSV."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from pydantic import Field

from api.access.rules import Principal
from api.deps import PoolDep, ScopeDep, SettingsDep, require
from api.energy import costs
from api.energy.costs import CostReport
from api.energy.indicators import Group
from api.energy.reports import FilterQuery
from api.errors import responses
from api.files import provenance
from api.files.provenance import Provenance
from api.files.responses import REPORT_RESPONSES, CsvForm, ReportForm, csv_download, period_name, xlsx_download
from api.files.table import Sheet

router = APIRouter(prefix="/energy/costs", tags=["energy"])

CostReader = Annotated[Principal, Depends(require("exports:read"))]


class CostQuery(FilterQuery):
    group: Group = Field(default="institution", description="one row per institution, category, district, or city")


class CostFileQuery(ReportForm, CostQuery):
    pass


class CostCsvQuery(CsvForm, CostFileQuery):
    pass


@router.get("", dependencies=[Depends(require("indicators:read"))], responses=responses(401, 403, 422))
async def get_costs(pool: PoolDep, scope: ScopeDep, query: Annotated[CostQuery, Query()]) -> CostReport:
    """What the institutions paid for each energy and water in the period, from the costs stated on bills and
    delivery notes (GET /energy/entries), shared by days, and for gasoline, diesel and electricity the amounts of the
    home institution's vehicles' fuel-card and charging statements on the period's days (POST /fuel/statements;
    withdrawn ones left out), shown apart in `vehicle_costs`: per type, in total, per m² of floor area and per person
    of the year's headcount, against the same period last year. A figure without a stated cost, floor area or headcount
    is null with its reason (no_cost, no_floor_area, no_headcount), never 0."""
    async with pool.connection() as conn:
        return await costs.report(conn, scope, period=query.period, group=query.group, filters=query.filters)


async def _sheet(
    pool: PoolDep, user: Principal, scope: ScopeDep, settings: SettingsDep, query: CostFileQuery
) -> tuple[Sheet, Provenance]:
    async with pool.connection() as conn:
        result = await costs.report(conn, scope, period=query.period, group=query.group, filters=query.filters)
        made = await provenance.made(
            conn,
            user,
            settings,
            what=("能源费用", "Energy costs"),
            start=query.start,
            end=query.end,
            filters=query.model_dump(
                include={"institution_id", "organisation_id", "category", "district", "key_energy_unit", "group"}
            ),
        )
    return costs.sheet(result, query.language), made


@router.get(".xlsx", responses=REPORT_RESPONSES, response_class=StreamingResponse)
async def costs_xlsx(
    pool: PoolDep, user: CostReader, scope: ScopeDep, settings: SettingsDep, query: Annotated[CostFileQuery, Query()]
) -> StreamingResponse:
    """The cost report as XLSX (Chinese headers by default), its last sheet saying how it was made."""
    sheet, made = await _sheet(pool, user, scope, settings, query)
    name = period_name("energy-costs", query.start, query.end, "xlsx")
    return await xlsx_download([sheet], language=query.language, name=name, provenance=made)


@router.get(".csv", responses=REPORT_RESPONSES, response_class=StreamingResponse)
async def costs_csv(
    pool: PoolDep, user: CostReader, scope: ScopeDep, settings: SettingsDep, query: Annotated[CostCsvQuery, Query()]
) -> StreamingResponse:
    """The cost report as CSV (UTF-8) for systems, after '#' lines saying how it was made (provenance=false: none)."""
    sheet, made = await _sheet(pool, user, scope, settings, query)
    return csv_download(
        sheet,
        header=query.header,
        bom=query.bom,
        name=period_name("energy-costs", query.start, query.end, "csv"),
        provenance=made if query.provenance else None,
    )
