"""A vehicle's history as the API serves it: the cleaned track as GeoJSON with its stops, and its trips.

The rules live in domain/track.py and domain/trips.py (pure functions); this module reads the fixes within a
Scope (db/tracks.py: packed hours and the rest) with the rules' thresholds from the settings.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import numpy as np
import orjson
from psycopg import AsyncConnection
from pydantic import BaseModel, Field

from api.errors import NotFound
from db import registry, tracks
from db.scope import Scope
from domain import track, trips
from domain.track import Columns, TrackRules
from domain.trips import Derived
from yiwang.settings import Settings


class LineString(BaseModel):
    type: Literal["LineString"] = "LineString"
    coordinates: list[tuple[float, float]] = Field(description="[longitude, latitude] (WGS-84, as received)")


class TrackProperties(BaseModel):
    vehicle_id: str
    times: list[datetime] = Field(description="the fix time of each coordinate, for replay")
    speeds: list[float | None] = Field(description="km/h at each coordinate, as reported (null: none reported)")
    fixes: int = Field(description="fixes in the range, before cleaning")
    kept: int = Field(description="fixes that passed the rules (before simplification)")
    dropped: dict[str, int] = Field(
        description="fixes left out, per rule: invalid, zero, future, duplicate, speed_jump"
    )
    simplified_m: float = Field(description="Douglas-Peucker tolerance applied (0: none)")
    distance_km: float = Field(description="along the kept fixes")


class TrackFeature(BaseModel):
    type: Literal["Feature"] = "Feature"
    geometry: LineString
    properties: TrackProperties


class StopPoint(BaseModel):
    type: Literal["Point"] = "Point"
    coordinates: tuple[float, float]


class StopProperties(BaseModel):
    kind: Literal["stop"] = "stop"
    start: datetime
    end: datetime
    seconds: float


class StopFeature(BaseModel):
    type: Literal["Feature"] = "Feature"
    geometry: StopPoint
    properties: StopProperties


class Track(BaseModel):
    """A FeatureCollection: the track's LineString first, then a Point per stop."""

    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[TrackFeature | StopFeature]


class TripPublic(BaseModel):
    start_time: datetime
    end_time: datetime
    start: tuple[float, float] = Field(description="[longitude, latitude]")
    end: tuple[float, float] = Field(description="[longitude, latitude]")
    distance_km: float
    distance_source: Literal["odometer", "track"]
    max_speed: float = Field(description="km/h, the highest of its fixes (derived from motion where `derived` says)")
    fixes: int
    derived: list[Derived] = Field(
        description="what of the trip came from motion between fixes rather than from the terminal: speed (moving "
        "judged from displacement where none was reported, or where a reported standstill is belied by the fixes "
        "leaving YIWANG_TRACK_STOP_RADIUS_M of where the vehicle stood), ignition (none reported: the trip is "
        "bounded by motion and stops), "
        "odometer (the distance is the track's); empty: all as reported"
    )


class TripList(BaseModel):
    vehicle_id: str
    start: datetime
    end: datetime
    trips: list[TripPublic]
    distance_km: float


async def fixes(conn: AsyncConnection, scope: Scope, vehicle_id: str, start: datetime, end: datetime) -> Columns:
    """A vehicle's fixes with start <= time < end, in time order, as arrays.

    Raises:
        NotFound: there is no vehicle of this id in the scope.
    """
    if not await registry.vehicle_in_scope(conn, scope, vehicle_id):
        raise NotFound(f"no vehicle {vehicle_id}")
    return await tracks.read(conn, vehicle_id, start, end)


def shaped(vehicle_id: str, raw: Columns, rules: TrackRules, tolerance_m: float) -> bytes:
    """The track as `Track`'s JSON, written by orjson straight from the arrays: a day is 8,640 coordinates, times
    and speeds, which pydantic would take many times as long to write (the route states `Track` as its model)."""
    cleaned = track.clean_columns(raw, rules)
    kept = cleaned.kept
    found = track.stops_in(kept, rules)
    shown = Columns.of(vehicle_id, track.simplify(kept.fixes(), tolerance_m, found)) if tolerance_m > 0 else kept
    line = {
        "type": "Feature",
        "geometry": {"type": "LineString", "coordinates": np.column_stack((shown.longitude, shown.latitude))},
        "properties": {
            "vehicle_id": vehicle_id,
            "times": shown.time.astype("datetime64[us]"),
            "speeds": shown.speed,
            "fixes": len(raw),
            "kept": len(kept),
            "dropped": {reason.value: n for reason, n in cleaned.reasons.items()},
            "simplified_m": tolerance_m,
            "distance_km": round(cleaned.distance_m / 1000, 3),
        },
    }
    stop_features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": (s.longitude, s.latitude)},
            "properties": {
                "kind": "stop",
                "start": s.start,
                "end": s.end,
                "seconds": (s.end - s.start).total_seconds(),
            },
        }
        for s in found
    ]
    # Times in UTC with Z, as pydantic writes the API's other answers; the arrays as JSON arrays.
    return orjson.dumps(
        {"type": "FeatureCollection", "features": [line, *stop_features]},
        option=orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC | orjson.OPT_SERIALIZE_NUMPY,
    )


def trip_list(vehicle_id: str, start: datetime, end: datetime, raw: Columns, settings: Settings) -> TripList:
    kept = track.clean(raw.fixes(), settings.track_rules).kept
    found = trips.trips(kept, settings.trip_rules)
    return TripList(
        vehicle_id=vehicle_id,
        start=start,
        end=end,
        trips=[
            TripPublic(
                start_time=t.start_time,
                end_time=t.end_time,
                start=(t.start_longitude, t.start_latitude),
                end=(t.end_longitude, t.end_latitude),
                distance_km=round(t.distance_km, 3),
                distance_source=t.distance_source,
                max_speed=t.max_speed,
                fixes=t.fix_count,
                derived=list(t.derived),
            )
            for t in found
        ],
        distance_km=round(sum(t.distance_km for t in found), 3),
    )
