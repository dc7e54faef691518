"""Supervision alerts: raised by the supervisor, read by the units they concern, acknowledged with a note."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from api.access.audit import audit_entry
from api.access.rules import Principal
from api.deps import PoolDep, ScopeDep, require
from api.errors import AUTHENTICATED, responses
from api.fields import NO_NUL, Text
from api.supervision import alerts
from api.supervision.alerts import AlertPublic
from domain.supervision import AlertKind

router = APIRouter(prefix="/alerts", tags=["supervision"])


class AlertQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    before: int | None = Field(default=None, description="the smallest id of the previous page: older ones follow")
    limit: int = Field(default=100, ge=1, le=1000)
    organisation_id: Text | None = None
    vehicle_id: Text | None = None
    kind: AlertKind | None = None
    level: str | None = Field(default=None, pattern="^(yellow|red)$")
    open: bool = Field(default=False, description="only alerts not acknowledged yet")
    since: AwareDatetime | None = Field(default=None, description="fix time from (RFC 3339 with offset)")


class Acknowledgement(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str = Field(min_length=1, max_length=2000, pattern=NO_NUL, description="what was found or done")


@router.get("", dependencies=[Depends(require("alerts:read"))], responses=AUTHENTICATED)
async def list_alerts(pool: PoolDep, scope: ScopeDep, query: Annotated[AlertQuery, Query()]) -> list[AlertPublic]:
    """The alerts of the vehicles you may see, newest first; page with `before`."""
    async with pool.connection() as conn:
        return await alerts.alerts(
            conn,
            scope,
            before=query.before,
            limit=query.limit,
            filters={
                "organisation_id": query.organisation_id,
                "vehicle_id": query.vehicle_id,
                "kind": query.kind,
                "level": query.level,
            },
            open_only=query.open,
            since=query.since,
        )


@router.post("/{alert_id}/acknowledge", responses=responses(401, 403, 404, 409, 422))
async def acknowledge_alert(
    request: Request,
    pool: PoolDep,
    scope: ScopeDep,
    user: Annotated[Principal, Depends(require("alerts:write"))],
    *,
    alert_id: int,
    body: Acknowledgement,
) -> AlertPublic:
    """Acknowledge an alert with a note (once: 409 when it already was)."""
    audit_entry(request).resource_ids.append(str(alert_id))
    async with pool.connection() as conn:
        return await alerts.acknowledge(conn, scope, alert_id, user_id=user.id, note=body.note)
