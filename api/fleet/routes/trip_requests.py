"""Trip requests (用车申请): a unit submits, the dispatch centre approves or rejects and dispatches a vehicle and a
driver, the trip departs and returns, and the unit evaluates it. Every step is checked against the role and the
request's state (api/fleet/trip_requests.py) and kept in the request's history."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, status
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool
from pydantic import BaseModel, ConfigDict, Field

from api.access.audit import AuditEntry, audit_entry
from api.access.rules import Principal
from api.deps import CurrentUser, LiveDep, PoolDep, ScopeDep, SettingsDep, require
from api.errors import AUTHENTICATED, responses
from api.fields import BIGINT_MAX, Text
from api.fleet import suggestions, trip_requests
from api.fleet.suggestions import SuggestionList
from api.fleet.trip_requests import (
    PERMISSION,
    Approval,
    DispatchOrder,
    Evaluation,
    OdometerReading,
    Reason,
    RequestCreate,
    TripRequestDetail,
    TripRequestPublic,
)
from api.paging import Page
from db.scope import Scope
from domain.trip_requests import Action, State

router = APIRouter(prefix="/requests", tags=["requests"])

RequestId = Annotated[int, Path(ge=1, le=BIGINT_MAX)]
# 404: not among those you may see; 409: not from the request's state (or the vehicle, driver or odometer conflict).
_STEP = responses(401, 403, 404, 409, 422)


class RequestQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    after: int | None = Field(default=None, ge=0, le=BIGINT_MAX, description="the `next_after` of the previous page")
    limit: int = Field(default=100, ge=1, le=1000, description="at most this many items")
    state: State | None = None
    organisation_id: Text | None = None


@dataclass(frozen=True, slots=True)
class Actor:
    """Who takes a step on a request, with what they need for it: the pool, their scope and the audit entry."""

    user: Principal
    scope: Scope
    pool: AsyncConnectionPool[AsyncConnection]
    entry: AuditEntry

    async def take(self, step: Callable[[AsyncConnection], Awaitable[TripRequestDetail]]) -> TripRequestDetail:
        """Take a step in a connection of its own."""
        async with self.pool.connection() as conn:
            return await step(conn)


async def _actor(request: Request, pool: PoolDep, scope: ScopeDep, user: CurrentUser) -> Actor:
    return Actor(user, scope, pool, audit_entry(request))


# The route states the permission (`_may`), which runs before the Actor is made; the step checks it again.
ActorDep = Annotated[Actor, Depends(_actor)]


def _may(action: Action) -> list[Any]:
    """The `dependencies=` of the route of `action`: the permission the state table gives it."""
    return [Depends(require(PERMISSION[action]))]


@router.get("", dependencies=[Depends(require("requests:read"))], responses=AUTHENTICATED)
async def list_requests(
    pool: PoolDep, scope: ScopeDep, query: Annotated[RequestQuery, Query()]
) -> Page[TripRequestPublic]:
    """The requests you may see, oldest first, optionally in one state (the dispatch queue: state=submitted) or of
    one organisation."""
    async with pool.connection() as conn:
        return await trip_requests.requests(
            conn, scope, after=query.after, limit=query.limit, state=query.state, organisation_id=query.organisation_id
        )


@router.get("/{request_id}", dependencies=[Depends(require("requests:read"))], responses=responses(401, 403, 404))
async def get_request(pool: PoolDep, scope: ScopeDep, request_id: RequestId) -> TripRequestDetail:
    """One request with its history (who took each step, and when); 404 when there is none of this id among those
    you may see."""
    async with pool.connection() as conn:
        return await trip_requests.request(conn, scope, request_id)


@router.get(
    "/{request_id}/suggestions",
    dependencies=[Depends(require("requests:dispatch"))],
    responses=responses(401, 403, 404, 409, 422),
)
async def suggest_vehicles(
    live: LiveDep,
    pool: PoolDep,
    scope: ScopeDep,
    settings: SettingsDep,
    *,
    request_id: RequestId,
    limit: Annotated[int, Query(ge=1, le=100, description="at most this many vehicles")] = 10,
) -> SuggestionList:
    """The vehicles to send for a request waiting for one, best first: available (or silent) vehicles that seat
    the passengers, ranked by estimated arrival at the origin plus minutes of preference (the unit's own vehicles,
    new energy, no seats to spare, a reporting terminal), each with the reasons. 409 when the request is not
    waiting for a vehicle."""
    feed = await live.current()
    async with pool.connection() as conn:
        return await suggestions.suggestions(conn, scope, request_id, feed, settings, limit=limit)


@router.post("", status_code=status.HTTP_201_CREATED, dependencies=_may("submit"), responses=responses(401, 403, 422))
async def submit_request(actor: ActorDep, body: RequestCreate) -> TripRequestDetail:
    """Submit a trip request for a unit of yours; 422 when the organisation is not one you may see or the times are
    not in order."""
    actor.entry.params = body.model_dump(mode="json")
    created = await actor.take(lambda conn: trip_requests.submit(conn, actor.user, actor.scope, body))
    actor.entry.resource_ids.append(str(created.id))
    return created


@router.post("/{request_id}/approve", dependencies=_may("approve"), responses=_STEP)
async def approve_request(actor: ActorDep, request_id: RequestId, body: Approval | None = None) -> TripRequestDetail:
    """Approve a submitted request (409 from any other state)."""
    note = body.note if body else None
    actor.entry.params = {"note": note}
    return await actor.take(lambda conn: trip_requests.approve(conn, actor.user, actor.scope, request_id, note))


@router.post("/{request_id}/reject", dependencies=_may("reject"), responses=_STEP)
async def reject_request(actor: ActorDep, request_id: RequestId, body: Reason) -> TripRequestDetail:
    """Reject a submitted or approved request, saying why (409 from any other state)."""
    actor.entry.params = body.model_dump(mode="json")
    return await actor.take(lambda conn: trip_requests.reject(conn, actor.user, actor.scope, request_id, body.note))


@router.post("/{request_id}/dispatch", dependencies=_may("dispatch"), responses=_STEP)
async def dispatch_request(actor: ActorDep, request_id: RequestId, body: DispatchOrder) -> TripRequestDetail:
    """Assign a vehicle and a driver to an approved request (派车): 409 when the request is not approved, or the
    vehicle (active, enough seats, on no other open request) or the driver (active, on no other open request) is not
    available; 422 when there is no such vehicle or driver."""
    actor.entry.resource_ids += [body.vehicle_id, str(body.driver_id)]
    actor.entry.params = body.model_dump(mode="json")
    return await actor.take(lambda conn: trip_requests.dispatch(conn, actor.user, actor.scope, request_id, body))


@router.post("/{request_id}/depart", dependencies=_may("depart"), responses=_STEP)
async def depart_request(
    actor: ActorDep, request_id: RequestId, body: OdometerReading | None = None
) -> TripRequestDetail:
    """Record that a dispatched request's vehicle has left (出车), with the odometer if read (409 from any other
    state)."""
    reading = body or OdometerReading()
    actor.entry.params = reading.model_dump(mode="json")
    return await actor.take(lambda conn: trip_requests.depart(conn, actor.user, actor.scope, request_id, reading))


@router.post("/{request_id}/return", dependencies=_may("return"), responses=_STEP)
async def return_request(
    actor: ActorDep, request_id: RequestId, body: OdometerReading | None = None
) -> TripRequestDetail:
    """Record that a request's vehicle is back (还车), with the odometer if read: the vehicle and driver are free
    again. 409 when it is not under way, or the odometer is below its reading at departure."""
    reading = body or OdometerReading()
    actor.entry.params = reading.model_dump(mode="json")
    return await actor.take(lambda conn: trip_requests.return_(conn, actor.user, actor.scope, request_id, reading))


@router.post("/{request_id}/cancel", dependencies=_may("cancel"), responses=_STEP)
async def cancel_request(actor: ActorDep, request_id: RequestId, body: Reason) -> TripRequestDetail:
    """Cancel a request of your unit before it departs, saying why (409 once under way or closed)."""
    actor.entry.params = body.model_dump(mode="json")
    return await actor.take(lambda conn: trip_requests.cancel(conn, actor.user, actor.scope, request_id, body.note))


@router.post("/{request_id}/evaluate", dependencies=_may("evaluate"), responses=_STEP)
async def evaluate_request(actor: ActorDep, request_id: RequestId, body: Evaluation) -> TripRequestDetail:
    """Evaluate a returned request of your unit, once: a score from 1 to 5 and a note (409 from any other state)."""
    actor.entry.params = body.model_dump(mode="json")
    return await actor.take(lambda conn: trip_requests.evaluate(conn, actor.user, actor.scope, request_id, body))
