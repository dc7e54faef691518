"""Meters (能源计量器具) of the institutions: what they measure, in which unit, and what the roll-up counts with."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status
from pydantic import AwareDatetime

from api.access.audit import audit_entry
from api.deps import CurrentUser, PoolDep, ScopeDep, require
from api.errors import AUTHENTICATED, responses
from api.fields import PathId, Text
from api.paging import Page, PageQuery
from api.registry import replacements, service
from api.registry.models import MeterCreate, MeterPublic, MeterUpdate
from api.registry.replacements import MultiplierChange, Replacement, ReplacementCreate
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
    not fit. A new multiplier holds from `multiplier_from` (e.g. the reading taken when the CT was changed) or,
    without it, from now: the consumption before keeps its figures, and the meter is recounted from that moment
    (GET /meters/{id}/multipliers lists the history). A new register maximum or most per hour recounts the whole
    history."""
    audit_entry(request).params = body.model_dump(mode="json", exclude_unset=True)
    async with pool.connection() as conn:
        return await service.update_meter(conn, scope, meter_id, body.model_dump(exclude_unset=True))


@router.get(
    "/{meter_id}/multipliers", dependencies=[Depends(require("meters:read"))], responses=responses(401, 403, 404)
)
async def list_multipliers(pool: PoolDep, scope: ScopeDep, meter_id: PathId) -> list[MultiplierChange]:
    """The meter's multiplier history, in time order: each value holds from `since` until the next one (empty: the
    meter's multiplier holds throughout)."""
    async with pool.connection() as conn:
        return await replacements.multipliers(conn, scope, meter_id)


@router.get(
    "/{meter_id}/replacements", dependencies=[Depends(require("meters:read"))], responses=responses(401, 403, 404)
)
async def list_replacements(pool: PoolDep, scope: ScopeDep, meter_id: PathId) -> list[Replacement]:
    """The meter's recorded replacements (换表), in time order."""
    async with pool.connection() as conn:
        return await replacements.listed(conn, scope, meter_id)


@router.post(
    "/{meter_id}/replacements",
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(require("registry:write"))],
    responses=responses(401, 403, 404, 409, 422),
)
async def record_replacement(
    request: Request, pool: PoolDep, *, scope: ScopeDep, user: CurrentUser, meter_id: PathId, body: ReplacementCreate
) -> Replacement:
    """Record a replacement (换表): the moment of the swap, the old meter's final register and the new meter's first.
    The consumption counts up to the old final and on from the new first, with no reset guessed from the drop; the
    meter is recounted from the swap within a refresh (YIWANG_ENERGY_REFRESH_SECONDS), the days before keep their
    figures. A reading stored at the swap's very moment is not counted (the recorded registers are that moment's).
    404 when there is no such meter among those you may see, 409 when one is recorded at that moment already."""
    entry = audit_entry(request)
    entry.params = body.model_dump(mode="json")
    entry.resource_ids.append(meter_id)
    async with pool.connection() as conn:
        return await replacements.record(conn, scope, meter_id, body, user.id)


@router.delete(
    "/{meter_id}/replacements/{time}",
    dependencies=[Depends(require("registry:write"))],
    responses=responses(401, 403, 404, 422),
)
async def delete_replacement(
    request: Request, pool: PoolDep, scope: ScopeDep, meter_id: PathId, time: AwareDatetime
) -> Replacement:
    """Delete a replacement recorded by mistake (named by its `time`, as listed); the meter is recounted from it.
    404 when there is no such meter among those you may see, or no replacement of it at that moment."""
    entry = audit_entry(request)
    entry.params = {"time": time.isoformat()}
    entry.resource_ids.append(meter_id)
    async with pool.connection() as conn:
        return await replacements.delete(conn, scope, meter_id, time)
