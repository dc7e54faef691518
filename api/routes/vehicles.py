"""Vehicles (公务用车): every unit's official vehicles and those of service and rental companies, through their life
(in service, in the workshop, retired: auctioned or scrapped), and the registry's vehicles table as XLSX or CSV,
exported and imported."""

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
from api.registry import Conflict, IdTaken, RegistryRefused, VehicleCreate, VehiclePublic, VehicleUpdate
from api.registry_io import ImportResult, RegistryCsvQuery, RegistryFileQuery

router = APIRouter(tags=["registry"])


class VehicleQuery(PageQuery):
    organisation_id: Text | None = None
    energy: Literal["gasoline", "diesel", "battery_electric", "plug_in_hybrid"] | None = None
    lifecycle: registry.Lifecycle | None = None


@router.get("/vehicles", dependencies=[Depends(require("vehicles:read"))], responses=AUTHENTICATED)
async def list_vehicles(pool: PoolDep, scope: ScopeDep, query: Annotated[VehicleQuery, Query()]) -> Page[VehiclePublic]:
    """The vehicles you may see, in id order, optionally of one organisation, energy or lifecycle (retired ones are
    listed too: lifecycle=active for those in service)."""
    async with pool.connection() as conn:
        return await registry.vehicles(
            conn,
            scope,
            after=query.after,
            limit=query.limit,
            organisation_id=query.organisation_id,
            energy=query.energy,
            lifecycle=query.lifecycle,
        )


@router.get(
    "/vehicles/{vehicle_id}",
    dependencies=[Depends(require("vehicles:read"))],
    responses=responses(401, 403, 404),
)
async def get_vehicle(pool: PoolDep, scope: ScopeDep, vehicle_id: PathId) -> VehiclePublic:
    """One vehicle; 404 when there is none of this id among those you may see."""
    async with pool.connection() as conn:
        found = await registry.vehicle(conn, scope, vehicle_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no vehicle {vehicle_id}")
    return found


@router.post(
    "/vehicles",
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(require("vehicles:write"))],
    responses=responses(401, 403, 409, 422),
)
async def add_vehicle(request: Request, pool: PoolDep, scope: ScopeDep, body: VehicleCreate) -> VehiclePublic:
    """Add a vehicle to an existing organisation, in service unless said otherwise: 409 when the id is taken or
    another vehicle in the fleet has its plate or terminal, 422 when the organisation or home institution is not
    one you may see, or the vehicle does not fit (a battery of a fuel vehicle, a retirement without its day and
    manner)."""
    entry = audit_entry(request)
    entry.resource_ids.append(body.id)
    entry.params = body.model_dump(mode="json")
    async with pool.connection() as conn:
        try:
            return await registry.create_vehicle(conn, scope, body)
        except (IdTaken, Conflict) as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from exc
        except RegistryRefused as exc:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(exc)) from exc


@router.patch(
    "/vehicles/{vehicle_id}",
    dependencies=[Depends(require("vehicles:write"))],
    responses=responses(401, 403, 404, 409, 422),
)
async def change_vehicle(
    request: Request, pool: PoolDep, scope: ScopeDep, vehicle_id: PathId, body: VehicleUpdate
) -> VehiclePublic:
    """Change fields of a vehicle (those sent; null clears a field that may be empty), its lifecycle among them:
    to the workshop and back ({"lifecycle": "maintenance"}, {"lifecycle": "active"}), or out of the fleet
    ({"lifecycle": "retired", "retired_on": "2025-06-30", "retired_how": "auctioned"}). 404 when there is none of
    this id among those you may see; 409 when a retired vehicle would come back, when the vehicle is on a
    dispatched or under-way request and would be retired, or when another vehicle in the fleet has the plate or
    terminal; 422 when the changed vehicle does not fit."""
    changes = body.model_dump(exclude_unset=True)
    audit_entry(request).params = body.model_dump(mode="json", exclude_unset=True)
    async with pool.connection() as conn:
        try:
            changed = await registry.update_vehicle(conn, scope, vehicle_id, changes)
        except Conflict as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from exc
        except RegistryRefused as exc:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(exc)) from exc
    if changed is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no vehicle {vehicle_id}")
    return changed


# ---------------------------------------------------------------------------------------------------------------
# The vehicles table as a file


async def _vehicles(pool: PoolDep, scope: ScopeDep) -> list[registry.VehicleOfOrganisation]:
    async with pool.connection() as conn:
        return await registry.vehicles_of_organisations(conn, scope)


@router.get(
    "/registry/vehicles.xlsx",
    dependencies=[Depends(require("vehicles:read"))],
    responses=registry_io.XLSX_RESPONSES,
    response_class=StreamingResponse,
)
async def export_vehicles_xlsx(
    pool: PoolDep, scope: ScopeDep, query: Annotated[RegistryFileQuery, Query()]
) -> StreamingResponse:
    """The vehicles you may see, retired ones included, with their organisations' names, as an XLSX workbook with
    Chinese headers and labels (language=en: English): edit it in Excel and send it back to POST /registry/vehicles."""
    sheet = registry_io.vehicles_sheet(await _vehicles(pool, scope), query.language)
    return await xlsx_download([sheet], language=query.language, name="vehicles.xlsx")


@router.get(
    "/registry/vehicles.csv",
    dependencies=[Depends(require("vehicles:read"))],
    responses=registry_io.CSV_RESPONSES,
    response_class=StreamingResponse,
)
async def export_vehicles_csv(
    pool: PoolDep, scope: ScopeDep, query: Annotated[RegistryCsvQuery, Query()]
) -> StreamingResponse:
    """The vehicles you may see as CSV (UTF-8) with the headers and labels of the XLSX; it imports back as it is."""
    sheet = registry_io.vehicles_sheet(await _vehicles(pool, scope), query.language)
    return csv_download(sheet, header=query.language, bom=query.bom, name="vehicles.csv")


@router.post(
    "/registry/vehicles",
    dependencies=[Depends(require("vehicles:write"))],
    response_model=ImportResult,
    responses=registry_io.IMPORT_RESPONSES,
    openapi_extra=registry_io.UPLOAD_BODY,
)
async def import_vehicles(request: Request, pool: PoolDep, scope: ScopeDep) -> ImportResult | JSONResponse:
    """Import vehicles from an XLSX workbook (its first sheet) or a CSV file, sent as the multipart field `file`:
    headers in Chinese, English or as keys, as GET /registry/vehicles.xlsx writes them (the organisation's name is
    not read); only the id column is needed. A row adds or changes a vehicle, its lifecycle among them, under the
    rules of PATCH /vehicles/{id}; a column left out keeps what is stored, an empty cell sets the default. All rows
    are checked first: if any does not fit, the 422 lists each with its row number (the header is row 1), column
    and reason, and nothing is written; else all are written in one transaction."""
    return await registry_io.import_upload(request, pool, scope, registry_io.import_vehicles)
