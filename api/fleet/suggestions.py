"""Dispatch suggestions as the API serves them: a request's candidates from the live map in memory and the
registry, ranked by domain/suggestions.py with the thresholds of the settings."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from psycopg import AsyncConnection
from pydantic import BaseModel, Field

from api.errors import Conflict
from api.fleet import trip_requests
from api.live.feed import LiveFeed
from db import trip_requests as requests_db
from db.scope import Scope
from domain.suggestions import Candidate, SuggestRules, rank
from domain.trip_requests import WAITING_STATES
from yiwang.settings import Settings


class SuggestionPublic(BaseModel):
    vehicle_id: str
    plate: str
    organisation_id: str
    seats: int | None
    energy: str
    state: Literal["available", "offline"] = Field(description="offline: silent; its position is as last reported")
    latitude: float
    longitude: float
    soc: float | None = Field(description="battery charge in per cent, when the terminal reports it")
    age_seconds: float = Field(description="since its last position")
    distance_km: float | None = Field(description="great-circle, from its position to the origin; null: no origin")
    eta_minutes: float | None = Field(description="estimated minutes to the origin; null: the request has no origin")
    cost_minutes: float = Field(description="the arrival plus minutes of preference: lowest first")
    reasons: list[str] = Field(description="what raised or lowered its rank")


class SuggestionList(BaseModel):
    request_id: int
    passengers: int
    origin_known: bool
    items: list[SuggestionPublic]


def suggest_rules(settings: Settings) -> SuggestRules:
    return SuggestRules(
        speed_kmh=settings.suggest_speed_kmh,
        detour=settings.suggest_detour,
        other_unit_minutes=settings.suggest_other_unit_minutes,
        fuel_minutes=settings.suggest_fuel_minutes,
        spare_seat_minutes=settings.suggest_spare_seat_minutes,
        silent_minutes=settings.suggest_silent_minutes,
        min_soc=settings.suggest_min_soc,
    )


async def suggestions(
    conn: AsyncConnection, scope: Scope, request_id: int, feed: LiveFeed, settings: Settings, *, limit: int
) -> SuggestionList:
    """The best `limit` vehicles for a request waiting for one.

    Raises:
        NotFound: there is no request of this id in the scope.
        Conflict: the request is not waiting for a vehicle (already dispatched, rejected, ...).
    """
    found = await trip_requests.request(conn, scope, request_id)
    if found.state not in WAITING_STATES:
        raise Conflict(
            f"request {request_id} is {found.state}: suggestions are for a request waiting for a vehicle "
            "(submitted or approved)"
        )
    idle = {vehicle.vehicle_id: vehicle for vehicle in feed.idle(datetime.now(UTC))}
    # Positions from the map; whether a vehicle is free from the database itself, so that a dispatch or a trip to
    # the workshop committed a moment ago counts even before the map hears of it.
    free = await requests_db.free_vehicles(conn, scope, list(idle))
    candidates = [
        Candidate(
            vehicle_id=vehicle_id,
            plate=(on_map := idle[vehicle_id]).plate,
            organisation_id=on_map.organisation_id,
            seats=seats,
            energy=energy,
            latitude=on_map.latitude,
            longitude=on_map.longitude,
            soc=on_map.soc,
            online=on_map.online,
            age_seconds=on_map.age_seconds,
        )
        for vehicle_id, seats, energy in free
    ]
    origin = found.origin_location
    ranked = rank(
        candidates,
        origin=(origin.latitude, origin.longitude) if origin is not None else None,
        passengers=found.passengers,
        organisation_id=found.organisation_id,
        rules=suggest_rules(settings),
    )
    items = [
        SuggestionPublic(
            vehicle_id=s.candidate.vehicle_id,
            plate=s.candidate.plate,
            organisation_id=s.candidate.organisation_id,
            seats=s.candidate.seats,
            energy=s.candidate.energy,
            state="available" if s.candidate.online else "offline",
            latitude=s.candidate.latitude,
            longitude=s.candidate.longitude,
            soc=s.candidate.soc,
            age_seconds=round(s.candidate.age_seconds, 1),
            distance_km=None if s.distance_km is None else round(s.distance_km, 3),
            eta_minutes=None if s.eta_minutes is None else round(s.eta_minutes, 1),
            cost_minutes=round(s.cost_minutes, 1),
            reasons=list(s.reasons),
        )
        for s in ranked[:limit]
    ]
    return SuggestionList(
        request_id=request_id, passengers=found.passengers, origin_known=origin is not None, items=items
    )
