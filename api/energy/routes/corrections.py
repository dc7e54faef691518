"""Staff's corrections of a meter's day: made, withdrawn and listed; every change in the audit log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from api.access.audit import audit_entry
from api.deps import CurrentUser, PoolDep, ScopeDep, require
from api.energy import corrections
from api.energy.corrections import Correction, CorrectionSet, CorrectionWithdrawal, Day
from api.errors import responses
from api.fields import PathId, Text

router = APIRouter(prefix="/energy/corrections", tags=["energy"])


class CorrectionQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    meter_id: Text | None = None
    start: Day | None = Field(default=None, description="corrections of days from this one")
    end: Day | None = Field(default=None, description="and before this one (exclusive)")
    withdrawn: bool | None = Field(default=None, description="only withdrawn ones (true), only those applying (false)")


@router.get("", dependencies=[Depends(require("readings:read"))], responses=responses(401, 403, 404, 422))
async def list_corrections(
    pool: PoolDep, scope: ScopeDep, query: Annotated[CorrectionQuery, Query()]
) -> list[Correction]:
    """Corrections of meters' days, the latest first, each with what the readings count for the day (`original`)
    beside the corrected amount, who made it and when, and who withdrew it, when and why. 404 when `meter_id` is not
    among the meters you may see."""
    async with pool.connection() as conn:
        return await corrections.corrections(
            conn, scope, meter_id=query.meter_id, start=query.start, end=query.end, withdrawn=query.withdrawn
        )


@router.put("/{meter_id}", dependencies=[Depends(require("registry:write"))], responses=responses(401, 403, 404, 422))
async def correct_day(
    request: Request, pool: PoolDep, *, scope: ScopeDep, user: CurrentUser, meter_id: PathId, body: CorrectionSet
) -> Correction:
    """Correct a meter's counted day (a spike, a misread): its figure becomes `amount` (the meter's consumption unit,
    multiplier applied) at once, and so does every figure summed from it, each marked `corrected_days`; what the
    readings counted stays (`original`), a recount or `yiwang energy rebuild` keeps the correction, and correcting
    the day again replaces it. 404 when the meter is not among those you may see or the day is not counted."""
    entry = audit_entry(request)
    entry.params = body.model_dump(mode="json")
    entry.resource_ids.append(meter_id)
    async with pool.connection() as conn:
        return await corrections.correct(conn, scope, meter_id, body, user.id)


@router.delete(
    "/{meter_id}", dependencies=[Depends(require("registry:write"))], responses=responses(401, 403, 404, 422)
)
async def withdraw_correction(
    request: Request,
    pool: PoolDep,
    *,
    scope: ScopeDep,
    user: CurrentUser,
    meter_id: PathId,
    body: CorrectionWithdrawal,
) -> Correction:
    """Withdraw the correction of a meter's day, with the reason: the day gets back what its readings counted, at
    once. The correction stays listed, withdrawn."""
    entry = audit_entry(request)
    entry.params = body.model_dump(mode="json")
    entry.resource_ids.append(meter_id)
    async with pool.connection() as conn:
        return await corrections.withdraw(conn, scope, meter_id, body, user.id)
