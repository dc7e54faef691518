"""Meters: the electricity, water, gas and heat meters of the institutions."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, status

from api import registry
from api.deps import PoolDep, ScopeDep, require
from api.errors import AUTHENTICATED, PathId, Text, responses
from api.paging import Page, PageQuery
from api.registry import MeterPublic

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
