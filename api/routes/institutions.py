"""Institutions (公共机构): the energy-using buildings of the registry (名录库), their yearly floor area and headcount,
and the registry's institutions table as XLSX or CSV, exported and imported."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, status
from fastapi.responses import JSONResponse, StreamingResponse

from api import registry, registry_io
from api.audit import audit_entry
from api.deps import PoolDep, ScopeDep, SettingsDep, require
from api.errors import AUTHENTICATED, PathId, Text, responses
from api.exports.responses import csv_download, xlsx_download
from api.paging import Page, PageQuery
from api.registry import (
    YEARS,
    IdTaken,
    InstitutionCreate,
    InstitutionPublic,
    InstitutionUpdate,
    InstitutionYearPublic,
    RegistryRefused,
    YearFigures,
)
from api.registry_io import ImportResult, InstitutionsCsvQuery, InstitutionsFileQuery

router = APIRouter(tags=["registry"])

Year = Annotated[int, Path(ge=YEARS[0], le=YEARS[1], description="the calendar year")]


class InstitutionQuery(PageQuery):
    organisation_id: Text | None = None
    category: Literal["agency", "public_institution", "school", "hospital", "community", "venue"] | None = None


@router.get("/institutions", dependencies=[Depends(require("institutions:read"))], responses=AUTHENTICATED)
async def list_institutions(
    pool: PoolDep, scope: ScopeDep, query: Annotated[InstitutionQuery, Query()]
) -> Page[InstitutionPublic]:
    """The institutions you may see, in id order, optionally of one organisation or category."""
    async with pool.connection() as conn:
        return await registry.institutions(
            conn,
            scope,
            after=query.after,
            limit=query.limit,
            organisation_id=query.organisation_id,
            category=query.category,
        )


@router.get(
    "/institutions/{institution_id}",
    dependencies=[Depends(require("institutions:read"))],
    responses=responses(401, 403, 404),
)
async def get_institution(pool: PoolDep, scope: ScopeDep, institution_id: PathId) -> InstitutionPublic:
    """One institution; 404 when there is none of this id among those you may see."""
    async with pool.connection() as conn:
        found = await registry.institution(conn, scope, institution_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no institution {institution_id}")
    return found


@router.post(
    "/institutions",
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(require("registry:write"))],
    responses=responses(401, 403, 409, 422),
)
async def add_institution(
    request: Request, pool: PoolDep, scope: ScopeDep, body: InstitutionCreate
) -> InstitutionPublic:
    """Add an institution to an existing organisation: 409 when the id is taken, 422 when the organisation is not
    one you may see."""
    entry = audit_entry(request)
    entry.resource_ids.append(body.id)
    entry.params = body.model_dump(mode="json")
    async with pool.connection() as conn:
        try:
            return await registry.create_institution(conn, scope, body)
        except IdTaken as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from exc
        except RegistryRefused as exc:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(exc)) from exc


@router.patch(
    "/institutions/{institution_id}",
    dependencies=[Depends(require("registry:write"))],
    responses=responses(401, 403, 404, 422),
)
async def change_institution(
    request: Request, pool: PoolDep, scope: ScopeDep, institution_id: PathId, body: InstitutionUpdate
) -> InstitutionPublic:
    """Change fields of an institution (those sent; null clears a field that may be empty): 404 when there is none
    of this id among those you may see, 422 when its new organisation is not one you may see."""
    changes = body.model_dump(exclude_unset=True)
    audit_entry(request).params = body.model_dump(mode="json", exclude_unset=True)
    async with pool.connection() as conn:
        try:
            changed = await registry.update_institution(conn, scope, institution_id, changes)
        except RegistryRefused as exc:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(exc)) from exc
    if changed is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no institution {institution_id}")
    return changed


@router.get(
    "/institutions/{institution_id}/years",
    dependencies=[Depends(require("institutions:read"))],
    responses=responses(401, 403, 404),
)
async def list_institution_years(pool: PoolDep, scope: ScopeDep, institution_id: PathId) -> list[InstitutionYearPublic]:
    """An institution's floor area and energy-using headcount of each year they are known for, in year order."""
    async with pool.connection() as conn:
        if await registry.institution(conn, scope, institution_id) is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no institution {institution_id}")
        return await registry.institution_years(conn, institution_id)


