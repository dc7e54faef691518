"""Institutions (公共机构): the energy-using buildings of the registry (名录库), their facts of each year (floor area,
headcount and what the statistics survey asks) and their data-centre rooms."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status

from api.access.audit import audit_entry
from api.deps import PoolDep, ScopeDep, require
from api.errors import AUTHENTICATED, responses
from api.fields import PathId, Text
from api.paging import Page, PageQuery
from api.registry import service
from api.registry.models import (
    DataCentreRoomPublic,
    InstitutionCreate,
    InstitutionPublic,
    InstitutionUpdate,
    InstitutionYearPublic,
    RoomFigures,
    YearChanges,
    YearFigures,
)
from domain.energy import Category
from domain.periods import FIRST_YEAR, LAST_YEAR
from domain.registry import NAME_PATTERN

router = APIRouter(prefix="/institutions", tags=["registry"])

Year = Annotated[int, Path(ge=FIRST_YEAR, le=LAST_YEAR, description="the calendar year")]
RoomName = Annotated[
    str,
    Path(min_length=1, max_length=200, pattern=NAME_PATTERN, description="the room's name, e.g. 1号机房"),
]


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
    """An institution's facts of each year they are known for, in year order: floor area (建筑面积) and
    energy-using headcount (用能人数), which the per-area and per-capita indicators divide by, and what the
    statistics survey asks (credit code, supervising department, division, category, heated and cooled areas,
    heating). 404 when there is no institution of this id among those you may see."""
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
    """Set an institution's facts of a year, whole: what is left out or null is not known (nothing known: the
    year's facts are removed). Per-area and per-capita indicators of the year divide by its floor area and
    headcount. 422 when a fact does not fit (a credit code whose check character is wrong, a division code that is
    not 6 digits, a supervising department that does not exist, heated-area parts larger than the heated area)."""
    audit_entry(request).params = body.model_dump(mode="json")
    async with pool.connection() as conn:
        return await service.put_year(conn, scope, institution_id, year, body)


@router.patch(
    "/{institution_id}/years/{year}",
    dependencies=[Depends(require("registry:write"))],
    responses=responses(401, 403, 404, 422),
)
async def change_institution_year(
    *, request: Request, pool: PoolDep, scope: ScopeDep, institution_id: PathId, year: Year, body: YearChanges
) -> InstitutionYearPublic:
    """Change some of an institution's facts of a year, e.g. {"credit_code": "123502001549897397"}: those sent
    (null: not known any more), the others kept; the year is then checked whole, as by PUT (the same 422s)."""
    changes = body.model_dump(exclude_unset=True)
    audit_entry(request).params = body.model_dump(mode="json", exclude_unset=True)
    async with pool.connection() as conn:
        return await service.update_year(conn, scope, institution_id, year, changes)


@router.get(
    "/{institution_id}/data-centre-rooms",
    dependencies=[Depends(require("institutions:read"))],
    responses=responses(401, 403, 404),
)
async def list_data_centre_rooms(
    pool: PoolDep,
    scope: ScopeDep,
    institution_id: PathId,
    year: Annotated[int | None, Query(ge=FIRST_YEAR, le=LAST_YEAR, description="only the rooms of this year")] = None,
) -> list[DataCentreRoomPublic]:
    """An institution's data-centre machine rooms (数据中心机房, the survey's data-centre form: one row a room) of
    each year, or of one, by year and name. 404 when there is no institution of this id among those you may see."""
    async with pool.connection() as conn:
        return await service.rooms(conn, scope, institution_id, year)


@router.put(
    "/{institution_id}/years/{year}/data-centre-rooms/{name}",
    dependencies=[Depends(require("registry:write"))],
    responses=responses(401, 403, 404, 422),
)
async def put_data_centre_room(
    *,
    request: Request,
    pool: PoolDep,
    scope: ScopeDep,
    institution_id: PathId,
    year: Year,
    name: RoomName,
    body: RoomFigures,
) -> DataCentreRoomPublic:
    """Set a data-centre room's facts of a year, whole (a room of a new name is added): floor area, racks, the
    power of its IT, cooling and distribution equipment, and the year's electricity with its split by the same
    three. What is left out or null is not known. 422 when the split adds up to more than the total."""
    audit_entry(request).params = body.model_dump(mode="json")
    async with pool.connection() as conn:
        return await service.put_room(conn, scope, institution_id, year, name=name, figures=body)


@router.delete(
    "/{institution_id}/years/{year}/data-centre-rooms/{name}",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[Depends(require("registry:write"))],
    responses=responses(401, 403, 404, 422),
)
async def delete_data_centre_room(
    pool: PoolDep, scope: ScopeDep, institution_id: PathId, year: Year, name: RoomName
) -> Response:
    """Remove a data-centre room of a year (one closed, or entered under a wrong name): 404 when there is none."""
    async with pool.connection() as conn:
        await service.delete_room(conn, scope, institution_id, year, name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
