"""Drivers (驾驶员): the people the dispatch centre assigns to vehicles, employed by a unit or a service company."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, status
from pydantic import BaseModel, ConfigDict, Field

from api import drivers
from api.audit import audit_entry
from api.deps import PoolDep, ScopeDep, require
from api.drivers import BIGINT_MAX, DriverCreate, DriverPublic, DriverRefused
from api.errors import AUTHENTICATED, Text, responses
from api.paging import Page

router = APIRouter(prefix="/drivers", tags=["requests"])


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
async def get_driver(
    pool: PoolDep, scope: ScopeDep, driver_id: Annotated[int, Path(ge=1, le=BIGINT_MAX)]
) -> DriverPublic:
    """One driver; 404 when there is none of this id among those you may see."""
    async with pool.connection() as conn:
        found = await drivers.driver(conn, scope, driver_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no driver {driver_id}")
    return found


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
        try:
            created = await drivers.create_driver(conn, scope, body)
        except DriverRefused as exc:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(exc)) from exc
    entry.resource_ids.append(str(created.id))
    return created
