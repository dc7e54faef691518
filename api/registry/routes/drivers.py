"""Drivers (驾驶员): the people the dispatch centre assigns to vehicles, employed by a unit or a service company."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, status
from pydantic import BaseModel, ConfigDict, Field

from api.access.audit import audit_entry
from api.deps import PoolDep, ScopeDep, require
from api.errors import AUTHENTICATED, responses
from api.fields import BIGINT_MAX, Text
from api.paging import Page
from api.registry import drivers
from api.registry.models import DriverCreate, DriverPublic, DriverUpdate

router = APIRouter(prefix="/drivers", tags=["requests"])

DriverId = Annotated[int, Path(ge=1, le=BIGINT_MAX)]


class DriverQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    after: int | None = Field(default=None, ge=0, le=BIGINT_MAX, description="the `next_after` of the previous page")
    limit: int = Field(default=100, ge=1, le=1000, description="at most this many items")
    organisation_id: Text | None = None
    active: bool | None = None


@router.get("", dependencies=[Depends(require("drivers:read"))], responses=AUTHENTICATED)
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


@router.get("/{driver_id}", dependencies=[Depends(require("drivers:read"))], responses=responses(401, 403, 404))
async def get_driver(pool: PoolDep, scope: ScopeDep, driver_id: DriverId) -> DriverPublic:
    """One driver; 404 when there is none of this id among those you may see."""
    async with pool.connection() as conn:
        return await drivers.driver(conn, scope, driver_id)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(require("drivers:write"))],
    responses=responses(401, 403, 422),
)
async def add_driver(request: Request, pool: PoolDep, scope: ScopeDep, body: DriverCreate) -> DriverPublic:
    """Add a driver to an existing organisation; 422 when the organisation is not one you may see."""
    entry = audit_entry(request)
    entry.params = body.model_dump(mode="json")
    async with pool.connection() as conn:
        created = await drivers.create_driver(conn, scope, body)
    entry.resource_ids.append(str(created.id))
    return created


@router.patch(
    "/{driver_id}",
    dependencies=[Depends(require("drivers:write"))],
    responses=responses(401, 403, 404, 409, 422),
)
async def change_driver(
    request: Request, pool: PoolDep, scope: ScopeDep, driver_id: DriverId, body: DriverUpdate
) -> DriverPublic:
    """Change fields of a driver (those sent; null clears the phone), e.g. {"active": false} for one who left or is
    not to be dispatched: 404 when there is none of this id among those you may see, 409 when made inactive while
    on a dispatched or under-way request, 422 when their new organisation is not one you may see."""
    entry = audit_entry(request)
    entry.resource_ids.append(str(driver_id))
    entry.params = body.model_dump(mode="json", exclude_unset=True)
    async with pool.connection() as conn:
        return await drivers.update_driver(conn, scope, driver_id, body.model_dump(exclude_unset=True))
