"""Vehicles (公务用车): every unit's and company's vehicles across their life (in service, in the workshop, retired),
kept by the dispatch centre."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status

from api.access.audit import audit_entry
from api.deps import PoolDep, ScopeDep, require
from api.errors import AUTHENTICATED, responses
from api.fields import PathId, Text
from api.paging import Page, PageQuery
from api.registry import service
from api.registry.models import VehicleCreate, VehiclePublic, VehicleUpdate
from domain.vehicles import Lifecycle, VehicleEnergy

router = APIRouter(prefix="/vehicles", tags=["registry"])


class VehicleQuery(PageQuery):
    organisation_id: Text | None = None
    energy: VehicleEnergy | None = None
    lifecycle: Lifecycle | None = None


@router.get("", dependencies=[Depends(require("vehicles:read"))], responses=AUTHENTICATED)
async def list_vehicles(pool: PoolDep, scope: ScopeDep, query: Annotated[VehicleQuery, Query()]) -> Page[VehiclePublic]:
    """The vehicles you may see, in id order, optionally of one organisation, energy or lifecycle (retired ones are
    listed too: lifecycle=active for those in service)."""
    async with pool.connection() as conn:
        return await service.vehicles(
            conn,
            scope,
            after=query.after,
            limit=query.limit,
            organisation_id=query.organisation_id,
            energy=query.energy,
            lifecycle=query.lifecycle,
        )


@router.get("/{vehicle_id}", dependencies=[Depends(require("vehicles:read"))], responses=responses(401, 403, 404))
async def get_vehicle(pool: PoolDep, scope: ScopeDep, vehicle_id: PathId) -> VehiclePublic:
    """One vehicle; 404 when there is none of this id among those you may see."""
    async with pool.connection() as conn:
        return await service.vehicle(conn, scope, vehicle_id)


@router.post(
    "",
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
        return await service.create_vehicle(conn, scope, body)


@router.patch(
    "/{vehicle_id}",
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
    audit_entry(request).params = body.model_dump(mode="json", exclude_unset=True)
    async with pool.connection() as conn:
        return await service.update_vehicle(conn, scope, vehicle_id, body.model_dump(exclude_unset=True))
