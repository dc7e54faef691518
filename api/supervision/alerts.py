"""Supervision alerts as the API serves them, within a Scope: listed newest first, and acknowledged with a note."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection
from pydantic import BaseModel, Field

from api.errors import Conflict, NotFound
from db import alerts as alerts_db
from db.scope import Scope
from domain.supervision import AlertKind, Level


class AlertPublic(BaseModel):
    id: int
    vehicle_id: str
    organisation_id: str
    kind: AlertKind
    level: Level
    time: datetime = Field(description="the fix time judged")
    received_at: datetime
    raised_at: datetime
    latitude: float | None
    longitude: float | None
    speed: float | None
    detail: str
    acknowledged_at: datetime | None
    acknowledged_by: int | None
    note: str | None


async def alerts(
    conn: AsyncConnection,
    scope: Scope,
    *,
    before: int | None,
    limit: int,
    filters: Mapping[str, Any],
    open_only: bool,
    since: datetime | None,
) -> list[AlertPublic]:
    """The newest alerts first (ids below `before`), of the organisations in scope."""
    return await alerts_db.alerts(
        conn, scope, AlertPublic, before=before, limit=limit, filters=filters, open_only=open_only, since=since
    )


async def by_ids(conn: AsyncConnection, ids: Collection[int]) -> list[AlertPublic]:
    """These alerts, in id order (whoever may see them is for the caller to decide)."""
    return await alerts_db.by_ids(conn, AlertPublic, ids)


async def acknowledge(conn: AsyncConnection, scope: Scope, alert_id: int, *, user_id: int, note: str) -> AlertPublic:
    """Acknowledge an alert in scope with a note.

    Raises:
        NotFound: there is no such alert in scope.
        Conflict: it was acknowledged before (by whom and when is in the alert).
    """
    async with conn.transaction():
        found = await alerts_db.lock(conn, scope, alert_id)
        if found is None:
            raise NotFound(f"no alert {alert_id}")
        acknowledged_at, acknowledged_by = found
        if acknowledged_at is not None:
            raise Conflict(
                f"alert {alert_id} was acknowledged at {acknowledged_at.isoformat()} by user {acknowledged_by}"
            )
        return await alerts_db.acknowledge(conn, AlertPublic, alert_id, user_id=user_id, note=note)
