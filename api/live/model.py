"""The live map as the API documents it: GeoJSON features of vehicles with their state (api/live/feed.py writes
them)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from domain.vehicles import LiveState


class Point(BaseModel):
    type: Literal["Point"] = "Point"
    # GeoJSON order: longitude, latitude (WGS-84, as the terminals send), to 1e-6 degree (some 0.1 m)
    coordinates: tuple[float, float]


class LiveProperties(BaseModel):
    vehicle_id: str
    plate: str
    organisation_id: str
    time: datetime  # the fix time
    speed: float | None  # km/h; None: the terminal reports none
    heading: float | None
    ignition: bool | None
    soc: float | None
    fuel: float | None
    age_seconds: float  # since the fix, when the map was asked for
    online: bool  # reported within YIWANG_VEHICLE_OFFLINE_SECONDS
    state: LiveState  # maintenance first, then offline, then in_service, dispatched or available
    request_id: int | None  # its open (dispatched or under way) trip request
    driver_id: int | None  # the driver of that request


class LiveFeature(BaseModel):
    type: Literal["Feature"] = "Feature"
    id: str
    geometry: Point
    properties: LiveProperties


class LiveCollection(BaseModel):
    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[LiveFeature]  # whole: every vehicle of the filter; else those that changed since `since`
    removed: list[str]  # vehicles to drop if the client has them (never in a whole map)
    cursor: str  # to ask for what changes after this answer: since=<cursor>, with the same filters
    whole: bool  # true: every vehicle (replace what you have); false: only the changes since `since`
    reason: str | None  # why a `since` given was not honoured and the map is whole (null otherwise)
