"""Trip requests (用车申请) through the API: each step taken in one transaction with who and when.

A request goes submitted → approved or rejected → dispatched (a vehicle and a driver, 派车) → under way (出车) →
returned (还车) → evaluated, and may be cancelled until it departs: domain/trip_requests.py holds the state machine,
`PERMISSION` which permission each action needs. A step locks the request, checks the user's role and the request's
state, changes it and appends the event (who, when, from, to) in one transaction; the database keeps each vehicle
and each driver on at most one open request (db/migrations/0010_dispatch.sql).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any, Final

import psycopg
from psycopg import AsyncConnection
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from api.access.rules import Permission, Principal, allows
from api.errors import Conflict, Forbidden, NotFound, Refused
from api.fields import NO_NUL, RowId, Text
from api.paging import Page, page_of
from db import trip_requests as requests_db
from db.scope import Scope
from db.table import page
from db.trip_requests import TRIP_REQUESTS
from domain.trip_requests import START, Action, State, next_state, refusal

# What each action needs: the unit asks, cancels and evaluates its own requests (the Scope limits which);
# the dispatch centre decides, dispatches and records the trip.
PERMISSION: Final[dict[Action, Permission]] = {
    "submit": "requests:submit",
    "approve": "requests:dispatch",
    "reject": "requests:dispatch",
    "dispatch": "requests:dispatch",
    "depart": "requests:dispatch",
    "return": "requests:dispatch",
    "cancel": "requests:submit",
    "evaluate": "requests:submit",
}


# ---------------------------------------------------------------------------------------------------------------
# What comes in

_EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
_LATEST = datetime(2100, 1, 1, tzinfo=UTC)
Note = Annotated[str, Field(min_length=1, max_length=1000, pattern=NO_NUL)]
Place = Annotated[str, Field(min_length=1, max_length=200, pattern=NO_NUL)]
Odometer = Annotated[float, Field(ge=0, le=10_000_000, description="the odometer reading in km")]


class Location(BaseModel):
    """A point in WGS-84 degrees (as GNSS gives it)."""

    model_config = ConfigDict(extra="forbid")

    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)


class RequestCreate(BaseModel):
    """A trip request of a unit you belong to: what for, how many, from where to where, and when."""

    model_config = ConfigDict(extra="forbid")

    organisation_id: Text = Field(description="the requesting unit (one of yours)")
    purpose: str = Field(min_length=1, max_length=500, pattern=NO_NUL, description="用车事由")
    passengers: int = Field(ge=1, le=60)
    origin: Place
    origin_location: Location | None = None
    destination: Place
    destination_location: Location | None = None
    wanted_start: AwareDatetime = Field(description="RFC 3339 with offset, between 2000 and 2100")
    wanted_end: AwareDatetime = Field(description="after wanted_start")

    @model_validator(mode="after")
    def _times(self) -> RequestCreate:
        if not (_EARLIEST <= self.wanted_start < _LATEST and _EARLIEST <= self.wanted_end < _LATEST):
            raise ValueError("wanted_start and wanted_end must be between 2000 and 2100")
        if self.wanted_end <= self.wanted_start:
            raise ValueError("wanted_end must be after wanted_start")
        return self


class Approval(BaseModel):
    """Approving a request (审批), with an optional note the requesting unit reads."""

    model_config = ConfigDict(extra="forbid")

    note: Note | None = None


class Reason(BaseModel):
    """Why a request is rejected or cancelled: the requesting unit reads it."""

    model_config = ConfigDict(extra="forbid")

    note: Note


class DispatchOrder(BaseModel):
    """The vehicle and the driver assigned to an approved request (派车)."""

    model_config = ConfigDict(extra="forbid")

    vehicle_id: Text
    driver_id: RowId
    note: Note | None = None


class OdometerReading(BaseModel):
    """The odometer at departure (出车) or return (还车), if read at the car."""

    model_config = ConfigDict(extra="forbid")

    odometer_km: Odometer | None = None
    note: Note | None = None


class Evaluation(BaseModel):
    """The unit's evaluation of a returned trip: 1 (poor) to 5 (excellent)."""

    model_config = ConfigDict(extra="forbid")

    score: int = Field(ge=1, le=5)
    note: Note | None = None


# ---------------------------------------------------------------------------------------------------------------
# What goes out


