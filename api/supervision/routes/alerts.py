"""Supervision alerts: raised by the supervisor, read by the units they concern, and carried through their lifecycle
(acknowledged, assigned, noted, closed; cleared and escalated by the notifier: docs/notifications.md)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool
from pydantic import BaseModel, ConfigDict, Field

from api.access.audit import audit_entry
from api.access.rules import Principal
from api.deps import PoolDep, ReaderLanguage, ScopeDep, require
from api.errors import AUTHENTICATED, responses
from api.fields import NO_NUL, Moment, Text
from api.paging import Page, page_of
from api.supervision import alerts
from api.supervision.alerts import AlertDetail, AlertPublic, NotePublic
from db.alerts import Subject
from db.scope import Scope
from domain.alert_lifecycle import AlertState
from domain.energy_events import EnergyEventKind
from domain.supervision import AlertKind
from domain.vocabulary import Language

router = APIRouter(prefix="/alerts", tags=["supervision"])


class AlertQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    after: int | None = Field(default=None, description="the `next_after` of the previous page: older alerts follow")
    limit: int = Field(default=100, ge=1, le=1000)
    organisation_id: Text | None = None
    vehicle_id: Text | None = None
    kind: AlertKind | EnergyEventKind | None = None
    subject: Subject | None = Field(
        default=None, description="vehicle: the supervisor's alerts only; institution: energy events only"
    )
    institution_id: Text | None = None
    level: str | None = Field(default=None, pattern="^(yellow|red)$")
    open: bool = Field(default=False, description="only alerts not acknowledged (nor closed) yet")
    since: Moment | None = Field(default=None, description="fix time from (RFC 3339 with offset)")
    state: list[AlertState] = Field(default=[], description="only alerts in these states (repeat it for several)")
    assignee_id: int | None = Field(default=None, description="only alerts given to this user")


class Acknowledgement(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str = Field(min_length=1, max_length=2000, pattern=NO_NUL, description="what was found or done")


class Assignment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    assignee_id: int | None = Field(description="a user of the alert's unit or a supervisor; null: nobody")


class NoteCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=2000, pattern=NO_NUL)


class Closing(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(default=None, min_length=1, max_length=2000, pattern=NO_NUL, description="why, if said")


@router.get("", dependencies=[Depends(require("alerts:read"))], responses=AUTHENTICATED)
async def list_alerts(
    pool: PoolDep, scope: ScopeDep, language: ReaderLanguage, query: Annotated[AlertQuery, Query()]
) -> Page[AlertPublic]:
    """The alerts of the vehicles and institutions (energy events) you may see, newest first; pass `next_after` as
    `after` for older ones. `state` is active_unack, active_ack, cleared_unack, cleared_ack or closed; `level` is the
    severity; `subject` vehicle or institution keeps one of the two. Each `detail` is in the language of
    Accept-Language (zh or en), rendered from its `params`."""
    async with pool.connection() as conn:
        items = await alerts.alerts(
            conn,
            scope,
            before=query.after,
            limit=query.limit,
            filters={
                "organisation_id": query.organisation_id,
                "vehicle_id": query.vehicle_id,
                "institution_id": query.institution_id,
                "kind": query.kind,
                "level": query.level,
                "assignee_id": query.assignee_id,
            },
            open_only=query.open,
            since=query.since,
            states=query.state,
            subject=query.subject,
        )
    return page_of(AlertPublic, [a.told(language) for a in items], query.limit)


@router.get("/{alert_id}", dependencies=[Depends(require("alerts:read"))], responses=responses(401, 403, 404))
async def get_alert(pool: PoolDep, scope: ScopeDep, language: ReaderLanguage, alert_id: int) -> AlertDetail:
    """An alert with its state, assignee and notes; its `detail` in the language of Accept-Language (zh or en)."""
    async with pool.connection() as conn:
        return (await alerts.detail(conn, scope, alert_id)).told(language)


@dataclass(frozen=True, slots=True)
class _Handling:
    """A change of an alert's lifecycle by a user who handles alerts (alerts:write): acknowledge, assign, close."""

    request: Request
    pool: AsyncConnectionPool[AsyncConnection]
    scope: Scope
    user: Principal
    alert_id: int
    language: Language | None

    async def change(self, update: Callable[[AsyncConnection, Scope, int], Awaitable[AlertPublic]]) -> AlertPublic:
        """The alert in the user's scope as `update` leaves it (api/supervision/alerts.py), recorded in the audit
        entry."""
        audit_entry(self.request).resource_ids.append(str(self.alert_id))
        async with self.pool.connection() as conn:
            return (await update(conn, self.scope, self.alert_id)).told(self.language)


async def _handling(
    request: Request,
    pool: PoolDep,
    scope: ScopeDep,
    user: Annotated[Principal, Depends(require("alerts:write"))],
    *,
    language: ReaderLanguage,
    alert_id: int,
) -> _Handling:
    return _Handling(request, pool, scope, user, alert_id, language)


Handling = Annotated[_Handling, Depends(_handling)]


@router.post("/{alert_id}/acknowledge", responses=responses(401, 403, 404, 409, 422))
async def acknowledge_alert(handling: Handling, body: Acknowledgement) -> AlertPublic:
    """Acknowledge an alert with a note (once: 409 when it already was)."""
    return await handling.change(partial(alerts.acknowledge, user_id=handling.user.id, note=body.note))


@router.post("/{alert_id}/assign", responses=responses(401, 403, 404, 409, 422))
async def assign_alert(handling: Handling, body: Assignment) -> AlertPublic:
    """Give an alert to a user of its unit or a supervisor (422 otherwise; 409 when it is closed)."""
    return await handling.change(partial(alerts.assign, assignee_id=body.assignee_id))


@router.post("/{alert_id}/notes", status_code=status.HTTP_201_CREATED, responses=responses(401, 403, 404, 422))
async def add_note(
    request: Request,
    pool: PoolDep,
    scope: ScopeDep,
    user: Annotated[Principal, Depends(require("alerts:read"))],
    *,
    alert_id: int,
    body: NoteCreate,
) -> NotePublic:
    """Append a note (kept with its author and time, never changed): by those who handle alerts, or its assignee."""
    audit_entry(request).resource_ids.append(str(alert_id))
    async with pool.connection() as conn:
        return await alerts.note(conn, scope, alert_id, user=user, text=body.text)


@router.post("/{alert_id}/close", responses=responses(401, 403, 404, 409, 422))
async def close_alert(handling: Handling, body: Closing) -> AlertPublic:
    """Close an alert, with a note if you give one (once: 409 when it already was)."""
    return await handling.change(partial(alerts.close, user_id=handling.user.id, text=body.note))
