"""The areas supervision judges positions against, as the API serves and changes them: permitted areas (leaving
one raises area_exit) and designated parking places, GeoJSON polygons of the city or of one unit."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from psycopg import AsyncConnection
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from api.errors import NotFound, Refused
from api.fields import NO_NUL
from db import alerts as alerts_db
from db import registry as registry_db
from db.scope import Scope
from domain.supervision import AreaKind

Position = Annotated[list[float], Field(min_length=2, max_length=3)]


def _closed_rings(rings: list[list[list[float]]]) -> list[list[list[float]]]:
    for ring in rings:
        if len(ring) < 4 or ring[0][:2] != ring[-1][:2]:
            raise ValueError("each ring needs at least 4 positions and must end where it starts (RFC 7946)")
        for point in ring:
            if not (-180 <= point[0] <= 180 and -90 <= point[1] <= 90):
                raise ValueError("positions are [longitude, latitude] in WGS-84 degrees")
    return rings


Ring = Annotated[list[Position], Field(min_length=4)]
Rings = Annotated[list[Ring], Field(min_length=1), AfterValidator(_closed_rings)]


class Polygon(BaseModel):
    type: Literal["Polygon"]
    coordinates: Rings


class MultiPolygon(BaseModel):
    type: Literal["MultiPolygon"]
    coordinates: list[Rings] = Field(min_length=1)


class AreaCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, pattern=NO_NUL)
    kind: AreaKind = Field(
        description="permitted: where vehicles may go (leaving raises area_exit); parking: designated places"
    )
    organisation_id: str | None = Field(
        default=None, pattern=NO_NUL, max_length=64, description="the unit whose vehicles it binds; null: every unit"
    )
    geometry: Polygon | MultiPolygon = Field(discriminator="type")


class AreaPublic(AreaCreate):
    id: int
    created_at: datetime


async def areas(conn: AsyncConnection, scope: Scope) -> list[AreaPublic]:
    """The city's areas and those of the organisations in scope."""
    return await alerts_db.areas(conn, scope, AreaPublic)


async def create_area(conn: AsyncConnection, area: AreaCreate) -> AreaPublic:
    """Store an area.

    Raises:
        Refused: no such organisation.
    """
    if area.organisation_id is not None and not await registry_db.taken(conn, "organisation", [area.organisation_id]):
        raise Refused(f"no organisation {area.organisation_id} (GET /organisations)")
    return await alerts_db.insert_area(
        conn,
        AreaPublic,
        name=area.name,
        kind=area.kind,
        organisation_id=area.organisation_id,
        geometry=area.geometry.model_dump(),
    )


async def delete_area(conn: AsyncConnection, area_id: int) -> None:
    """Remove an area.

    Raises:
        NotFound: there is no such area.
    """
    if not await alerts_db.delete_area(conn, area_id):
        raise NotFound(f"no area {area_id}")
