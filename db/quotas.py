"""SQL of quotas (能耗定额, `quota`): a year's limit of an assessed indicator for a category of institution or one
institution.

The quota list and a quota set return the row type they are given: a model with a field per column of `_COLUMNS`
(id, year, indicator, category, institution_id, limit_value).
"""

from __future__ import annotations

from decimal import Decimal
from typing import TypeVar

from psycopg import AsyncConnection, sql
from psycopg.rows import class_row

from db.scope import Scope

Row = TypeVar("Row")

_COLUMNS = sql.SQL("id, year, indicator, category, institution_id, limit_value")


async def quotas(conn: AsyncConnection, scope: Scope, row: type[Row], year: int | None) -> list[Row]:
    """Category quotas, and the institution quotas of institutions in scope (of `year`, unless None), in year,
    indicator, category and institution order."""
    async with conn.cursor(row_factory=class_row(row)) as cur:
        await cur.execute(
            sql.SQL(
                """SELECT {cols} FROM quota q
                   WHERE ({year} IS NULL OR q.year = {year})
                     AND (q.institution_id IS NULL OR EXISTS (
                          SELECT 1 FROM institution i WHERE i.id = q.institution_id AND {scope}))
                   ORDER BY year, indicator, category NULLS LAST, institution_id"""
            ).format(cols=_COLUMNS, year=sql.Literal(year), scope=scope.condition("i.organisation_id"))
        )
        return await cur.fetchall()


async def set_quota(
    conn: AsyncConnection,
    row: type[Row],
    *,
    year: int,
    indicator: str,
    category: str | None,
    institution_id: str | None,
    limit_value: Decimal,
) -> Row:
    """Insert or replace the quota of that year, indicator and holder; the quota as stored.

    Raises:
        psycopg.errors.ForeignKeyViolation: no institution `institution_id`.
    """
    async with conn.cursor(row_factory=class_row(row)) as cur:
        await cur.execute(
            sql.SQL(
                """INSERT INTO quota (year, indicator, category, institution_id, limit_value)
                   VALUES (%s, %s, %s, %s, %s)
                   ON CONFLICT (year, indicator, category, institution_id)
                   DO UPDATE SET limit_value = EXCLUDED.limit_value
                   RETURNING {}"""
            ).format(_COLUMNS),
            (year, indicator, category, institution_id, limit_value),
        )
        stored = await cur.fetchone()
    assert stored is not None  # inserted or updated: returned either way
    return stored


async def limits(conn: AsyncConnection, year: int) -> list[tuple[str, str, Decimal]]:
    """The year's quotas as (holder, indicator, limit): the holder is 'institution:<id>' or 'category:<category>'."""
    cur = await conn.execute(
        """SELECT CASE WHEN institution_id IS NULL THEN 'category:' || category
                       ELSE 'institution:' || institution_id END,
                  indicator, limit_value FROM quota WHERE year = %s""",
        (year,),
    )
    return await cur.fetchall()
