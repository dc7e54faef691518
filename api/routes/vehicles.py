"""Vehicles (公务用车): every unit's official vehicles and those of service and rental companies."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, status

from api import registry
from api.deps import PoolDep, ScopeDep, require
from api.errors import AUTHENTICATED, PathId, Text, responses
from api.paging import Page, PageQuery
from api.registry import VehiclePublic

router = APIRouter(tags=["registry"])


class VehicleQuery(PageQuery):
    organisation_id: Text | None = None
    energy: Literal["gasoline", "diesel", "battery_electric", "plug_in_hybrid"] | None = None


@router.get("/vehicles", dependencies=[Depends(require("vehicles:read"))], responses=AUTHENTICATED)
async def list_vehicles(pool: PoolDep, scope: ScopeDep, query: Annotated[VehicleQuery, Query()]) -> Page[VehiclePublic]:
    """The vehicles you may see, in id order, optionally of one organisation or energy."""
    async with pool.connection() as conn:
        return await registry.vehicles(
            conn,
            scope,
            after=query.after,
            limit=query.limit,
            organisation_id=query.organisation_id,
            energy=query.energy,
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
