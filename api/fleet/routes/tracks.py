"""Tracks and trips of a vehicle between two times (fix time), cleaned by the rules of domain/track.py and
domain/trips.py."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from api.deps import PoolDep, ScopeDep, SettingsDep, require
from api.errors import responses
from api.fields import PathId
from api.fleet import tracks
from api.fleet.tracks import Track, TripList
from domain.track import Columns

# A vehicle's history: the registry's router (/vehicles) has the vehicles themselves.
router = APIRouter(prefix="/vehicles/{vehicle_id}", tags=["positions"])
_LONGEST = timedelta(days=31)


class RangeQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: AwareDatetime = Field(description="RFC 3339 with offset, e.g. 2026-03-02T00:00:00+08:00")
    end: AwareDatetime = Field(description="exclusive")

    @model_validator(mode="after")
    def _ordered(self) -> RangeQuery:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        if self.end - self.start > _LONGEST:
            raise ValueError("a range is at most 31 days")
        return self


class TrackQuery(RangeQuery):
    simplify_m: float | None = Field(
        default=None,
        ge=0,
        le=1000,
        description="Douglas-Peucker tolerance in metres; default: YIWANG_TRACK_SIMPLIFY_M above "
        "YIWANG_TRACK_SIMPLIFY_ABOVE fixes, else none",
    )


async def _fixes(pool: PoolDep, scope: ScopeDep, vehicle_id: str, query: RangeQuery) -> Columns:
    async with pool.connection() as conn:
        return await tracks.fixes(conn, scope, vehicle_id, query.start, query.end)


@router.get(
    "/track",
    dependencies=[Depends(require("vehicles:read"))],
    responses=responses(401, 403, 404, 422),
    response_model=Track,
)
async def get_track(
    pool: PoolDep,
    scope: ScopeDep,
    settings: SettingsDep,
    vehicle_id: PathId,
    query: Annotated[TrackQuery, Query()],
) -> Response:
    """The vehicle's track as GeoJSON: a LineString of the fixes that pass the rules (invalid, zero, future,
    duplicate and impossible-speed fixes dropped and counted), with fix times and speeds for replay, and a
    Point per stop."""
    raw = await _fixes(pool, scope, vehicle_id, query)
    tolerance = query.simplify_m
    if tolerance is None:
        tolerance = settings.track_simplify_m if len(raw) > settings.track_simplify_above else 0.0
    return Response(tracks.shaped(vehicle_id, raw, settings.track_rules, tolerance), media_type="application/json")


@router.get(
    "/trips",
    dependencies=[Depends(require("vehicles:read"))],
    responses=responses(401, 403, 404, 422),
)
async def get_trips(
    pool: PoolDep,
    scope: ScopeDep,
    settings: SettingsDep,
    vehicle_id: PathId,
    query: Annotated[RangeQuery, Query()],
) -> TripList:
    """The vehicle's trips from ignition and motion, with distance from the odometer where plausible.

    Where the terminal reports no speed, ignition or odometer, or reports a standstill while its fixes move,
    trips are found from motion between fixes and each trip's `derived` names what was so derived."""
    raw = await _fixes(pool, scope, vehicle_id, query)
    return tracks.trip_list(vehicle_id, query.start, query.end, raw, settings)
