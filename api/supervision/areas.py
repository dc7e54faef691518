"""The areas supervision judges positions against, as the API serves and changes them: permitted areas (leaving
one raises area_exit), designated parking places and forbidden areas (entering one raises area_entry), of the city or
of one unit: GeoJSON polygons, circles (a Point and `radius_m`) or corridors (a LineString and `width_m`), each with
an optional speed limit and the hours it applies in (a calendar's working time, or outside it)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, Self

from psycopg import AsyncConnection
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from api.errors import NotFound, Refused
from api.fields import NO_NUL
from api.registry.service import validated
from db import alerts as alerts_db
from db import calendar as calendar_db
from db import registry as registry_db
from db.scope import Scope
from domain.supervision import AreaHours, AreaKind

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


def _on_earth(point: list[float]) -> list[float]:
    if not (-180 <= point[0] <= 180 and -90 <= point[1] <= 90):
        raise ValueError("positions are [longitude, latitude] in WGS-84 degrees")
    return point


class Point(BaseModel):
    """A circle's centre (with `radius_m`)."""

    type: Literal["Point"]
    coordinates: Annotated[Position, AfterValidator(_on_earth)]


class LineString(BaseModel):
    """A corridor's route (with `width_m`)."""

    type: Literal["LineString"]
    coordinates: list[Annotated[Position, AfterValidator(_on_earth)]] = Field(min_length=2, max_length=10_000)


class AreaCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, pattern=NO_NUL)
    kind: AreaKind = Field(
        description="permitted: where vehicles may go (leaving raises area_exit); parking: designated places; "
        "forbidden: where they may not go (entering raises area_entry, red)"
    )
    organisation_id: str | None = Field(
        default=None, pattern=NO_NUL, max_length=64, description="the unit whose vehicles it binds; null: every unit"
    )
    geometry: Polygon | MultiPolygon | Point | LineString = Field(
        discriminator="type",
        description="WGS-84 [lon, lat]: a Polygon or MultiPolygon; a Point with radius_m (a circle); a LineString "
        "with width_m (a corridor along a route)",
    )
    radius_m: float | None = Field(default=None, gt=0, le=100_000, description="a circle's radius (Point only)")
    width_m: float | None = Field(
        default=None, gt=0, le=10_000, description="a corridor's full width: inside within width_m / 2 of the route"
    )
    speed_limit_kmh: float | None = Field(
        default=None, gt=0, le=300, description="speeding inside is judged against it (the lowest of the areas a "
        "position is in); null: the global limit (YIWANG_SUPERVISION_SPEED_LIMIT_KMH)"
    )  # fmt: skip
    calendar_id: int | None = Field(
        default=None, description="the calendar whose working time `hours` refers to (/calendar/calendars); null: "
        "the default calendar"
    )  # fmt: skip
    hours: AreaHours = Field(
        default="always", description="when the area applies: always; working (in its calendar's working time); "
        "off_hours (outside it, e.g. a forbidden zone after hours)"
    )  # fmt: skip

    @model_validator(mode="after")
    def _shape_fits(self) -> Self:
        if (self.geometry.type == "Point") != (self.radius_m is not None):
            raise ValueError("radius_m goes with a Point geometry (a circle), and only with it")
        if (self.geometry.type == "LineString") != (self.width_m is not None):
            raise ValueError("width_m goes with a LineString geometry (a corridor), and only with it")
        return self


class AreaUpdate(BaseModel):
    """The fields of an area that may change; those sent replace the stored ones, and the area they leave is
    validated whole, as on creation. Its kind and unit stay: draw a new area for another kind or unit."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200, pattern=NO_NUL)
    geometry: Polygon | MultiPolygon | Point | LineString | None = Field(default=None, discriminator="type")
    radius_m: float | None = Field(default=None, gt=0, le=100_000, description="a circle's radius; null with a "
                                   "geometry other than a Point")  # fmt: skip
    width_m: float | None = Field(default=None, gt=0, le=10_000, description="a corridor's full width; null with a "
                                  "geometry other than a LineString")  # fmt: skip
    speed_limit_kmh: float | None = Field(default=None, gt=0, le=300, description="null: the global limit")
    calendar_id: int | None = Field(default=None, description="null: the default calendar")
    hours: AreaHours | None = None

    @model_validator(mode="after")
    def _not_null(self) -> Self:
        for name in ("name", "geometry", "hours"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class AreaPublic(AreaCreate):
    id: int
    created_at: datetime


async def areas(conn: AsyncConnection, scope: Scope) -> list[AreaPublic]:
    """The city's areas and those of the organisations in scope."""
    return await alerts_db.areas(conn, scope, AreaPublic)


async def create_area(conn: AsyncConnection, area: AreaCreate) -> AreaPublic:
    """Store an area.

    Raises:
        Refused: no such organisation or calendar.
    """
    if area.organisation_id is not None and not await registry_db.taken(conn, "organisation", [area.organisation_id]):
        raise Refused(f"no organisation {area.organisation_id} (GET /organisations)")
    if area.calendar_id is not None and await calendar_db.calendar(conn, dict, area.calendar_id) is None:
        raise Refused(f"no calendar {area.calendar_id} (GET /calendar/calendars)")
    return await alerts_db.insert_area(conn, AreaPublic, area.model_dump())


async def update_area(conn: AsyncConnection, area_id: int, change: AreaUpdate) -> AreaPublic:
    """Change an area (the fields sent); the supervisor judges by it as it does by a new area.

    Raises:
        NotFound: there is no such area.
        Refused: the changed area does not fit (e.g. a Point without radius_m), or its calendar does not exist.
    """
    changes = change.model_dump(exclude_unset=True)
    async with conn.transaction():
        current = await alerts_db.area(conn, AreaPublic, area_id)
        if current is None:
            raise NotFound(f"no area {area_id}")
        area = validated(AreaCreate, AreaCreate, current, changes)
        known = area.calendar_id is None or await calendar_db.calendar(conn, dict, area.calendar_id) is not None
        if not known:
            raise Refused(f"no calendar {area.calendar_id} (GET /calendar/calendars)")
        stored = area.model_dump(include=set(AreaUpdate.model_fields))
        return await alerts_db.update_area(conn, AreaPublic, area_id, stored)


async def delete_area(conn: AsyncConnection, area_id: int) -> None:
    """Remove an area.

    Raises:
        NotFound: there is no such area.
    """
    if not await alerts_db.delete_area(conn, area_id):
        raise NotFound(f"no area {area_id}")
