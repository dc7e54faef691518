"""The registry's tables as files staff keep: institutions (with their facts of a year: floor area, headcount and
what the statistics survey asks), supervising departments, data-centre rooms, meters, vehicles and drivers exported
as XLSX (Chinese headers and labels by default) or CSV, edited in Excel, and imported back all or nothing
(api/registry/imports.py)."""

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
from api.registry import departments, drivers, imports, service, tables
from api.registry.models import (
    DataCentreRoomOfInstitution,
    DepartmentPublic,
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
        description="the year of the facts (floor area, headcount, the survey's; data-centre rooms) (default: the "
        "current year)",
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
DepartmentsReader = Annotated[Principal, Depends(require("departments:read"))]
MetersReader = Annotated[Principal, Depends(require("meters:read"))]
VehiclesReader = Annotated[Principal, Depends(require("vehicles:read"))]
DriversReader = Annotated[Principal, Depends(require("drivers:read"))]

# What each registry file is, as its provenance says.
_WHAT = {
    "institutions": (
        "公共机构名录（含年度建筑面积、用能人数与统计调查基本信息）",
        "Institutions, with a year's floor area, headcount and survey facts",
    ),
    "departments": ("主管部门", "Supervising departments"),
    "data_centre_rooms": ("数据中心机房（年度）", "Data-centre rooms of a year"),
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
    """The institutions you may see with their facts of a year (default: this year): floor area, headcount and what
    the statistics survey asks (credit code, supervising department, division, category, areas, heating), as an
    XLSX workbook with Chinese headers and labels (language=en: English): edit it in Excel and send it back to
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
    """The institutions you may see with their facts of a year, as CSV (UTF-8) with the headers
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
    """Import institutions and their facts of a year (floor area, headcount, the survey's) from an XLSX workbook (its
    first sheet) or a CSV file, sent as the multipart field `file`: headers in Chinese, English or as keys, as
    GET /registry/institutions.xlsx writes them; only the id column is needed. A row adds or changes an institution
    (and its facts of the row's year); a column left out keeps what is stored, an empty cell sets the default (a
    fact: not known). A credit code is checked with its check character, a supervising department must exist. All
    rows are checked first: if any does not fit, the 422 lists each with its row number (as Excel numbers it), column
    and reason, and nothing is written; else all are written in one transaction."""
    return await import_upload(request, pool, scope, imports.import_institutions)


# ---------------------------------------------------------------------------------------------------------------
# Supervising departments


async def _departments(pool: PoolDep) -> list[DepartmentPublic]:
    async with pool.connection() as conn:
        return await departments.all_departments(conn)


@router.get(
    "/departments.xlsx",
    responses=XLSX_RESPONSES,
    response_class=StreamingResponse,
)
async def export_departments_xlsx(
    pool: PoolDep, user: DepartmentsReader, settings: SettingsDep, query: Annotated[RegistryFileQuery, Query()]
) -> StreamingResponse:
    """The supervising departments (主管部门), each with its parent, as an XLSX workbook with Chinese headers
    (language=en: English): edit it in Excel and send it back to POST /registry/departments. Its last sheet (说明 /
    About this file) says how it was made; an import reads the first sheet only."""
    sheet = tables.departments_sheet(await _departments(pool), query.language)
    made = await _made(pool, user, settings, "departments")
    return await xlsx_download([sheet], language=query.language, name="departments.xlsx", provenance=made)


@router.get(
    "/departments.csv",
    responses=CSV_RESPONSES,
    response_class=StreamingResponse,
)
async def export_departments_csv(
    pool: PoolDep, user: DepartmentsReader, settings: SettingsDep, query: Annotated[RegistryCsvQuery, Query()]
) -> StreamingResponse:
    """The supervising departments as CSV (UTF-8) with the headers of the XLSX, after '#' comment lines saying how
    it was made (provenance=false: without); it imports back as it is."""
    sheet = tables.departments_sheet(await _departments(pool), query.language)
    made = await _made(pool, user, settings, "departments") if query.provenance else None
    return csv_download(sheet, header=query.language, bom=query.bom, name="departments.csv", provenance=made)


@router.post(
    "/departments",
    dependencies=[Depends(require("registry:write"))],
    response_model=ImportResult,
    responses=IMPORT_RESPONSES,
    openapi_extra=UPLOAD_BODY,
    max_body_size=UPLOAD_BODY_BYTES,
)
async def import_departments(request: Request, pool: PoolDep, scope: ScopeDep) -> ImportResult:
    """Import supervising departments from an XLSX workbook (its first sheet) or a CSV file, sent as the multipart
    field `file`: headers in Chinese, English or as keys, as GET /registry/departments.xlsx writes them; only the id
    column is needed. A row adds or changes a department; a parent may be a department of the file, in any row. All
    rows are checked first: if any does not fit (a parent that is no department, a chain of parents that comes back
    to where it started), the 422 lists each with its row number, column and reason, and nothing is written."""
    return await import_upload(request, pool, scope, imports.import_departments)


# ---------------------------------------------------------------------------------------------------------------
# Data-centre rooms


async def _rooms_in_year(
    pool: PoolDep, scope: ScopeDep, settings: SettingsDep, query: InstitutionsFileQuery | InstitutionsCsvQuery
) -> tuple[int, list[DataCentreRoomOfInstitution]]:
    year = query.year if query.year is not None else datetime.now(settings.zone).year
    async with pool.connection() as conn:
        return year, await service.rooms_in_year(conn, scope, year)


@router.get(
    "/data-centre-rooms.xlsx",
    responses=XLSX_RESPONSES,
    response_class=StreamingResponse,
)
async def export_rooms_xlsx(
    pool: PoolDep,
    user: InstitutionsReader,
    scope: ScopeDep,
    settings: SettingsDep,
    query: Annotated[InstitutionsFileQuery, Query()],
) -> StreamingResponse:
    """The data-centre machine rooms (数据中心机房) of a year (default: this year) of the institutions you may see,
    as an XLSX workbook with Chinese headers (language=en: English): edit it in Excel and send it back to
    POST /registry/data-centre-rooms. Its last sheet (说明 / About this file) says how it was made."""
    year, items = await _rooms_in_year(pool, scope, settings, query)
    sheet = tables.rooms_sheet(items, query.language)
    made = await _made(pool, user, settings, "data_centre_rooms", year)
    return await xlsx_download([sheet], language=query.language, name=f"data-centre-rooms-{year}.xlsx", provenance=made)


@router.get(
    "/data-centre-rooms.csv",
    responses=CSV_RESPONSES,
    response_class=StreamingResponse,
)
async def export_rooms_csv(
    pool: PoolDep,
    user: InstitutionsReader,
    scope: ScopeDep,
    settings: SettingsDep,
    query: Annotated[InstitutionsCsvQuery, Query()],
) -> StreamingResponse:
    """The data-centre rooms of a year of the institutions you may see, as CSV (UTF-8) with the headers of the
    XLSX, after '#' comment lines saying how it was made (provenance=false: without); it imports back as it is."""
    year, items = await _rooms_in_year(pool, scope, settings, query)
    sheet = tables.rooms_sheet(items, query.language)
    made = await _made(pool, user, settings, "data_centre_rooms", year) if query.provenance else None
    name = f"data-centre-rooms-{year}.csv"
    return csv_download(sheet, header=query.language, bom=query.bom, name=name, provenance=made)


@router.post(
    "/data-centre-rooms",
    dependencies=[Depends(require("registry:write"))],
    response_model=ImportResult,
    responses=IMPORT_RESPONSES,
    openapi_extra=UPLOAD_BODY,
    max_body_size=UPLOAD_BODY_BYTES,
)
async def import_rooms(request: Request, pool: PoolDep, scope: ScopeDep) -> ImportResult:
    """Import data-centre rooms from an XLSX workbook (its first sheet) or a CSV file, sent as the multipart field
    `file`: headers in Chinese, English or as keys, as GET /registry/data-centre-rooms.xlsx writes them (the
    institution's name is not read); the institution id, year and room name columns are needed. A row adds or
    changes the room of its institution, year and name; a column left out keeps what is stored, an empty cell is
    not known. All rows are checked first: if any does not fit, the 422 lists each with its row number (as Excel
    numbers it), column and reason, and nothing is written; else all are written in one transaction."""
    return await import_upload(request, pool, scope, imports.import_rooms)


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
