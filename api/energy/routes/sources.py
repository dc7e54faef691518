"""The declared source of each institution's energy type and year: the report of both sources side by side, and the
declaration; every declaration in the audit log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict

from api.access.audit import audit_entry
from api.deps import CurrentUser, PoolDep, ScopeDep, require
from api.energy import sources
from api.energy.sources import SourceDeclaration, SourceReport, SourceRow, Year
from api.errors import responses
from api.fields import PathId, Text
from db.energy_reports import Filters

router = APIRouter(prefix="/energy/sources", tags=["energy"])


class SourceQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    year: Year
    institution_id: Text | None = None
    organisation_id: Text | None = None


@router.get("", dependencies=[Depends(require("readings:read"))], responses=responses(401, 403, 422))
async def get_sources(pool: PoolDep, scope: ScopeDep, query: Annotated[SourceQuery, Query()]) -> SourceReport:
    """Per institution you may see and energy type known in the year: what the meters count, what the entries
    state, the difference, the entries' cost, and which source counts in every figure (declared by staff or by the
    default rule: meters where a main meter of the type has data that year, else entries, else sub-item meters).
    The other is never added. Gasoline and diesel rows also show the vehicles' fuel from fuel-card statements
    (`vehicle_fuel`, counted apart as vehicle fuel) and flag `possible_double_entry` where entries state some too."""
    filters = Filters(institution_id=query.institution_id, organisation_id=query.organisation_id)
    async with pool.connection() as conn:
        return await sources.report(conn, scope, query.year, filters)


@router.put(
    "/{institution_id}", dependencies=[Depends(require("registry:write"))], responses=responses(401, 403, 404, 422)
)
async def declare_source(
    request: Request,
    pool: PoolDep,
    *,
    scope: ScopeDep,
    user: CurrentUser,
    institution_id: PathId,
    body: SourceDeclaration,
) -> SourceRow:
    """Declare which source counts for the institution's type in the year (replacing what was declared), with the
    reason; every figure of that year follows at once."""
    audit = audit_entry(request)
    audit.params = body.model_dump(mode="json")
    audit.resource_ids.append(institution_id)
    async with pool.connection() as conn:
        return await sources.declare(conn, scope, institution_id, body, user.id)
