"""The areas supervision judges positions against: permitted areas and designated parking places."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, status

from api.access.audit import audit_entry
from api.deps import PoolDep, ScopeDep, require
from api.errors import AUTHENTICATED, responses
from api.supervision import areas
from api.supervision.areas import AreaCreate, AreaPublic, AreaUpdate

router = APIRouter(prefix="/areas", tags=["supervision"])


@router.get("", dependencies=[Depends(require("areas:read"))], responses=AUTHENTICATED)
async def list_areas(pool: PoolDep, scope: ScopeDep) -> list[AreaPublic]:
    """The city's areas and your units' (GeoJSON geometry, [lon, lat])."""
    async with pool.connection() as conn:
        return await areas.areas(conn, scope)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(require("areas:write"))],
    responses=responses(401, 403, 422),
)
async def add_area(request: Request, pool: PoolDep, body: AreaCreate) -> AreaPublic:
    """Add a permitted area or a designated parking place; the supervisor applies it to the next positions it
    judges (a rule change applies to new data, not history)."""
    async with pool.connection() as conn:
        created = await areas.create_area(conn, body)
    audit_entry(request).resource_ids.append(str(created.id))
    return created


@router.patch(
    "/{area_id}",
    dependencies=[Depends(require("areas:write"))],
    responses=responses(401, 403, 404, 422),
)
async def change_area(request: Request, pool: PoolDep, area_id: int, body: AreaUpdate) -> AreaPublic:
    """Change an area's name, shape (geometry, radius_m, width_m), speed limit, calendar or hours (those sent; null
    clears radius_m, width_m, speed_limit_kmh or calendar_id), validated whole as on creation: 404 when there is no
    such area, 422 when the area it leaves does not fit. The supervisor judges the next positions by the change
    (history stays as judged)."""
    entry = audit_entry(request)
    entry.resource_ids.append(str(area_id))
    entry.params = body.model_dump(mode="json", exclude_unset=True)
    async with pool.connection() as conn:
        return await areas.update_area(conn, area_id, body)


@router.delete(
    "/{area_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[Depends(require("areas:write"))],
    responses=responses(401, 403, 404),
)
async def remove_area(request: Request, pool: PoolDep, area_id: int) -> None:
    """Remove an area."""
    audit_entry(request).resource_ids.append(str(area_id))
    async with pool.connection() as conn:
        await areas.delete_area(conn, area_id)
