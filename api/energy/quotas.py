"""Quotas (能耗定额): a year's limit of an assessed indicator for a category of institution or one institution."""

from __future__ import annotations

import psycopg
from psycopg import AsyncConnection
from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.errors import NotFound
from api.fields import NO_NUL, PositiveDecimal
from db import quotas as quotas_db
from db.scope import Scope
from domain.energy import Category, Indicator
from domain.periods import FIRST_YEAR, LAST_YEAR


class QuotaSet(BaseModel):
    """A quota to set: for a category or for one institution (which then overrides its category's)."""

    model_config = ConfigDict(extra="forbid")

    year: int = Field(ge=FIRST_YEAR, le=LAST_YEAR)
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


async def quotas(conn: AsyncConnection, scope: Scope, year: int | None) -> list[QuotaPublic]:
    """Category quotas, and the institution quotas of institutions in scope."""
    return await quotas_db.quotas(conn, scope, QuotaPublic, year)


async def set_quota(conn: AsyncConnection, quota: QuotaSet) -> QuotaPublic:
    """Insert or replace the quota of that year, indicator and holder.

    Raises:
        UnknownInstitution: no such institution.
    """
    try:
        return await quotas_db.set_quota(
            conn,
            QuotaPublic,
            year=quota.year,
            indicator=quota.indicator,
            category=quota.category,
            institution_id=quota.institution_id,
            limit_value=quota.limit_value,
        )
    except psycopg.errors.ForeignKeyViolation:
        raise UnknownInstitution(f"no institution {quota.institution_id}") from None
