"""Vehicle positions as the API serves them: the live map as GeoJSON, always within a Scope."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Final, Literal, get_args

from psycopg import AsyncConnection, sql
from pydantic import BaseModel

from api.access import Scope
from api.requests import OPEN_STATES

# What a vehicle is doing, as the dispatcher's map shows it: in the workshop; silent longer than the offline
# setting; on a dispatched request (派车, not yet left) or under way on one (in_service, 出车); else available.
LiveState = Literal["available", "dispatched", "in_service", "maintenance", "offline"]
LIVE_STATES: Final[tuple[LiveState, ...]] = get_args(LiveState)


class Point(BaseModel):
    type: Literal["Point"] = "Point"
    coordinates: tuple[float, float]  # GeoJSON order: longitude, latitude (WGS-84, as the terminals send)


class LiveProperties(BaseModel):
    vehicle_id: str
    plate: str
    organisation_id: str
    time: datetime  # the fix time
    speed: float  # km/h
    heading: float
    ignition: bool
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
    features: list[LiveFeature]


async def live(
    conn: AsyncConnection,
    scope: Scope,
    *,
    offline_after: float,
    organisation_id: str | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    states: Collection[LiveState] = (),
) -> LiveCollection:
    """The newest fix of each vehicle in the scope with its state and open request, optionally of one unit, within
    a box (lon, lat, lon, lat) and in some states (none: any). Retired vehicles are not on the map.

    One statement: a vehicle has at most one open request (a unique index of trip_request), so the join adds no
    rows.
    """
    conditions = [scope.condition("v.organisation_id"), sql.SQL("v.lifecycle <> 'retired'")]
    params: dict[str, object] = {"offline_after": offline_after, "open": sorted(OPEN_STATES)}
    if organisation_id is not None:
        conditions.append(sql.SQL("v.organisation_id = %(organisation_id)s"))
        params["organisation_id"] = organisation_id
    if bbox is not None:
        conditions.append(
            sql.SQL("p.longitude BETWEEN %(west)s AND %(east)s AND p.latitude BETWEEN %(south)s AND %(north)s")
        )
        params.update(zip(("west", "south", "east", "north"), bbox, strict=True))
    query = sql.SQL(
        """SELECT * FROM (
               SELECT p.vehicle_id, v.plate, v.organisation_id, p.time, p.latitude, p.longitude, p.speed, p.heading,
                      p.ignition, p.soc, p.fuel, extract(epoch FROM now() - p.time)::float8 AS age,
                      p.time > now() - make_interval(secs => %(offline_after)s) AS online,
                      CASE WHEN v.lifecycle = 'maintenance' THEN 'maintenance'
                           WHEN p.time <= now() - make_interval(secs => %(offline_after)s) THEN 'offline'
                           WHEN r.state = 'under_way' THEN 'in_service'
                           WHEN r.state = 'dispatched' THEN 'dispatched'
                           ELSE 'available' END AS state,
                      r.id AS request_id, r.driver_id
               FROM live_position p
               JOIN vehicle v ON v.id = p.vehicle_id
               LEFT JOIN trip_request r ON r.vehicle_id = v.id AND r.state = ANY(%(open)s)
               WHERE {conditions}
           ) AS live
           {state}
           ORDER BY vehicle_id"""
    ).format(
        conditions=sql.SQL(" AND ").join(conditions),
        state=sql.SQL("WHERE state = ANY(%(states)s)") if states else sql.SQL(""),
    )
    if states:
        params["states"] = sorted(set(states))
    cur = await conn.execute(query, params)
    features = [
        LiveFeature(
            id=row[0],
            geometry=Point(coordinates=(row[5], row[4])),
            properties=LiveProperties(
                vehicle_id=row[0],
                plate=row[1],
                organisation_id=row[2],
                time=row[3],
                speed=row[6],
                heading=row[7],
                ignition=row[8],
                soc=row[9],
                fuel=row[10],
                age_seconds=max(row[11], 0.0),
                online=row[12],
                state=row[13],
                request_id=row[14],
                driver_id=row[15],
            ),
        )
        for row in await cur.fetchall()
    ]
    return LiveCollection(features=features)
