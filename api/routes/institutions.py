"""Institutions (公共机构): the energy-using buildings of the registry."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, status

from api import registry
from api.deps import PoolDep, ScopeDep, require
from api.errors import AUTHENTICATED, PathId, Text, responses
from api.paging import Page, PageQuery
from api.registry import InstitutionPublic

router = APIRouter(tags=["registry"])


class InstitutionQuery(PageQuery):
    organisation_id: Text | None = None
    category: Literal["agency", "public_institution", "school", "hospital", "community", "venue"] | None = None


@router.get("/institutions", dependencies=[Depends(require("institutions:read"))], responses=AUTHENTICATED)
async def list_institutions(
    pool: PoolDep, scope: ScopeDep, query: Annotated[InstitutionQuery, Query()]
) -> Page[InstitutionPublic]:
    """The institutions you may see, in id order, optionally of one organisation or category."""
    async with pool.connection() as conn:
        return await registry.institutions(
            conn,
            scope,
            after=query.after,
            limit=query.limit,
            organisation_id=query.organisation_id,
            category=query.category,
        )


@router.get(
    "/institutions/{institution_id}",
    dependencies=[Depends(require("institutions:read"))],
    responses=responses(401, 403, 404),
)
async def get_institution(pool: PoolDep, scope: ScopeDep, institution_id: PathId) -> InstitutionPublic:
    """One institution; 404 when there is none of this id among those you may see."""
    async with pool.connection() as conn:
        found = await registry.institution(conn, scope, institution_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no institution {institution_id}")
    return found
