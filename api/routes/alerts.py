"""Supervision: alerts raised by the supervisor, acknowledged with a note; the areas they are judged against."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from api import alerts
from api.access import Principal
from api.alerts import AlertKind, AlertPublic, AreaCreate, AreaPublic
from api.audit import audit_entry
from api.deps import PoolDep, ScopeDep, require
from api.errors import AUTHENTICATED, NO_NUL, Text, responses

router = APIRouter(tags=["supervision"])


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


@router.get("/alerts", dependencies=[Depends(require("alerts:read"))], responses=AUTHENTICATED)
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


@router.post("/alerts/{alert_id}/acknowledge", responses=responses(401, 403, 404, 409, 422))
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
        try:
            found = await alerts.acknowledge(conn, scope, alert_id, user_id=user.id, note=body.note)
        except alerts.AlreadyAcknowledged as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from None
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no alert {alert_id}")
    return found


@router.get("/areas", dependencies=[Depends(require("areas:read"))], responses=AUTHENTICATED)
async def list_areas(pool: PoolDep, scope: ScopeDep) -> list[AreaPublic]:
    """The city's areas and your units' (GeoJSON geometry, [lon, lat])."""
    async with pool.connection() as conn:
        return await alerts.areas(conn, scope)


@router.post(
    "/areas",
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(require("areas:write"))],
    responses=responses(401, 403, 422),
)
async def add_area(request: Request, pool: PoolDep, body: AreaCreate) -> AreaPublic:
    """Add a permitted area or a designated parking place; the supervisor applies it to new positions within
    YIWANG_REGISTRY_REFRESH_SECONDS (a rule change applies to new data, not history)."""
    async with pool.connection() as conn:
        try:
            created = await alerts.create_area(conn, body)
        except alerts.UnknownOrganisation as exc:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(exc)) from None
    audit_entry(request).resource_ids.append(str(created.id))
    return created


@router.delete(
    "/areas/{area_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[Depends(require("areas:write"))],
    responses=responses(401, 403, 404),
)
async def remove_area(request: Request, pool: PoolDep, area_id: int) -> None:
    """Remove an area."""
    audit_entry(request).resource_ids.append(str(area_id))
    async with pool.connection() as conn:
        if not await alerts.delete_area(conn, area_id):
            raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no area {area_id}")
