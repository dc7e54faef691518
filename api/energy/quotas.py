"""Quotas (能耗定额): a year's limit of an assessed indicator for a category of institution or one institution."""

from __future__ import annotations

import psycopg
from psycopg import AsyncConnection, sql
from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.errors import NotFound
from api.fields import NO_NUL, PositiveDecimal
from db.scope import Scope
from domain.energy import Category, Indicator


class QuotaSet(BaseModel):
    """A quota to set: for a category or for one institution (which then overrides its category's)."""

    model_config = ConfigDict(extra="forbid")

    year: int = Field(ge=2000, le=2100)
    indicator: Indicator
    category: Category | None = None
    institution_id: str | None = Field(default=None, pattern=NO_NUL, max_length=64)
    limit_value: PositiveDecimal = Field(description="m³/person, kgce/person or kgce/m² a year")

    @model_validator(mode="after")
    def _one_holder(self) -> QuotaSet:
        if (self.category is None) == (self.institution_id is None):
            raise ValueError("a quota is for a category or for an institution: give one of them")
        return self


class QuotaPublic(QuotaSet):
    id: int


class UnknownInstitution(NotFound):
    """No institution of that id (404)."""


_COLUMNS = sql.SQL("id, year, indicator, category, institution_id, limit_value")


async def quotas(conn: AsyncConnection, scope: Scope, year: int | None) -> list[QuotaPublic]:
    """Category quotas, and the institution quotas of institutions in scope."""
    cur = await conn.execute(
        sql.SQL(
            """SELECT {cols} FROM quota q
               WHERE ({year} IS NULL OR q.year = {year})
                 AND (q.institution_id IS NULL OR EXISTS (
                      SELECT 1 FROM institution i WHERE i.id = q.institution_id AND {scope}))
               ORDER BY year, indicator, category NULLS LAST, institution_id"""
        ).format(cols=_COLUMNS, year=sql.Literal(year), scope=scope.condition("i.organisation_id"))
    )
    return [QuotaPublic(**dict(zip(_FIELDS, row, strict=True))) for row in await cur.fetchall()]


_FIELDS = ("id", "year", "indicator", "category", "institution_id", "limit_value")


async def set_quota(conn: AsyncConnection, quota: QuotaSet) -> QuotaPublic:
    """Insert or replace the quota of that year, indicator and holder.

    Raises:
        UnknownInstitution: no such institution.
    """
    try:
        cur = await conn.execute(
            sql.SQL(
                """INSERT INTO quota (year, indicator, category, institution_id, limit_value)
                   VALUES (%s, %s, %s, %s, %s)
                   ON CONFLICT (year, indicator, category, institution_id)
                   DO UPDATE SET limit_value = EXCLUDED.limit_value
                   RETURNING {}"""
            ).format(_COLUMNS),
            (quota.year, quota.indicator, quota.category, quota.institution_id, quota.limit_value),
        )
    except psycopg.errors.ForeignKeyViolation:
        raise UnknownInstitution(f"no institution {quota.institution_id}") from None
    row = await cur.fetchone()
    assert row is not None
    return QuotaPublic(**dict(zip(_FIELDS, row, strict=True)))
