"""Drivers (驾驶员): the people the dispatch centre assigns to vehicles, employed by a unit or a service company, and
the registry's drivers table as XLSX or CSV, exported and imported."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, status
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from api import drivers, registry_io
from api.audit import audit_entry
from api.deps import PoolDep, ScopeDep, require
from api.drivers import (
    BIGINT_MAX,
    DriverBusy,
    DriverCreate,
    DriverOfOrganisation,
    DriverPublic,
    DriverRefused,
    DriverUpdate,
)
from api.errors import AUTHENTICATED, Text, responses
from api.exports.responses import csv_download, xlsx_download
from api.paging import Page
from api.registry_io import ImportResult, RegistryCsvQuery, RegistryFileQuery

router = APIRouter(tags=["requests"])

DriverId = Annotated[int, Path(ge=1, le=BIGINT_MAX)]


class DriverQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    after: int | None = Field(default=None, ge=0, le=BIGINT_MAX, description="the `next_after` of the previous page")
    limit: int = Field(default=100, ge=1, le=1000, description="at most this many items")
    organisation_id: Text | None = None
    active: bool | None = None


@router.get("/drivers", dependencies=[Depends(require("drivers:read"))], responses=AUTHENTICATED)
async def list_drivers(pool: PoolDep, scope: ScopeDep, query: Annotated[DriverQuery, Query()]) -> Page[DriverPublic]:
    """The drivers you may see, in id order, optionally of one organisation, or only the active (or inactive) ones."""
    async with pool.connection() as conn:
        return await drivers.drivers(
            conn,
            scope,
            after=query.after,
            limit=query.limit,
            organisation_id=query.organisation_id,
            active=query.active,
        )


@router.get("/drivers/{driver_id}", dependencies=[Depends(require("drivers:read"))], responses=responses(401, 403, 404))
async def get_driver(pool: PoolDep, scope: ScopeDep, driver_id: DriverId) -> DriverPublic:
    """One driver; 404 when there is none of this id among those you may see."""
    async with pool.connection() as conn:
        found = await drivers.driver(conn, scope, driver_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no driver {driver_id}")
    return found


@router.post(
    "/drivers",
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(require("drivers:write"))],
    responses=responses(401, 403, 422),
)
async def add_driver(request: Request, pool: PoolDep, scope: ScopeDep, body: DriverCreate) -> DriverPublic:
    """Add a driver to an existing organisation; 422 when the organisation is not one you may see."""
    entry = audit_entry(request)
    entry.params = body.model_dump(mode="json")
    async with pool.connection() as conn:
        try:
            created = await drivers.create_driver(conn, scope, body)
        except DriverRefused as exc:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(exc)) from exc
    entry.resource_ids.append(str(created.id))
    return created


@router.patch(
    "/drivers/{driver_id}",
    dependencies=[Depends(require("drivers:write"))],
    responses=responses(401, 403, 404, 409, 422),
)
async def change_driver(
    request: Request, pool: PoolDep, scope: ScopeDep, driver_id: DriverId, body: DriverUpdate
) -> DriverPublic:
    """Change fields of a driver (those sent; null clears the phone), e.g. {"active": false} for one who left or is
    not to be dispatched: 404 when there is none of this id among those you may see, 409 when made inactive while
    on a dispatched or under-way request, 422 when their new organisation is not one you may see."""
    changes = body.model_dump(exclude_unset=True)
    entry = audit_entry(request)
    entry.resource_ids.append(str(driver_id))
    entry.params = body.model_dump(mode="json", exclude_unset=True)
    async with pool.connection() as conn:
        try:
            changed = await drivers.update_driver(conn, scope, driver_id, changes)
        except DriverRefused as exc:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(exc)) from exc
        except DriverBusy as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from exc
    if changed is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no driver {driver_id}")
    return changed


# ---------------------------------------------------------------------------------------------------------------
# The drivers table as a file


async def _drivers(pool: PoolDep, scope: ScopeDep) -> list[DriverOfOrganisation]:
    async with pool.connection() as conn:
        return await drivers.drivers_of_organisations(conn, scope)


@router.get(
    "/registry/drivers.xlsx",
    tags=["registry"],
    dependencies=[Depends(require("drivers:read"))],
    responses=registry_io.XLSX_RESPONSES,
    response_class=StreamingResponse,
)
async def export_drivers_xlsx(
    pool: PoolDep, scope: ScopeDep, query: Annotated[RegistryFileQuery, Query()]
) -> StreamingResponse:
    """The drivers you may see, inactive ones included, with their organisations' names, as an XLSX workbook with
    Chinese headers and labels (language=en: English): edit it in Excel and send it back to POST /registry/drivers."""
    sheet = registry_io.drivers_sheet(await _drivers(pool, scope), query.language)
    return await xlsx_download([sheet], language=query.language, name="drivers.xlsx")


@router.get(
    "/registry/drivers.csv",
    tags=["registry"],
    dependencies=[Depends(require("drivers:read"))],
    responses=registry_io.CSV_RESPONSES,
    response_class=StreamingResponse,
)
async def export_drivers_csv(
    pool: PoolDep, scope: ScopeDep, query: Annotated[RegistryCsvQuery, Query()]
) -> StreamingResponse:
    """The drivers you may see as CSV (UTF-8) with the headers and labels of the XLSX; it imports back as it is."""
    sheet = registry_io.drivers_sheet(await _drivers(pool, scope), query.language)
    return csv_download(sheet, header=query.language, bom=query.bom, name="drivers.csv")


@router.post(
    "/registry/drivers",
    tags=["registry"],
    dependencies=[Depends(require("drivers:write"))],
    response_model=ImportResult,
    responses=registry_io.IMPORT_RESPONSES,
    openapi_extra=registry_io.UPLOAD_BODY,
)
async def import_drivers(request: Request, pool: PoolDep, scope: ScopeDep) -> ImportResult | JSONResponse:
    """Import drivers from an XLSX workbook (its first sheet) or a CSV file, sent as the multipart field `file`:
    headers in Chinese, English or as keys, as GET /registry/drivers.xlsx writes them (the organisation's name is
    not read). A row with a driver id changes that driver; a row without one (or a file without the column) adds a
    driver, numbered by the registry. A column left out keeps what is stored, an empty cell sets the default. All
    rows are checked first: if any does not fit, the 422 lists each with its row number (the header is row 1),
    column and reason, and nothing is written; else all are written in one transaction."""
    return await registry_io.import_upload(request, pool, scope, registry_io.import_drivers)
