"""Supervising departments (主管部门): the hierarchy the statistics survey's summary by department follows."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status

from api.access.audit import audit_entry
from api.deps import PoolDep, require
from api.errors import AUTHENTICATED, responses
from api.fields import PathId
from api.paging import Page, PageQuery
from api.registry import departments
from api.registry.models import DepartmentCreate, DepartmentPublic, DepartmentUpdate

router = APIRouter(prefix="/departments", tags=["registry"])


@router.get("", dependencies=[Depends(require("departments:read"))], responses=AUTHENTICATED)
async def list_departments(pool: PoolDep, query: Annotated[PageQuery, Query()]) -> Page[DepartmentPublic]:
    """Every supervising department, in id order, each with its parent (null: at the top). Every role reads the
    whole hierarchy: it names no unit's data."""
    async with pool.connection() as conn:
        return await departments.departments(conn, after=query.after, limit=query.limit)


@router.get("/{department_id}", dependencies=[Depends(require("departments:read"))], responses=responses(401, 403, 404))
async def get_department(pool: PoolDep, department_id: PathId) -> DepartmentPublic:
    """One department; 404 when there is none of this id."""
    async with pool.connection() as conn:
        return await departments.department(conn, department_id)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(require("registry:write"))],
    responses=responses(401, 403, 409, 422),
)
async def add_department(request: Request, pool: PoolDep, body: DepartmentCreate) -> DepartmentPublic:
    """Add a supervising department, at the top or under an existing one (parent_id): 409 when the id is taken,
    422 when the parent is no department."""
    entry = audit_entry(request)
    entry.resource_ids.append(body.id)
    entry.params = body.model_dump(mode="json")
    async with pool.connection() as conn:
        return await departments.create_department(conn, body)


@router.patch(
    "/{department_id}",
    dependencies=[Depends(require("registry:write"))],
    responses=responses(401, 403, 404, 422),
)
async def change_department(
    request: Request, pool: PoolDep, department_id: PathId, body: DepartmentUpdate
) -> DepartmentPublic:
    """Change a department's name or parent (null: to the top): 404 when there is none of this id, 422 when the
    new parent is no department or would put the department under itself (a chain of parents that comes back)."""
    entry = audit_entry(request)
    entry.resource_ids.append(department_id)
    entry.params = body.model_dump(mode="json", exclude_unset=True)
    async with pool.connection() as conn:
        return await departments.update_department(conn, department_id, body.model_dump(exclude_unset=True))