@router.put(
    "/institutions/{institution_id}/years/{year}",
    dependencies=[Depends(require("registry:write"))],
    responses=responses(401, 403, 404, 422),
)
async def put_institution_year(
    *, request: Request, pool: PoolDep, scope: ScopeDep, institution_id: PathId, year: Year, body: YearFigures
) -> InstitutionYearPublic:
    """Set an institution's floor area (m²) and energy-using headcount of a year; what is left out or null is not
    known (both: the year's figures are removed). Per-area and per-capita indicators of the year divide by them."""
    audit_entry(request).params = body.model_dump(mode="json")
    async with pool.connection() as conn:
        stored = await registry.put_year(conn, scope, institution_id, year, body)
    if stored is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no institution {institution_id}")
    return stored


# ---------------------------------------------------------------------------------------------------------------
# The institutions table as a file


@router.get(
    "/registry/institutions.xlsx",
    dependencies=[Depends(require("institutions:read"))],
    responses=registry_io.XLSX_RESPONSES,
    response_class=StreamingResponse,
)
async def export_institutions_xlsx(
    pool: PoolDep, scope: ScopeDep, settings: SettingsDep, query: Annotated[InstitutionsFileQuery, Query()]
) -> StreamingResponse:
    """The institutions you may see with their floor area and headcount of a year (default: this year), as an XLSX
    workbook with Chinese headers and labels (language=en: English): edit it in Excel and send it back to
    POST /registry/institutions."""
    year, items = await _institutions_in_year(pool, scope, settings, query)
    sheet = registry_io.institutions_sheet(items, query.language)
    return await xlsx_download([sheet], language=query.language, name=f"institutions-{year}.xlsx")


@router.get(
    "/registry/institutions.csv",
    dependencies=[Depends(require("institutions:read"))],
    responses=registry_io.CSV_RESPONSES,
    response_class=StreamingResponse,
)
async def export_institutions_csv(
    pool: PoolDep, scope: ScopeDep, settings: SettingsDep, query: Annotated[InstitutionsCsvQuery, Query()]
) -> StreamingResponse:
    """The institutions you may see with their floor area and headcount of a year, as CSV (UTF-8) with the headers
    and labels of the XLSX; it imports back as it is."""
    year, items = await _institutions_in_year(pool, scope, settings, query)
    sheet = registry_io.institutions_sheet(items, query.language)
    return csv_download(sheet, header=query.language, bom=query.bom, name=f"institutions-{year}.csv")


async def _institutions_in_year(
    pool: PoolDep, scope: ScopeDep, settings: SettingsDep, query: InstitutionsFileQuery | InstitutionsCsvQuery
) -> tuple[int, list[registry.InstitutionInYear]]:
    year = query.year if query.year is not None else datetime.now(settings.zone).year
    async with pool.connection() as conn:
        return year, await registry.institutions_in_year(conn, scope, year)


@router.post(
    "/registry/institutions",
    dependencies=[Depends(require("registry:write"))],
    response_model=ImportResult,
    responses=registry_io.IMPORT_RESPONSES,
    openapi_extra=registry_io.UPLOAD_BODY,
)
async def import_institutions(request: Request, pool: PoolDep, scope: ScopeDep) -> ImportResult | JSONResponse:
    """Import institutions and their floor area and headcount from an XLSX workbook (its first sheet) or a CSV file,
    sent as the multipart field `file`: headers in Chinese, English or as keys, as GET /registry/institutions.xlsx
    writes them; only the id column is needed. A row adds or changes an institution (and its figures of the row's
    year); a column left out keeps what is stored, an empty cell sets the default. All rows are checked first: if
    any does not fit, the 422 lists each with its row number (the header is row 1), column and reason, and nothing
    is written; else all are written in one transaction."""
    return await registry_io.import_upload(request, pool, scope, registry_io.import_institutions)
