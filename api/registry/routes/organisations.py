"""Organisations: the units, service companies and rental companies that own institutions and vehicles."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.deps import PoolDep, ScopeDep, require
from api.errors import AUTHENTICATED
from api.paging import Page, PageQuery
from api.registry import service
from api.registry.models import OrganisationPublic

router = APIRouter(prefix="/organisations", tags=["registry"])


@router.get("", dependencies=[Depends(require("organisations:read"))], responses=AUTHENTICATED)
async def list_organisations(
    pool: PoolDep, scope: ScopeDep, query: Annotated[PageQuery, Query()]
) -> Page[OrganisationPublic]:
    """The organisations you may see (a unit user: their own), in id order."""
    async with pool.connection() as conn:
        return await service.organisations(conn, scope, after=query.after, limit=query.limit)
