"""Meters (能源计量器具) of the institutions: what they measure, in which unit, and what the roll-up counts with."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status

from api.access.audit import audit_entry
from api.deps import PoolDep, ScopeDep, require
from api.errors import AUTHENTICATED, responses
from api.fields import PathId, Text
from api.paging import Page, PageQuery
from api.registry import service
from api.registry.models import MeterCreate, MeterPublic, MeterUpdate
from domain.energy import EnergyType

router = APIRouter(prefix="/meters", tags=["registry"])


class MeterQuery(PageQuery):
    institution_id: Text | None = None
    energy_type: EnergyType | None = None


@router.get("", dependencies=[Depends(require("meters:read"))], responses=AUTHENTICATED)
async def list_meters(pool: PoolDep, scope: ScopeDep, query: Annotated[MeterQuery, Query()]) -> Page[MeterPublic]:
    """The meters of the institutions you may see, in id order."""
    async with pool.connection() as conn:
        return await service.meters(
            conn,
            scope,
            after=query.after,
            limit=query.limit,
            institution_id=query.institution_id,
            energy_type=query.energy_type,
        )


@router.get("/{meter_id}", dependencies=[Depends(require("meters:read"))], responses=responses(401, 403, 404))
async def get_meter(pool: PoolDep, scope: ScopeDep, meter_id: PathId) -> MeterPublic:
    """One meter; 404 when there is none of this id among those you may see."""
    async with pool.connection() as conn:
        return await service.meter(conn, scope, meter_id)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(require("registry:write"))],
    responses=responses(401, 403, 409, 422),
)
async def add_meter(request: Request, pool: PoolDep, scope: ScopeDep, body: MeterCreate) -> MeterPublic:
    """Add a meter to an existing institution: 409 when the id is taken, 422 when the institution is not one you may
    see or the unit is not one the energy type counts in (electricity kWh or MWh, water m3, m³ or t, natural gas m3
    or m³, heat MJ or GJ, coal and oils kg or t); a sub-item is of electricity only."""
    entry = audit_entry(request)
    entry.resource_ids.append(body.id)
    entry.params = body.model_dump(mode="json")
    async with pool.connection() as conn:
        return await service.create_meter(conn, scope, body)


@router.patch("/{meter_id}", dependencies=[Depends(require("registry:write"))], responses=responses(401, 403, 404, 422))
async def change_meter(
    request: Request, pool: PoolDep, scope: ScopeDep, meter_id: PathId, body: MeterUpdate
) -> MeterPublic:
    """Change fields of a meter (those sent; null clears a field that may be empty), e.g. its replacement date or
    its most per hour: 404 when there is none of this id among those you may see, 422 when the changed meter does
    not fit. A new multiplier, register maximum or most per hour recounts the meter's consumption history."""
    audit_entry(request).params = body.model_dump(mode="json", exclude_unset=True)
    async with pool.connection() as conn:
        return await service.update_meter(conn, scope, meter_id, body.model_dump(exclude_unset=True))
