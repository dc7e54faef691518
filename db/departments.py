"""SQL of the supervising departments (主管部门, table `department`): a hierarchy that every role reads whole (it
names no unit's data), written by the registry's import and by staff."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import TypeVar

import psycopg
from psycopg import AsyncConnection
from psycopg.rows import class_row

from domain.departments import cycle_problem
from domain.registry import Department

Row = TypeVar("Row")


class DepartmentUnfit(ValueError):
    """Departments that a write would leave without a parent or under themselves: nothing of the write is kept."""


async def departments(
    conn: AsyncConnection, row: type[Row], *, after: str | None = None, limit: int | None = None
) -> list[Row]:
    """The departments in id order, after `after`, at most `limit`."""
    async with conn.cursor(row_factory=class_row(row)) as cur:
        await cur.execute(
            """SELECT id, name, parent_id FROM department WHERE %(after)s::text IS NULL OR id > %(after)s
               ORDER BY id LIMIT %(limit)s""",
            {"after": after, "limit": limit},
        )
        return await cur.fetchall()


async def some(conn: AsyncConnection, ids: Collection[str], row: type[Row], *, lock: bool = False) -> list[Row]:
    """Those of `ids` that are departments, in id order; with `lock`, locked until the transaction ends."""
    async with conn.cursor(row_factory=class_row(row)) as cur:
        query = "SELECT id, name, parent_id FROM department WHERE id = ANY(%s) ORDER BY id"
        await cur.execute(query + " FOR UPDATE" if lock else query, [sorted(set(ids))])
        return await cur.fetchall()


async def existing(conn: AsyncConnection, ids: Collection[str]) -> set[str]:
    """Those of `ids` that are departments."""
    cur = await conn.execute("SELECT id FROM department WHERE id = ANY(%s)", [sorted(set(ids))])
    return {found for (found,) in await cur.fetchall()}


async def parents(conn: AsyncConnection) -> dict[str, str | None]:
    """Every department's parent (None at the top), locked until the transaction ends: a check of the hierarchy
    and the write it allows are not interleaved with another."""
    await conn.execute("LOCK TABLE department IN SHARE ROW EXCLUSIVE MODE")
    cur = await conn.execute("SELECT id, parent_id FROM department")
    return dict(await cur.fetchall())


async def upsert(conn: AsyncConnection, items: Sequence[Department]) -> int:
    """Insert or update these departments whole, in one transaction, whatever their order (a parent after its
    child, too).

    Raises:
        DepartmentUnfit: a parent that is no department, or a parent chain that comes back to where it started.
    """
    if not items:
        return 0
    async with conn.transaction():
        hierarchy = await parents(conn)
        async with conn.cursor() as cur:
            # Names first, parents after: a parent may come after its child in the document.
            await cur.executemany(
                """INSERT INTO department (id, name) VALUES (%s, %s)
                   ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name""",
                [(item.id, item.name) for item in items],
            )
            try:
                await cur.executemany(
                    "UPDATE department SET parent_id = %s WHERE id = %s", [(item.parent_id, item.id) for item in items]
                )
            except psycopg.errors.ForeignKeyViolation as exc:
                raise DepartmentUnfit(
                    f"a parent department that does not exist ({exc.diag.message_detail}): add it first"
                ) from exc
        hierarchy |= {item.id: item.parent_id for item in items}
        for item in items:
            problem = cycle_problem(hierarchy, item.id)
            if problem is not None:
                raise DepartmentUnfit(problem)
    return len(items)