class TripRequestPublic(BaseModel):
    id: int
    organisation_id: str
    organisation_name: str = Field(description="the name of the unit `organisation_id` is")
    requested_by: int = Field(description="the user who submitted it")
    requested_by_name: str
    purpose: str
    passengers: int
    origin: str
    origin_location: Location | None
    destination: str
    destination_location: Location | None
    wanted_start: datetime
    wanted_end: datetime
    state: State
    vehicle_id: str | None
    vehicle_plate: str | None
    driver_id: int | None
    driver_name: str | None
    driver_phone: str | None
    submitted_at: datetime
    approved_at: datetime | None
    rejected_at: datetime | None
    dispatched_at: datetime | None
    departed_at: datetime | None
    returned_at: datetime | None
    cancelled_at: datetime | None
    evaluated_at: datetime | None
    departure_odometer_km: float | None
    return_odometer_km: float | None
    evaluation_score: int | None
    evaluation_note: str | None


class TripEvent(BaseModel):
    """One step of a request: who took it, when, and from which state to which (null: the submission)."""

    id: int
    action: Action
    from_state: State | None
    to_state: State
    user_id: int
    user_name: str
    at: datetime
    note: str | None
    details: dict[str, Any] = Field(
        description="what the step set: vehicle_id and driver_id, departure_odometer_km, return_odometer_km, "
        "evaluation_score"
    )


class TripRequestDetail(TripRequestPublic):
    """A request with its history, oldest step first."""

    history: list[TripEvent]


# ---------------------------------------------------------------------------------------------------------------
# Reads


def _location(latitude: float | None, longitude: float | None) -> Location | None:
    return None if latitude is None or longitude is None else Location(latitude=latitude, longitude=longitude)


def _coordinates(location: Location | None) -> tuple[float | None, float | None]:
    return (None, None) if location is None else (location.latitude, location.longitude)


def _public(row: dict[str, Any]) -> TripRequestPublic:
    origin = _location(row.pop("origin_latitude"), row.pop("origin_longitude"))
    destination = _location(row.pop("destination_latitude"), row.pop("destination_longitude"))
    return TripRequestPublic(**row, origin_location=origin, destination_location=destination)


async def requests(
    conn: AsyncConnection,
    scope: Scope,
    *,
    after: int | None,
    limit: int,
    state: State | None = None,
    organisation_id: str | None = None,
) -> Page[TripRequestPublic]:
    """The requests of the organisations in the scope, oldest first (a queue), optionally in one state or of one
    organisation."""
    filters = {"r.state": state, "r.organisation_id": organisation_id}
    rows = await page(conn, TRIP_REQUESTS, scope, dict, after=after, limit=limit, filters=filters)
    items = [_public(row) for row in rows]
    return page_of(TripRequestPublic, items, limit)


async def request(conn: AsyncConnection, scope: Scope, request_id: int) -> TripRequestDetail:
    """One request with its history.

    Raises:
        NotFound: there is no request of this id in the scope.
    """
    row = await requests_db.request(conn, scope, request_id)
    if row is None:
        raise NotFound(f"no request {request_id}")
    history = [TripEvent(**event) for event in await requests_db.history(conn, request_id)]
    return TripRequestDetail(**_public(row).model_dump(), history=history)


# ---------------------------------------------------------------------------------------------------------------
# Steps: each in one transaction; a request the user may not see is one that does not exist (NotFound).


def _permitted(user: Principal, action: Action) -> None:
    permission = PERMISSION[action]
    if not allows(user.role, permission):
        raise Forbidden(f"the role {user.role} does not have the permission {permission}")


@dataclass(frozen=True, slots=True)
class _Step:
    """What a step records: its action and note, the columns it sets, and the event's details (default: those)."""

    action: Action
    note: str | None
    changes: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] | None = None


async def _record(
    conn: AsyncConnection, request_id: int, step: _Step, *, from_state: State | None, to_state: State, user: Principal
) -> None:
    details: Mapping[str, object] = step.changes if step.details is None else step.details
    await requests_db.record(
        conn,
        request_id=request_id,
        action=step.action,
        from_state=from_state,
        to_state=to_state,
        user_id=user.id,
        note=step.note,
        details=details,
    )


