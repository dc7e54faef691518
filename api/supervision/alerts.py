"""Supervision alerts as the API serves them, within a Scope: listed newest first, read with their notes, and
carried through their lifecycle (domain/alert_lifecycle.py): acknowledged, assigned, noted, closed. Clearing is the
notifier's (their cause ended, judged from data); escalation too."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any, Self

from psycopg import AsyncConnection
from pydantic import BaseModel, Field, computed_field

from api.access.rules import ROLES, Principal, allows
from api.errors import Conflict, Forbidden, NotFound, Refused
from db import alerts as alerts_db
from db.alerts import Subject
from db.scope import Scope
from domain.alert_lifecycle import AlertState, state_of
from domain.energy_events import EnergyEventKind
from domain.supervision import AlertKind, Level
from domain.vocabulary import Language, told


class AlertPublic(BaseModel):
    id: int
    # An alert's subject: a vehicle, or for an energy event (domain/energy_events.py) an institution and its meter.
    vehicle_id: str | None = Field(description="the vehicle; null for an energy event")
    institution_id: str | None = Field(default=None, description="an energy event's institution; null for a vehicle")
    meter_id: str | None = Field(default=None, description="the meter of a meter's energy event (silence, night flow)")
    organisation_id: str
    kind: AlertKind | EnergyEventKind
    level: Level = Field(description="the severity: yellow (a reminder) or red (an alarm)")
    time: datetime = Field(
        description="the fix time judged; for an energy event the start of what was judged (the silent meter's last "
        "reading, the first night of a run, the first day of the days measured)"
    )
    received_at: datetime
    raised_at: datetime
    latitude: float | None
    longitude: float | None
    speed: float | None
    detail: str = Field(
        description="what was found, in the reader's language (Accept-Language: zh or en) when `params` are known"
    )
    acknowledged_at: datetime | None
    acknowledged_by: int | None
    note: str | None = Field(description="the acknowledgement's note (every note is in `notes` of GET /alerts/{id})")
    # The lifecycle (domain/alert_lifecycle.py): none of it yet when an alert is raised.
    cleared_at: datetime | None = Field(default=None, description="when its cause ended (decided from data)")
    cleared_reason: str | None = None
    closed_at: datetime | None = Field(default=None, description="when a person closed it")
    closed_by: int | None = None
    assignee_id: int | None = None
    assigned_at: datetime | None = None
    escalated_at: datetime | None = Field(
        default=None, description="when it was escalated, left unacknowledged too long"
    )
    params: dict[str, Any] | None = Field(
        default=None,
        description="what `detail` says, by name (moved_m, speed, limit...): `detail` is rendered from them in the "
        "reader's language (Accept-Language: zh or en; English when neither is asked); null for an alert raised "
        "before they were kept, whose `detail` is its English text as stored",
    )
    organisation_name: str | None = Field(default=None, description="the name of the unit `organisation_id` is")
    area_names: dict[str, str] | None = Field(
        default=None, description="the names of the areas `params` names by id (area, areas), by id; null: none"
    )

    def told(self, language: Language | None) -> Self:
        """The alert with its `detail` in `language` (domain/vocabulary), its areas by name; as stored when None."""
        detail = told(language, self.kind, self.params, self.detail, self.area_names)
        return self if detail == self.detail else self.model_copy(update={"detail": detail})

    @computed_field(description="active or cleared, acknowledged or not (ThingsBoard's statuses), or closed")  # type: ignore[prop-decorator]
    @property
    def state(self) -> AlertState:
        return state_of(
            acknowledged=self.acknowledged_at is not None,
            cleared=self.cleared_at is not None,
            closed=self.closed_at is not None,
        )


class NotePublic(BaseModel):
    id: int
    alert_id: int
    author_id: int
    created_at: datetime
    text: str


class AlertDetail(AlertPublic):
    notes: list[NotePublic] = Field(description="oldest first; appended, never changed")


async def alerts(
    conn: AsyncConnection,
    scope: Scope,
    *,
    before: int | None,
    limit: int,
    filters: Mapping[str, Any],
    open_only: bool,
    since: datetime | None,
    states: Collection[str] = (),
    subject: Subject | None = None,
) -> list[AlertPublic]:
    """The newest alerts first (ids below `before`), of the organisations in scope (about vehicles or institutions
    only, when `subject` says which)."""
    return await alerts_db.alerts(
        conn,
        scope,
        AlertPublic,
        before=before,
        limit=limit,
        filters=filters,
        open_only=open_only,
        since=since,
        states=states,
        subject=subject,
    )


async def by_ids(conn: AsyncConnection, ids: Collection[int]) -> list[AlertPublic]:
    """These alerts, in id order (whoever may see them is for the caller to decide)."""
    return await alerts_db.by_ids(conn, AlertPublic, ids)


async def detail(conn: AsyncConnection, scope: Scope, alert_id: int) -> AlertDetail:
    """An alert in scope with its notes.

    Raises:
        NotFound: there is no such alert in scope.
    """
    found = await alerts_db.one(conn, scope, AlertPublic, alert_id)
    if found is None:
        raise NotFound(f"no alert {alert_id}")
    notes = [NotePublic(**n) for n in await alerts_db.notes(conn, alert_id)]
    return AlertDetail(**found.model_dump(exclude={"state"}), notes=notes)


async def _locked(conn: AsyncConnection, scope: Scope, alert_id: int, *, open_needed: bool = True) -> AlertPublic:
    found = await alerts_db.one(conn, scope, AlertPublic, alert_id, lock=True)
    if found is None:
        raise NotFound(f"no alert {alert_id}")
    if open_needed and found.closed_at is not None:
        raise Conflict(f"alert {alert_id} was closed at {found.closed_at.isoformat()} by user {found.closed_by}")
    return found


async def acknowledge(conn: AsyncConnection, scope: Scope, alert_id: int, *, user_id: int, note: str) -> AlertPublic:
    """Acknowledge an alert in scope with a note (a cleared alert too: acknowledged and cleared are independent).

    Raises:
        NotFound: there is no such alert in scope.
        Conflict: it was acknowledged before (by whom and when is in the alert), or closed.
    """
    async with conn.transaction():
        found = await _locked(conn, scope, alert_id)
        if found.acknowledged_at is not None:
            raise Conflict(
                f"alert {alert_id} was acknowledged at {found.acknowledged_at.isoformat()} by user "
                f"{found.acknowledged_by}"
            )
        return await alerts_db.acknowledge(conn, AlertPublic, alert_id, user_id=user_id, note=note)


async def assign(conn: AsyncConnection, scope: Scope, alert_id: int, *, assignee_id: int | None) -> AlertPublic:
    """Give an alert in scope to a user of its unit or a supervisor (None: to nobody).

    Raises:
        NotFound: there is no such alert in scope.
        Conflict: it is closed.
        Refused: the user is not enabled, or neither of the alert's unit nor a supervisor (a role that sees every
            unit's alerts).
    """
    async with conn.transaction():
        found = await _locked(conn, scope, alert_id)
        if assignee_id is not None:
            seen = await alerts_db.user_sees(conn, assignee_id, found.organisation_id)
            if seen is None:
                raise Refused(f"no enabled user {assignee_id}")
            role, of_unit = seen
            assert role in ROLES  # the table's CHECK
            if not allows(role, "alerts:read") or (role == "unit_user" and not of_unit):
                raise Refused(
                    f"user {assignee_id} ({role}) may not take alert {alert_id}: give it to a user of unit "
                    f"{found.organisation_id} or to a supervisor (admin, dispatcher, auditor)"
                )
        return await alerts_db.assign(conn, AlertPublic, alert_id, assignee_id=assignee_id)


async def note(conn: AsyncConnection, scope: Scope, alert_id: int, *, user: Principal, text: str) -> NotePublic:
    """Append a note to an alert in scope: by a user who may handle alerts, or by its assignee.

    Raises:
        NotFound: there is no such alert in scope.
        Forbidden: the user may neither handle alerts nor is its assignee.
    """
    async with conn.transaction():
        found = await _locked(conn, scope, alert_id, open_needed=False)
        if not allows(user.role, "alerts:write") and found.assignee_id != user.id:
            raise Forbidden(f"only those who handle alerts, or alert {alert_id}'s assignee, may add a note")
        return NotePublic(**await alerts_db.add_note(conn, alert_id, author_id=user.id, text=text))


async def close(conn: AsyncConnection, scope: Scope, alert_id: int, *, user_id: int, text: str | None) -> AlertPublic:
    """Close an alert in scope, with an optional note.

    Raises:
        NotFound: there is no such alert in scope.
        Conflict: it was closed before.
    """
    async with conn.transaction():
        await _locked(conn, scope, alert_id)
        if text:
            await alerts_db.add_note(conn, alert_id, author_id=user_id, text=text)
        return await alerts_db.close(conn, AlertPublic, alert_id, user_id=user_id)
