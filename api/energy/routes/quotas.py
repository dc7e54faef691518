"""Quotas (能耗定额) per year and assessed indicator, for a category of institution or one institution."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from api.access.audit import audit_entry
from api.deps import PoolDep, ScopeDep, require
from api.energy import quotas
from api.energy.quotas import QuotaPublic, QuotaSet
from api.errors import AUTHENTICATED, responses
from domain.periods import FIRST_YEAR, LAST_YEAR

router = APIRouter(prefix="/quotas", tags=["energy"])


class QuotaQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    year: int | None = Field(default=None, ge=FIRST_YEAR, le=LAST_YEAR)


@router.get("", dependencies=[Depends(require("quotas:read"))], responses=AUTHENTICATED)
async def list_quotas(pool: PoolDep, scope: ScopeDep, query: Annotated[QuotaQuery, Query()]) -> list[QuotaPublic]:
    """Category quotas and the quotas of the institutions you may see, optionally of one year."""
    async with pool.connection() as conn:
        return await quotas.quotas(conn, scope, query.year)


@router.put("", dependencies=[Depends(require("quotas:write"))], responses=responses(401, 403, 404, 422))
async def put_quota(request: Request, pool: PoolDep, body: QuotaSet) -> QuotaPublic:
    """Set the quota of a year, indicator and category or institution (replacing one that was set)."""
    entry = audit_entry(request)
    entry.params = body.model_dump(mode="json")
    async with pool.connection() as conn:
        saved = await quotas.set_quota(conn, body)
    entry.resource_ids.append(str(saved.id))
    return saved