async def submit(conn: AsyncConnection, user: Principal, scope: Scope, item: RequestCreate) -> TripRequestDetail:
    """Submit a request for a unit in the scope; it starts submitted, its first event the submission.

    Raises:
        Forbidden: the user's role may not submit.
        Refused: the organisation does not exist or is not in the scope.
    """
    _permitted(user, "submit")
    origin_latitude, origin_longitude = _coordinates(item.origin_location)
    destination_latitude, destination_longitude = _coordinates(item.destination_location)
    columns = {
        "requested_by": user.id,
        "purpose": item.purpose,
        "passengers": item.passengers,
        "origin": item.origin,
        "origin_latitude": origin_latitude,
        "origin_longitude": origin_longitude,
        "destination": item.destination,
        "destination_latitude": destination_latitude,
        "destination_longitude": destination_longitude,
        "wanted_start": item.wanted_start,
        "wanted_end": item.wanted_end,
        "state": START,
    }
    async with conn.transaction():
        request_id = await requests_db.insert(conn, scope, item.organisation_id, columns)
        if request_id is None:
            raise Refused(
                f"no organisation {item.organisation_id}: give the id of a unit of yours (GET /organisations)"
            )
        await _record(conn, request_id, _Step("submit", None), from_state=None, to_state=START, user=user)
    return await request(conn, scope, request_id)


async def _lock(conn: AsyncConnection, scope: Scope, request_id: int) -> dict[str, Any]:
    # The request's row, locked until the transaction ends: steps on one request take turns.
    current = await requests_db.lock(conn, scope, request_id)
    if current is None:
        raise NotFound(f"no request {request_id}")
    return current


def _target(current: dict[str, Any], action: Action) -> State:
    state: State = current["state"]
    target = next_state(state, action)
    if target is None:
        raise Conflict(refusal(current["id"], state, action))
    return target


async def _advance(conn: AsyncConnection, user: Principal, current: dict[str, Any], target: State, step: _Step) -> None:
    # The row's state, the time of the step and what it sets; then the event, at the same now().
    await requests_db.advance(conn, current["id"], step.action, target, step.changes)
    await _record(conn, current["id"], step, from_state=current["state"], to_state=target, user=user)


async def _step(
    conn: AsyncConnection, user: Principal, scope: Scope, request_id: int, step: _Step
) -> TripRequestDetail:
    _permitted(user, step.action)
    async with conn.transaction():
        current = await _lock(conn, scope, request_id)
        await _advance(conn, user, current, _target(current, step.action), step)
    return await request(conn, scope, request_id)


async def approve(
    conn: AsyncConnection, user: Principal, scope: Scope, request_id: int, note: str | None
) -> TripRequestDetail:
    """Approve a submitted request.

    Raises:
        Forbidden: the user's role may not approve.
        NotFound: there is no such request in the scope.
        Conflict: the request is not submitted.
    """
    return await _step(conn, user, scope, request_id, _Step("approve", note))


async def reject(conn: AsyncConnection, user: Principal, scope: Scope, request_id: int, note: str) -> TripRequestDetail:
    """Reject a submitted or approved request, saying why.

    Raises:
        Forbidden: the user's role may not reject.
        NotFound: there is no such request in the scope.
        Conflict: the request is neither submitted nor approved.
    """
    return await _step(conn, user, scope, request_id, _Step("reject", note))


async def cancel(conn: AsyncConnection, user: Principal, scope: Scope, request_id: int, note: str) -> TripRequestDetail:
    """Cancel a request of one's unit before it departs, saying why; a dispatched vehicle and driver are free again.

    Raises:
        Forbidden: the user's role may not cancel.
        NotFound: there is no such request in the scope.
        Conflict: the request has departed, or is closed.
    """
    return await _step(conn, user, scope, request_id, _Step("cancel", note))


async def depart(
    conn: AsyncConnection, user: Principal, scope: Scope, request_id: int, reading: OdometerReading
) -> TripRequestDetail:
    """Record that a dispatched request's vehicle has left (出车), with its odometer if read.

    Raises:
        Forbidden: the user's role may not record departures.
        NotFound: there is no such request in the scope.
        Conflict: the request is not dispatched.
    """
    changes = {} if reading.odometer_km is None else {"departure_odometer_km": reading.odometer_km}
    return await _step(conn, user, scope, request_id, _Step("depart", reading.note, changes))


