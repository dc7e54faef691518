"""The audit log: who did what, when, from where, and how it ended. Administrators read it; reading is recorded too."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from api.deps import PoolDep, require
from api.errors import AUTHENTICATED
from api.fields import Text
from db import access as access_db

router = APIRouter(prefix="/audit", tags=["audit"])

Outcome = Literal["ok", "unauthenticated", "denied", "not_found", "conflict", "invalid", "limited", "refused", "error"]


class AuditRecordPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    user_id: int | None
    user_name: str | None
    role: str | None
    action: str
    method: str
    endpoint: str
    resource_ids: list[str]
    params: dict[str, Any]
    address: str | None
    status: int
    outcome: str


class AuditPage(BaseModel):
    """Newest first; pass `next_before` as `before` for the next page (null: no more)."""

    items: list[AuditRecordPublic]
    next_before: int | None


class AuditQuery(BaseModel):
    """Filters (all optional, all must hold) and paging of the audit log. Unknown parameters are refused."""

    model_config = ConfigDict(extra="forbid")

    user_id: int | None = None
    user_name: Text | None = None
    action: Text | None = Field(default=None, description="e.g. institutions:read, users:write, auth:login")
    outcome: Outcome | None = None
    resource_id: Text | None = Field(default=None, description="records naming this id (institution, user...)")
    since: datetime | None = Field(default=None, description="from this time (RFC 3339 with offset)")
    until: datetime | None = Field(default=None, description="before this time")
    before: int | None = Field(default=None, description="records with ids below this: the previous page's next_before")
    limit: int = Field(default=100, ge=1, le=1000)


@router.get("", dependencies=[Depends(require("audit:read"))], responses=AUTHENTICATED)
async def audit_log(pool: PoolDep, query: Annotated[AuditQuery, Query()]) -> AuditPage:
    """Audit records matching every filter given, newest first."""
    async with pool.connection() as conn:
        rows = await access_db.audit_records(conn, **query.model_dump(exclude={"limit"}), limit=query.limit)
    items = [AuditRecordPublic.model_validate(row) for row in rows]
    return AuditPage(items=items, next_before=items[-1].id if len(items) == query.limit else None)
