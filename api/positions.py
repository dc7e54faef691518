"""Vehicle positions as the API serves them: the live map as GeoJSON, always within a Scope."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from psycopg import AsyncConnection, sql
from pydantic import BaseModel

from api.access import Scope


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
) -> LiveCollection:
    """The newest fix of each vehicle in the scope, optionally of one unit and within a box (lon, lat, lon, lat)."""
    conditions = [scope.condition("v.organisation_id")]
    params: list[object] = [offline_after]
    if organisation_id is not None:
        conditions.append(sql.SQL("v.organisation_id = %s"))
        params.append(organisation_id)
    if bbox is not None:
        conditions.append(sql.SQL("p.longitude BETWEEN %s AND %s AND p.latitude BETWEEN %s AND %s"))
        params += [bbox[0], bbox[2], bbox[1], bbox[3]]
    query = sql.SQL(
        """SELECT p.vehicle_id, v.plate, v.organisation_id, p.time, p.latitude, p.longitude, p.speed, p.heading,
                  p.ignition, p.soc, p.fuel, extract(epoch FROM now() - p.time)::float8 AS age,
                  p.time > now() - make_interval(secs => %s) AS online
           FROM live_position p JOIN vehicle v ON v.id = p.vehicle_id
           WHERE {conditions}
           ORDER BY p.vehicle_id"""
    ).format(conditions=sql.SQL(" AND ").join(conditions))
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
            ),
        )
        for row in await cur.fetchall()
    ]
    return LiveCollection(features=features)
