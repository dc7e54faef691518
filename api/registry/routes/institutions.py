"""Institutions (公共机构): the energy-using buildings of the registry (名录库) and their yearly floor area and
headcount."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, status

from api.access.audit import audit_entry
from api.deps import PoolDep, ScopeDep, require
from api.errors import AUTHENTICATED, responses
from api.fields import PathId, Text
from api.paging import Page, PageQuery
from api.registry import service
from api.registry.models import (
    InstitutionCreate,
    InstitutionPublic,
    InstitutionUpdate,
    InstitutionYearPublic,
    YearFigures,
)
from domain.energy import Category
from domain.periods import FIRST_YEAR, LAST_YEAR

router = APIRouter(prefix="/institutions", tags=["registry"])

Year = Annotated[int, Path(ge=FIRST_YEAR, le=LAST_YEAR, description="the calendar year")]


class InstitutionQuery(PageQuery):
    organisation_id: Text | None = None
    category: Category | None = None


@router.get("", dependencies=[Depends(require("institutions:read"))], responses=AUTHENTICATED)
async def list_institutions(
    pool: PoolDep, scope: ScopeDep, query: Annotated[InstitutionQuery, Query()]
) -> Page[InstitutionPublic]:
    """The institutions you may see, in id order, optionally of one organisation or category."""
    async with pool.connection() as conn:
        return await service.institutions(
            conn,
            scope,
            after=query.after,
            limit=query.limit,
            organisation_id=query.organisation_id,
            category=query.category,
        )


@router.get(
    "/{institution_id}",
    dependencies=[Depends(require("institutions:read"))],
    responses=responses(401, 403, 404),
)
async def get_institution(pool: PoolDep, scope: ScopeDep, institution_id: PathId) -> InstitutionPublic:
    """One institution; 404 when there is none of this id among those you may see."""
    async with pool.connection() as conn:
        return await service.institution(conn, scope, institution_id)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(require("registry:write"))],
    responses=responses(401, 403, 409, 422),
)
async def add_institution(
    request: Request, pool: PoolDep, scope: ScopeDep, body: InstitutionCreate
) -> InstitutionPublic:
    """Add an institution to an existing organisation: 409 when the id is taken, 422 when the organisation is not
    one you may see."""
    entry = audit_entry(request)
    entry.resource_ids.append(body.id)
    entry.params = body.model_dump(mode="json")
    async with pool.connection() as conn:
        return await service.create_institution(conn, scope, body)


@router.patch(
    "/{institution_id}",
    dependencies=[Depends(require("registry:write"))],
    responses=responses(401, 403, 404, 422),
)
async def change_institution(
    request: Request, pool: PoolDep, scope: ScopeDep, institution_id: PathId, body: InstitutionUpdate
) -> InstitutionPublic:
    """Change fields of an institution (those sent; null clears a field that may be empty): 404 when there is none
    of this id among those you may see, 422 when its new organisation is not one you may see."""
    audit_entry(request).params = body.model_dump(mode="json", exclude_unset=True)
    async with pool.connection() as conn:
        return await service.update_institution(conn, scope, institution_id, body.model_dump(exclude_unset=True))


@router.get(
    "/{institution_id}/years",
    dependencies=[Depends(require("institutions:read"))],
    responses=responses(401, 403, 404),
)
async def list_institution_years(pool: PoolDep, scope: ScopeDep, institution_id: PathId) -> list[InstitutionYearPublic]:
    """An institution's floor area and energy-using headcount of each year they are known for, in year order."""
    async with pool.connection() as conn:
        return await service.institution_years(conn, scope, institution_id)


@router.put(
    "/{institution_id}/years/{year}",
    dependencies=[Depends(require("registry:write"))],
    responses=responses(401, 403, 404, 422),
)
async def put_institution_year(
    *, request: Request, pool: PoolDep, scope: ScopeDep, institution_id: PathId, year: Year, body: YearFigures
) -> InstitutionYearPublic:
    """Set an institution's floor area (m²) and energy-using headcount of a year; what is left out or null is not
    known (both: the year's figures are removed). Per-area and per-capita indicators of the year divide by them."""
    audit_entry(request).params = body.model_dump(mode="json")
    async with pool.connection() as conn:
        return await service.put_year(conn, scope, institution_id, year, body)
