"""Held gaps (a delta over a gap longer than energy_max_gap_days, counted in no day): staff's decisions on them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict

from api.access.audit import audit_entry
from api.deps import CurrentUser, PoolDep, ScopeDep, require
from api.energy import gaps
from api.energy.gaps import GapDecision, GapDecisionSet
from api.errors import responses
from api.fields import PathId, Text

router = APIRouter(prefix="/energy/gaps", tags=["energy"])


class GapQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    meter_id: Text | None = None


@router.get("", dependencies=[Depends(require("readings:read"))], responses=responses(401, 403, 422))
async def list_gap_decisions(pool: PoolDep, scope: ScopeDep, query: Annotated[GapQuery, Query()]) -> list[GapDecision]:
    """Staff's decisions on held gaps, latest first (the gaps still held are in /energy/flagged as `gap`)."""
    async with pool.connection() as conn:
        return await gaps.decisions(conn, scope, query.meter_id)


@router.put("/{meter_id}", dependencies=[Depends(require("registry:write"))], responses=responses(401, 403, 404, 422))
async def decide_gap(
    request: Request, pool: PoolDep, *, scope: ScopeDep, user: CurrentUser, meter_id: PathId, body: GapDecisionSet
) -> GapDecision:
    """Decide a held gap of a meter: spread its delta between the gap's days as the rules would, or leave it out.
    The meter is recounted with the decision within a refresh (YIWANG_ENERGY_REFRESH_SECONDS); deciding again
    replaces the decision."""
    entry = audit_entry(request)
    entry.params = body.model_dump(mode="json")
    entry.resource_ids.append(meter_id)
    async with pool.connection() as conn:
        return await gaps.decide(conn, scope, meter_id, body, user.id)
