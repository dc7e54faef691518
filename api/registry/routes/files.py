"""The registry's tables as files staff keep: institutions (with a year's floor area and headcount), meters,
vehicles and drivers exported as XLSX (Chinese headers and labels by default) or CSV, edited in Excel, and imported
back all or nothing (api/registry/imports.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from api.access.rules import Principal
from api.deps import PoolDep, ScopeDep, SettingsDep, require
from api.errors import responses
from api.files import provenance
from api.files.provenance import Provenance, ProvenanceForm
from api.files.responses import csv_download, xlsx_download
from api.files.workbook import XLSX_MEDIA_TYPE
from api.registry import drivers, imports, service, tables
from api.registry.models import (
    DriverOfOrganisation,
    ImportResult,
    InstitutionInYear,
    MeterOfInstitution,
    VehicleOfOrganisation,
)
from api.registry.upload import IMPORT_RESPONSES, UPLOAD_BODY, UPLOAD_BODY_BYTES, import_upload
from domain.labels import Language
from domain.periods import FIRST_YEAR, LAST_YEAR
from yiwang.settings import Settings

router = APIRouter(prefix="/registry", tags=["registry"])


class RegistryFileQuery(BaseModel):
    """The query of a registry export."""

    model_config = ConfigDict(extra="forbid")

    language: Language = Field(
        default="zh", description="headers and labels: Chinese (default), or English headers with codes"
    )


class RegistryCsvQuery(ProvenanceForm, RegistryFileQuery):
    bom: bool = Field(
        default=True, description="start with a byte-order mark, for Excel to read the UTF-8 (default: yes)"
    )


class _OfYear(BaseModel):
    year: int | None = Field(
        default=None,
        ge=FIRST_YEAR,
        le=LAST_YEAR,
        description="the year of the floor area and headcount (default: the current year)",
    )


class InstitutionsFileQuery(RegistryFileQuery, _OfYear):
    """The query of the institutions export."""


class InstitutionsCsvQuery(RegistryCsvQuery, _OfYear):
    """The query of the institutions export as CSV."""


XLSX_RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    **responses(401, 403, 422),
    200: {"content": {XLSX_MEDIA_TYPE: {}}, "description": "the XLSX workbook"},
}
InstitutionsReader = Annotated[Principal, Depends(require("institutions:read"))]
MetersReader = Annotated[Principal, Depends(require("meters:read"))]
VehiclesReader = Annotated[Principal, Depends(require("vehicles:read"))]
DriversReader = Annotated[Principal, Depends(require("drivers:read"))]

# What each registry file is, as its provenance says.
_WHAT = {
    "institutions": (
        "公共机构名录（含年度建筑面积与用能人数）",
        "Institutions, with a year's floor area and headcount",
    ),
    "meters": ("计量表名录", "Meters"),
    "vehicles": ("公务用车名录", "Vehicles"),
    "drivers": ("驾驶员名录", "Drivers"),
}


async def _made(pool: PoolDep, user: Principal, settings: Settings, table: str, year: int | None = None) -> Provenance:
    async with pool.connection() as conn:
        return await provenance.made(conn, user, settings, what=_WHAT[table], year=year)


CSV_RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    **responses(401, 403, 422),
    200: {"content": {"text/csv": {}}, "description": "the CSV file"},
}


# ---------------------------------------------------------------------------------------------------------------
# Institutions


@router.get(
    "/institutions.xlsx",
    responses=XLSX_RESPONSES,
    response_class=StreamingResponse,
)
async def export_institutions_xlsx(
    pool: PoolDep,
    user: InstitutionsReader,
    scope: ScopeDep,
    settings: SettingsDep,
    query: Annotated[InstitutionsFileQuery, Query()],
) -> StreamingResponse:
    """The institutions you may see with their floor area and headcount of a year (default: this year), as an XLSX
    workbook with Chinese headers and labels (language=en: English): edit it in Excel and send it back to
    POST /registry/institutions. Its last sheet (说明 / About this file) says how it was made: the year, the time
    zone, the user and unit, the time made, the Yiwang version; an import reads the first sheet only."""
    year, items = await _institutions_in_year(pool, scope, settings, query)
    sheet = tables.institutions_sheet(items, query.language)
    made = await _made(pool, user, settings, "institutions", year)
    return await xlsx_download([sheet], language=query.language, name=f"institutions-{year}.xlsx", provenance=made)


@router.get(
    "/institutions.csv",
    responses=CSV_RESPONSES,
    response_class=StreamingResponse,
)
async def export_institutions_csv(
    pool: PoolDep,
    user: InstitutionsReader,
    scope: ScopeDep,
    settings: SettingsDep,
    query: Annotated[InstitutionsCsvQuery, Query()],
) -> StreamingResponse:
    """The institutions you may see with their floor area and headcount of a year, as CSV (UTF-8) with the headers
    and labels of the XLSX, after '#' comment lines saying how it was made (provenance=false: without); it imports
    back as it is, the comment lines skipped."""
    year, items = await _institutions_in_year(pool, scope, settings, query)
    sheet = tables.institutions_sheet(items, query.language)
    made = await _made(pool, user, settings, "institutions", year) if query.provenance else None
    return csv_download(sheet, header=query.language, bom=query.bom, name=f"institutions-{year}.csv", provenance=made)


async def _institutions_in_year(
    pool: PoolDep, scope: ScopeDep, settings: SettingsDep, query: InstitutionsFileQuery | InstitutionsCsvQuery
) -> tuple[int, list[InstitutionInYear]]:
    year = query.year if query.year is not None else datetime.now(settings.zone).year
    async with pool.connection() as conn:
        return year, await service.institutions_in_year(conn, scope, year)


@router.post(
    "/institutions",
    dependencies=[Depends(require("registry:write"))],
    response_model=ImportResult,
    responses=IMPORT_RESPONSES,
    openapi_extra=UPLOAD_BODY,
    max_body_size=UPLOAD_BODY_BYTES,
)
async def import_institutions(request: Request, pool: PoolDep, scope: ScopeDep) -> ImportResult:
    """Import institutions and their floor area and headcount from an XLSX workbook (its first sheet) or a CSV file,
    sent as the multipart field `file`: headers in Chinese, English or as keys, as GET /registry/institutions.xlsx
    writes them; only the id column is needed. A row adds or changes an institution (and its figures of the row's
    year); a column left out keeps what is stored, an empty cell sets the default. All rows are checked first: if
    any does not fit, the 422 lists each with its row number (as Excel numbers it), column and reason, and nothing
    is written; else all are written in one transaction."""
    return await import_upload(request, pool, scope, imports.import_institutions)


# ---------------------------------------------------------------------------------------------------------------
# Meters


async def _meters(pool: PoolDep, scope: ScopeDep) -> list[MeterOfInstitution]:
    async with pool.connection() as conn:
        return await service.meters_of_institutions(conn, scope)


@router.get(
    "/meters.xlsx",
    responses=XLSX_RESPONSES,
    response_class=StreamingResponse,
)
async def export_meters_xlsx(
    pool: PoolDep,
    user: MetersReader,
    settings: SettingsDep,
    scope: ScopeDep,
    query: Annotated[RegistryFileQuery, Query()],
) -> StreamingResponse:
    """The meters you may see, with their institutions' names, as an XLSX workbook with Chinese headers and labels
    (language=en: English): edit it in Excel and send it back to POST /registry/meters.
    Its last sheet (说明 / About this file) says how it was made; an import reads the first sheet only."""
    sheet = tables.meters_sheet(await _meters(pool, scope), query.language)
    made = await _made(pool, user, settings, "meters")
    return await xlsx_download([sheet], language=query.language, name="meters.xlsx", provenance=made)


@router.get(
    "/meters.csv",
    responses=CSV_RESPONSES,
    response_class=StreamingResponse,
)
async def export_meters_csv(
    pool: PoolDep,
    user: MetersReader,
    settings: SettingsDep,
    scope: ScopeDep,
    query: Annotated[RegistryCsvQuery, Query()],
) -> StreamingResponse:
    """The meters you may see as CSV (UTF-8) with the headers and labels of the XLSX, after
    '#' comment lines saying how it was made (provenance=false: without); it imports back as it is."""
    sheet = tables.meters_sheet(await _meters(pool, scope), query.language)
    made = await _made(pool, user, settings, "meters") if query.provenance else None
    return csv_download(sheet, header=query.language, bom=query.bom, name="meters.csv", provenance=made)


@router.post(
    "/meters",
    dependencies=[Depends(require("registry:write"))],
    response_model=ImportResult,
    responses=IMPORT_RESPONSES,
    openapi_extra=UPLOAD_BODY,
    max_body_size=UPLOAD_BODY_BYTES,
)
async def import_meters(request: Request, pool: PoolDep, scope: ScopeDep) -> ImportResult:
    """Import meters from an XLSX workbook (its first sheet) or a CSV file, sent as the multipart field `file`:
    headers in Chinese, English or as keys, as GET /registry/meters.xlsx writes them (the institution's name is
    not read); only the id column is needed. A row adds or changes a meter; a column left out keeps what is
    stored, an empty cell sets the default. All rows are checked first: if any does not fit, the 422 lists each
    with its row number (as Excel numbers it), column and reason, and nothing is written; else all are written in
    one transaction, and meters with a new multiplier, register maximum or most per hour are recounted."""
    return await import_upload(request, pool, scope, imports.import_meters)


# ---------------------------------------------------------------------------------------------------------------
# Vehicles


async def _vehicles(pool: PoolDep, scope: ScopeDep) -> list[VehicleOfOrganisation]:
    async with pool.connection() as conn:
        return await service.vehicles_of_organisations(conn, scope)


@router.get(
    "/vehicles.xlsx",
    responses=XLSX_RESPONSES,
    response_class=StreamingResponse,
)
async def export_vehicles_xlsx(
    pool: PoolDep,
    user: VehiclesReader,
    settings: SettingsDep,
    scope: ScopeDep,
    query: Annotated[RegistryFileQuery, Query()],
) -> StreamingResponse:
    """The vehicles you may see, retired ones included, with their organisations' names, as an XLSX workbook with
    Chinese headers and labels (language=en: English): edit it in Excel and send it back to POST /registry/vehicles.
    Its last sheet (说明 / About this file) says how it was made; an import reads the first sheet only."""
    sheet = tables.vehicles_sheet(await _vehicles(pool, scope), query.language)
    made = await _made(pool, user, settings, "vehicles")
    return await xlsx_download([sheet], language=query.language, name="vehicles.xlsx", provenance=made)


@router.get(
    "/vehicles.csv",
    responses=CSV_RESPONSES,
    response_class=StreamingResponse,
)
async def export_vehicles_csv(
    pool: PoolDep,
    user: VehiclesReader,
    settings: SettingsDep,
    scope: ScopeDep,
    query: Annotated[RegistryCsvQuery, Query()],
) -> StreamingResponse:
    """The vehicles you may see as CSV (UTF-8) with the headers and labels of the XLSX, after
    '#' comment lines saying how it was made (provenance=false: without); it imports back as it is."""
    sheet = tables.vehicles_sheet(await _vehicles(pool, scope), query.language)
    made = await _made(pool, user, settings, "vehicles") if query.provenance else None
    return csv_download(sheet, header=query.language, bom=query.bom, name="vehicles.csv", provenance=made)


@router.post(
    "/vehicles",
    dependencies=[Depends(require("vehicles:write"))],
    response_model=ImportResult,
    responses=IMPORT_RESPONSES,
    openapi_extra=UPLOAD_BODY,
    max_body_size=UPLOAD_BODY_BYTES,
)
async def import_vehicles(request: Request, pool: PoolDep, scope: ScopeDep) -> ImportResult:
    """Import vehicles from an XLSX workbook (its first sheet) or a CSV file, sent as the multipart field `file`:
    headers in Chinese, English or as keys, as GET /registry/vehicles.xlsx writes them (the organisation's name is
    not read); only the id column is needed. A row adds or changes a vehicle, its lifecycle among them, under the
    rules of PATCH /vehicles/{id}; a column left out keeps what is stored, an empty cell sets the default. All rows
    are checked first: if any does not fit, the 422 lists each with its row number (as Excel numbers it), column
    and reason, and nothing is written; else all are written in one transaction."""
    return await import_upload(request, pool, scope, imports.import_vehicles)


# ---------------------------------------------------------------------------------------------------------------
# Drivers


async def _drivers(pool: PoolDep, scope: ScopeDep) -> list[DriverOfOrganisation]:
    async with pool.connection() as conn:
        return await drivers.drivers_of_organisations(conn, scope)


@router.get(
    "/drivers.xlsx",
    responses=XLSX_RESPONSES,
    response_class=StreamingResponse,
)
async def export_drivers_xlsx(
    pool: PoolDep,
    user: DriversReader,
    settings: SettingsDep,
    scope: ScopeDep,
    query: Annotated[RegistryFileQuery, Query()],
) -> StreamingResponse:
    """The drivers you may see, inactive ones included, with their organisations' names, as an XLSX workbook with
    Chinese headers and labels (language=en: English): edit it in Excel and send it back to POST /registry/drivers.
    Its last sheet (说明 / About this file) says how it was made; an import reads the first sheet only."""
    sheet = tables.drivers_sheet(await _drivers(pool, scope), query.language)
    made = await _made(pool, user, settings, "drivers")
    return await xlsx_download([sheet], language=query.language, name="drivers.xlsx", provenance=made)


@router.get(
    "/drivers.csv",
    responses=CSV_RESPONSES,
    response_class=StreamingResponse,
)
async def export_drivers_csv(
    pool: PoolDep,
    user: DriversReader,
    settings: SettingsDep,
    scope: ScopeDep,
    query: Annotated[RegistryCsvQuery, Query()],
) -> StreamingResponse:
    """The drivers you may see as CSV (UTF-8) with the headers and labels of the XLSX, after
    '#' comment lines saying how it was made (provenance=false: without); it imports back as it is."""
    sheet = tables.drivers_sheet(await _drivers(pool, scope), query.language)
    made = await _made(pool, user, settings, "drivers") if query.provenance else None
    return csv_download(sheet, header=query.language, bom=query.bom, name="drivers.csv", provenance=made)


@router.post(
    "/drivers",
    dependencies=[Depends(require("drivers:write"))],
    response_model=ImportResult,
    responses=IMPORT_RESPONSES,
    openapi_extra=UPLOAD_BODY,
    max_body_size=UPLOAD_BODY_BYTES,
)
async def import_drivers(request: Request, pool: PoolDep, scope: ScopeDep) -> ImportResult:
    """Import drivers from an XLSX workbook (its first sheet) or a CSV file, sent as the multipart field `file`:
    headers in Chinese, English or as keys, as GET /registry/drivers.xlsx writes them (the organisation's name is
    not read). A row with a driver id changes that driver; a row without one (or a file without the column) adds a
    driver, numbered by the registry. A column left out keeps what is stored, an empty cell sets the default. All
    rows are checked first: if any does not fit, the 422 lists each with its row number (as Excel numbers it),
    column and reason, and nothing is written; else all are written in one transaction."""
    return await import_upload(request, pool, scope, imports.import_drivers)