async def return_(
    conn: AsyncConnection, user: Principal, scope: Scope, request_id: int, reading: OdometerReading
) -> TripRequestDetail:
    """Record that a request's vehicle is back (还车), with its odometer if read; the vehicle and driver are free.

    Raises:
        Forbidden: the user's role may not record returns.
        NotFound: there is no such request in the scope.
        Conflict: the request is not under way, or the odometer is below its reading at departure.
    """
    _permitted(user, "return")
    async with conn.transaction():
        current = await _lock(conn, scope, request_id)
        target = _target(current, "return")
        changes: dict[str, Any] = {}
        if reading.odometer_km is not None:
            departed = current["departure_odometer_km"]
            if departed is not None and reading.odometer_km < departed:
                raise Conflict(
                    f"the odometer at return ({reading.odometer_km} km) is below its reading at departure "
                    f"({departed} km): check the reading"
                )
            changes["return_odometer_km"] = reading.odometer_km
        await _advance(conn, user, current, target, _Step("return", reading.note, changes))
    return await request(conn, scope, request_id)


async def evaluate(
    conn: AsyncConnection, user: Principal, scope: Scope, request_id: int, evaluation: Evaluation
) -> TripRequestDetail:
    """Evaluate a returned request of one's unit, once.

    Raises:
        Forbidden: the user's role may not evaluate.
        NotFound: there is no such request in the scope.
        Conflict: the request is not returned (or is evaluated already).
    """
    changes = {"evaluation_score": evaluation.score, "evaluation_note": evaluation.note}
    details = {"evaluation_score": evaluation.score}  # its note is the event's
    return await _step(conn, user, scope, request_id, _Step("evaluate", evaluation.note, changes, details))


async def dispatch(
    conn: AsyncConnection, user: Principal, scope: Scope, request_id: int, order: DispatchOrder
) -> TripRequestDetail:
    """Assign a vehicle and a driver to an approved request (派车).

    The vehicle must be active (not in maintenance or retired), seat the passengers besides the driver when its
    seats are known, and be on no other open request; the driver must be active and on no other open request.

    Raises:
        Forbidden: the user's role may not dispatch.
        NotFound: there is no such request in the scope.
        Conflict: the request is not approved, or the vehicle or driver is not available.
        Refused: no such vehicle or driver among those the user may see.
    """
    _permitted(user, "dispatch")
    async with conn.transaction():
        current = await _lock(conn, scope, request_id)
        target = _target(current, "dispatch")
        # Vehicle, then driver, each locked: two dispatches of one vehicle or driver take turns, and the second
        # sees the first's open request (the unique indexes stand behind this).
        await _vehicle_available(conn, scope, order.vehicle_id, current["passengers"])
        await _driver_available(conn, scope, order.driver_id)
        changes = {"vehicle_id": order.vehicle_id, "driver_id": order.driver_id}
        try:
            await _advance(conn, user, current, target, _Step("dispatch", order.note, changes))
        except psycopg.errors.UniqueViolation as exc:
            raise Conflict(
                f"vehicle {order.vehicle_id} or driver {order.driver_id} was just dispatched to another request: "
                "choose another"
            ) from exc
    return await request(conn, scope, request_id)


async def _vehicle_available(conn: AsyncConnection, scope: Scope, vehicle_id: str, passengers: int) -> None:
    found = await requests_db.lock_vehicle(conn, scope, vehicle_id)
    if found is None:
        raise Refused(f"no vehicle {vehicle_id}: give the id of a vehicle (GET /vehicles)")
    plate, lifecycle, seats = found
    if lifecycle != "active":
        raise Conflict(f"vehicle {vehicle_id} ({plate}) is in {lifecycle}: choose an available one")
    if seats is not None and seats - 1 < passengers:
        raise Conflict(
            f"vehicle {vehicle_id} ({plate}) has {seats} seats: too few for {passengers} passengers and the driver"
        )
    open_request = (await requests_db.open_requests(conn, "vehicle_id", [vehicle_id])).get(vehicle_id)
    if open_request is not None:
        raise Conflict(
            f"vehicle {vehicle_id} ({plate}) is on request {open_request[0]}: choose another, or return that one first"
        )


async def _driver_available(conn: AsyncConnection, scope: Scope, driver_id: int) -> None:
    found = await requests_db.lock_driver(conn, scope, driver_id)
    if found is None:
        raise Refused(f"no driver {driver_id}: give the id of a driver (GET /drivers)")
    name, active = found
    if not active:
        raise Conflict(f"driver {driver_id} ({name}) is not active: choose another")
    open_request = (await requests_db.open_requests(conn, "driver_id", [driver_id])).get(driver_id)
    if open_request is not None:
        raise Conflict(
            f"driver {driver_id} ({name}) is on request {open_request[0]}: choose another, or return that one first"
        )
