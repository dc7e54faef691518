"""Supervising departments (主管部门) as the API reads, adds and changes them: a hierarchy without cycles that
every role reads whole (it names no unit's data) and staff keep (registry:write). The survey's summary by
department adds up each department's institutions and those of every department under it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from psycopg import AsyncConnection

from api.errors import Conflict, NotFound, Refused
from api.paging import Page, page_of
from api.registry.models import DepartmentCreate, DepartmentPublic
from api.registry.service import no_department, validated
from db import departments as departments_db
from domain.departments import cycle_problem
from domain.registry import Department


async def departments(conn: AsyncConnection, *, after: str | None, limit: int) -> Page[DepartmentPublic]:
    """The departments in id order."""
    items = await departments_db.departments(conn, DepartmentPublic, after=after, limit=limit)
    return page_of(DepartmentPublic, items, limit, "id")


async def department(conn: AsyncConnection, department_id: str) -> DepartmentPublic:
    """One department.

    Raises:
        NotFound: there is none of this id.
    """
    found = await departments_db.some(conn, [department_id], DepartmentPublic)
    if not found:
        raise NotFound(f"no department {department_id}")
    return found[0]


async def all_departments(conn: AsyncConnection) -> list[DepartmentPublic]:
    """Every department, in id order (the registry's export)."""
    return await departments_db.departments(conn, DepartmentPublic)


async def create_department(conn: AsyncConnection, item: Department) -> DepartmentPublic:
    """Add a department, at the top or under an existing one.

    Raises:
        Conflict: a department of this id exists.
        Refused: its parent is no department.
    """
    async with conn.transaction():
        hierarchy = await departments_db.parents(conn)
        if item.id in hierarchy:
            raise Conflict(f"there is already a department {item.id}: change it with PATCH /departments/{item.id}")
        if item.parent_id is not None and item.parent_id not in hierarchy:
            raise Refused(no_department(item.parent_id))
        await departments_db.upsert(conn, [item])
    return await department(conn, item.id)


async def update_department(conn: AsyncConnection, department_id: str, changes: Mapping[str, Any]) -> DepartmentPublic:
    """Change a department's name or parent; a parent that would put it under itself is refused.

    Raises:
        NotFound: there is no department of this id.
        Refused: its new parent is no department, or is the department itself or one under it.
    """
    async with conn.transaction():
        hierarchy = await departments_db.parents(conn)
        current = await department(conn, department_id)
        changed = validated(DepartmentCreate, Department, current, changes)
        if changed.parent_id is not None and changed.parent_id not in hierarchy:
            raise Refused(no_department(changed.parent_id))
        problem = cycle_problem(hierarchy | {changed.id: changed.parent_id}, changed.id)
        if problem is not None:
            raise Refused(problem)
        await departments_db.upsert(conn, [changed])
    return await department(conn, department_id)
