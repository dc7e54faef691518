"""Each unit's allocation quota of vehicles (编制) against the vehicles it holds."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from api.access.audit import audit_entry
from api.deps import PoolDep, ScopeDep, require
from api.errors import AUTHENTICATED, responses
from api.fields import PathId
from api.paging import Page, PageQuery
from api.registry import service
from api.registry.models import VehicleQuotaPublic, VehicleQuotaSet

router = APIRouter(prefix="/vehicle-quotas", tags=["registry"])


# The quota is read with the vehicles it counts: who may see a unit's vehicles may see its quota.
@router.get("", dependencies=[Depends(require("vehicles:read"))], responses=AUTHENTICATED)
async def list_vehicle_quotas(
    pool: PoolDep, scope: ScopeDep, query: Annotated[PageQuery, Query()]
) -> Page[VehicleQuotaPublic]:
    """Each organisation you may see, in id order, with its allocation quota of vehicles (编制; null: none set),
    its vehicles that are not retired (in service or in the workshop), and whether they are more than allowed."""
    async with pool.connection() as conn:
        return await service.vehicle_quotas(conn, scope, after=query.after, limit=query.limit)


@router.get(
    "/{organisation_id}",
    dependencies=[Depends(require("vehicles:read"))],
    responses=responses(401, 403, 404),
)
async def get_vehicle_quota(pool: PoolDep, scope: ScopeDep, organisation_id: PathId) -> VehicleQuotaPublic:
    """An organisation's allocation quota of vehicles and its vehicles not retired; 404 when there is no
    organisation of this id among those you may see."""
    async with pool.connection() as conn:
        return await service.vehicle_quota(conn, scope, organisation_id)


@router.put(
    "/{organisation_id}",
    dependencies=[Depends(require("vehicles:write"))],
    responses=responses(401, 403, 404, 422),
)
async def put_vehicle_quota(
    request: Request, pool: PoolDep, scope: ScopeDep, organisation_id: PathId, body: VehicleQuotaSet
) -> VehicleQuotaPublic:
    """Set a unit's allocation quota of vehicles (编制) as the vehicle authority approved it, replacing the one set;
    {"allowed": null} removes it. A unit may hold more vehicles than allowed (the registry records the fleet as it
    is): `over_quota` shows it. 404 when there is no organisation of this id among those you may see, 422 when it
    is a service or rental company, whose fleet has no quota."""
    entry = audit_entry(request)
    entry.resource_ids.append(organisation_id)
    entry.params = body.model_dump(mode="json")
    async with pool.connection() as conn:
        return await service.put_vehicle_quota(conn, scope, organisation_id, body.allowed)
