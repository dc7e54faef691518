"""Meters: the electricity, water, gas and heat meters of the institutions, and the registry's meters table as XLSX
or CSV, exported and imported."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi.responses import JSONResponse, StreamingResponse

from api import registry, registry_io
from api.audit import audit_entry
from api.deps import PoolDep, ScopeDep, require
from api.errors import AUTHENTICATED, PathId, Text, responses
from api.exports.responses import csv_download, xlsx_download
from api.paging import Page, PageQuery
from api.registry import IdTaken, MeterCreate, MeterPublic, MeterUpdate, RegistryRefused
from api.registry_io import ImportResult, RegistryCsvQuery, RegistryFileQuery

router = APIRouter(tags=["registry"])


class MeterQuery(PageQuery):
    institution_id: Text | None = None
    energy_type: (
        Literal["electricity", "water", "natural_gas", "heat", "raw_coal", "gasoline", "diesel", "lpg"] | None
    ) = None


@router.get("/meters", dependencies=[Depends(require("meters:read"))], responses=AUTHENTICATED)
async def list_meters(pool: PoolDep, scope: ScopeDep, query: Annotated[MeterQuery, Query()]) -> Page[MeterPublic]:
    """The meters of the institutions you may see, in id order."""
    async with pool.connection() as conn:
        return await registry.meters(
            conn,
            scope,
            after=query.after,
            limit=query.limit,
            institution_id=query.institution_id,
            energy_type=query.energy_type,
        )


@router.get(
    "/meters/{meter_id}",
    dependencies=[Depends(require("meters:read"))],
    responses=responses(401, 403, 404),
)
async def get_meter(pool: PoolDep, scope: ScopeDep, meter_id: PathId) -> MeterPublic:
    """One meter; 404 when there is none of this id among those you may see."""
    async with pool.connection() as conn:
        found = await registry.meter(conn, scope, meter_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no meter {meter_id}")
    return found


@router.post(
    "/meters",
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(require("registry:write"))],
    responses=responses(401, 403, 409, 422),
)
async def add_meter(request: Request, pool: PoolDep, scope: ScopeDep, body: MeterCreate) -> MeterPublic:
    """Add a meter to an existing institution: 409 when the id is taken, 422 when the institution is not one you may
    see or the unit is not one the energy type counts in (electricity kWh or MWh, water m3, m³ or t, natural gas m3
    or m³, heat MJ or GJ, coal and oils kg or t); a sub-item is of electricity only."""
    entry = audit_entry(request)
    entry.resource_ids.append(body.id)
    entry.params = body.model_dump(mode="json")
    async with pool.connection() as conn:
        try:
            return await registry.create_meter(conn, scope, body)
        except IdTaken as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from exc
        except RegistryRefused as exc:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(exc)) from exc


@router.patch(
    "/meters/{meter_id}",
    dependencies=[Depends(require("registry:write"))],
    responses=responses(401, 403, 404, 422),
)
async def change_meter(
    request: Request, pool: PoolDep, scope: ScopeDep, meter_id: PathId, body: MeterUpdate
) -> MeterPublic:
    """Change fields of a meter (those sent; null clears a field that may be empty), e.g. its replacement date or
    its most per hour: 404 when there is none of this id among those you may see, 422 when the changed meter does
    not fit. A new multiplier, register maximum or most per hour recounts the meter's consumption history."""
    changes = body.model_dump(exclude_unset=True)
    audit_entry(request).params = body.model_dump(mode="json", exclude_unset=True)
    async with pool.connection() as conn:
        try:
            changed = await registry.update_meter(conn, scope, meter_id, changes)
        except RegistryRefused as exc:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(exc)) from exc
    if changed is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no meter {meter_id}")
    return changed


# ---------------------------------------------------------------------------------------------------------------
# The meters table as a file


async def _meters(pool: PoolDep, scope: ScopeDep) -> list[registry.MeterOfInstitution]:
    async with pool.connection() as conn:
        return await registry.meters_of_institutions(conn, scope)


@router.get(
    "/registry/meters.xlsx",
    dependencies=[Depends(require("meters:read"))],
    responses=registry_io.XLSX_RESPONSES,
    response_class=StreamingResponse,
)
async def export_meters_xlsx(
    pool: PoolDep, scope: ScopeDep, query: Annotated[RegistryFileQuery, Query()]
) -> StreamingResponse:
    """The meters you may see, with their institutions' names, as an XLSX workbook with Chinese headers and labels
    (language=en: English): edit it in Excel and send it back to POST /registry/meters."""
    sheet = registry_io.meters_sheet(await _meters(pool, scope), query.language)
    return await xlsx_download([sheet], language=query.language, name="meters.xlsx")


@router.get(
    "/registry/meters.csv",
    dependencies=[Depends(require("meters:read"))],
    responses=registry_io.CSV_RESPONSES,
    response_class=StreamingResponse,
)
async def export_meters_csv(
    pool: PoolDep, scope: ScopeDep, query: Annotated[RegistryCsvQuery, Query()]
) -> StreamingResponse:
    """The meters you may see as CSV (UTF-8) with the headers and labels of the XLSX; it imports back as it is."""
    sheet = registry_io.meters_sheet(await _meters(pool, scope), query.language)
    return csv_download(sheet, header=query.language, bom=query.bom, name="meters.csv")


@router.post(
    "/registry/meters",
    dependencies=[Depends(require("registry:write"))],
    response_model=ImportResult,
    responses=registry_io.IMPORT_RESPONSES,
    openapi_extra=registry_io.UPLOAD_BODY,
)
async def import_meters(request: Request, pool: PoolDep, scope: ScopeDep) -> ImportResult | JSONResponse:
    """Import meters from an XLSX workbook (its first sheet) or a CSV file, sent as the multipart field `file`:
    headers in Chinese, English or as keys, as GET /registry/meters.xlsx writes them (the institution's name is
    not read); only the id column is needed. A row adds or changes a meter; a column left out keeps what is
    stored, an empty cell sets the default. All rows are checked first: if any does not fit, the 422 lists each
    with its row number (the header is row 1), column and reason, and nothing is written; else all are written in
    one transaction, and meters with a new multiplier, register maximum or most per hour are recounted."""
    return await registry_io.import_upload(request, pool, scope, registry_io.import_meters)
