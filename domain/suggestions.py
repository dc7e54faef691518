"""Which vehicle to send: the available vehicles ranked for a trip request, with an estimated arrival.

A dispatcher weighs how soon a vehicle can be there against which vehicle it should be. Each candidate gets a
cost in minutes, the lowest first:

- the estimated arrival: great-circle kilometres from its live position to the request's origin, times a detour
  factor for the streets, at an average city speed (no road network here: a ranking, not a navigation);
- plus minutes of preference, each a setting: a vehicle of another unit than the requesting one (the unit's own
  pool first), a fuel vehicle (new-energy first, as the rules want), each seat beyond what the trip needs (no
  bus for one passenger), a vehicle whose terminal is silent (its position is as last reported).

Not candidates at all: vehicles that cannot seat the passengers besides the driver (as dispatch refuses them),
battery-electric vehicles below the minimal charge, and vehicles on a request, in the workshop or retired
(the live map's state says so). Without an origin on the request, distance plays no part.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from domain.geo import distance_m
from domain.vehicles import NEW_ENERGY


@dataclass(frozen=True, slots=True)
class SuggestRules:
    speed_kmh: float = 30.0  # door to door in a Chinese city centre, lights and traffic included
    detour: float = 1.3  # street kilometres per great-circle kilometre, typical of a grid city
    other_unit_minutes: float = 10.0
    fuel_minutes: float = 5.0
    spare_seat_minutes: float = 1.0
    silent_minutes: float = 15.0
    min_soc: float = 20.0  # per cent: below it a battery-electric vehicle is not sent


@dataclass(frozen=True, slots=True)
class Candidate:
    """A vehicle on the map that may be sent, as the map and the registry know it."""

    vehicle_id: str
    plate: str
    organisation_id: str
    seats: int | None
    energy: str
    latitude: float
    longitude: float
    soc: float | None
    online: bool
    age_seconds: float


@dataclass(frozen=True, slots=True)
class Suggestion:
    candidate: Candidate
    distance_km: float | None
    eta_minutes: float | None
    cost_minutes: float
    reasons: tuple[str, ...]  # what raised or lowered its rank, in words


def rank(
    candidates: Iterable[Candidate],
    *,
    origin: tuple[float, float] | None,
    passengers: int,
    organisation_id: str,
    rules: SuggestRules,
) -> list[Suggestion]:
    """The candidates fit for the trip, lowest cost first (ties: nearer, then vehicle id).

    Args:
        origin: (latitude, longitude) where the trip starts, if the request says.
        passengers: besides the driver.
        organisation_id: the requesting unit.
    """
    found = []
    for c in candidates:
        if c.seats is not None and c.seats - 1 < passengers:
            continue
        if c.energy == "battery_electric" and c.soc is not None and c.soc < rules.min_soc:
            continue
        reasons = []
        distance_km = eta = None
        cost = 0.0
        if origin is not None:
            distance_km = distance_m(c.latitude, c.longitude, *origin) / 1000
            eta = distance_km * rules.detour / rules.speed_kmh * 60
            cost += eta
        if c.organisation_id == organisation_id:
            reasons.append("the unit's own vehicle")
        else:
            cost += rules.other_unit_minutes
            reasons.append(f"another unit's vehicle (+{rules.other_unit_minutes:g} min)")
        if c.energy in NEW_ENERGY:
            reasons.append("new energy")
        else:
            cost += rules.fuel_minutes
            reasons.append(f"{c.energy} (+{rules.fuel_minutes:g} min)")
        if c.seats is not None and (spare := c.seats - 1 - passengers) > 0:
            cost += spare * rules.spare_seat_minutes
            reasons.append(f"{spare} seats spare (+{spare * rules.spare_seat_minutes:g} min)")
        if not c.online:
            cost += rules.silent_minutes
            reasons.append(
                f"terminal silent for {c.age_seconds / 60:.0f} min: position as last reported "
                f"(+{rules.silent_minutes:g} min)"
            )
        found.append(Suggestion(c, distance_km, eta, cost, tuple(reasons)))
    found.sort(key=lambda s: (s.cost_minutes, s.distance_km or 0.0, s.candidate.vehicle_id))
    return found
