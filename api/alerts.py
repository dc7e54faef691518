"""Supervision alerts and the areas they are judged against, as the API serves and changes them, within a Scope."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from psycopg import AsyncConnection, sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from api.access import Scope
from api.errors import NO_NUL

AlertKind = Literal["speeding", "off_hours", "no_dispatch", "area_exit", "parking", "silent"]
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
    kind: Literal["permitted", "parking"] = Field(
        description="permitted: where vehicles may go (leaving raises area_exit); parking: designated places"
    )
    organisation_id: str | None = Field(
        default=None, pattern=NO_NUL, max_length=64, description="the unit whose vehicles it binds; null: every unit"
    )
    geometry: Polygon | MultiPolygon = Field(discriminator="type")


class AreaPublic(AreaCreate):
    id: int
    created_at: datetime


class AlertPublic(BaseModel):
    id: int
    vehicle_id: str
    organisation_id: str
    kind: AlertKind
    level: Literal["yellow", "red"]
    time: datetime = Field(description="the fix time judged")
    received_at: datetime
    raised_at: datetime
    latitude: float | None
    longitude: float | None
    speed: float | None
    detail: str
    acknowledged_at: datetime | None
    acknowledged_by: int | None
    note: str | None


class UnknownOrganisation(LookupError):
    pass


class AlreadyAcknowledged(ValueError):
    pass


_ALERT_COLUMNS = sql.SQL(", ").join(map(sql.Identifier, AlertPublic.model_fields))


async def alerts(
    conn: AsyncConnection,
    scope: Scope,
    *,
    before: int | None,
    limit: int,
    filters: dict[str, Any],
    open_only: bool,
    since: datetime | None,
) -> list[AlertPublic]:
    """The newest alerts first (ids below `before`), of the organisations in scope."""
    conditions: list[sql.Composable] = [scope.condition("a.organisation_id")]
    params: list[Any] = []
    for column, value in filters.items():
        if value is not None:
            conditions.append(sql.SQL("a.{} = %s").format(sql.Identifier(column)))
            params.append(value)
    if before is not None:
        conditions.append(sql.SQL("a.id < %s"))
        params.append(before)
    if open_only:
        conditions.append(sql.SQL("a.acknowledged_at IS NULL"))
    if since is not None:
        conditions.append(sql.SQL("a.time >= %s"))
        params.append(since)
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            sql.SQL("SELECT {} FROM alert a WHERE {} ORDER BY a.id DESC LIMIT %s").format(
                _ALERT_COLUMNS, sql.SQL(" AND ").join(conditions)
            ),
            [*params, limit],
        )
        return [AlertPublic.model_validate(row) for row in await cur.fetchall()]


async def by_ids(conn: AsyncConnection, ids: list[int]) -> list[AlertPublic]:
    """These alerts, in id order (whoever may see them is for the caller to decide)."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            sql.SQL("SELECT {} FROM alert a WHERE a.id = ANY(%s) ORDER BY a.id").format(_ALERT_COLUMNS), [ids]
        )
        return [AlertPublic.model_validate(row) for row in await cur.fetchall()]


async def acknowledge(
    conn: AsyncConnection, scope: Scope, alert_id: int, *, user_id: int, note: str
) -> AlertPublic | None:
    """Acknowledge an alert in scope with a note; None when there is no such alert in scope.

    Raises:
        AlreadyAcknowledged: it was acknowledged before (by whom and when is in the alert).
    """
    async with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            sql.SQL("SELECT acknowledged_at, acknowledged_by FROM alert a WHERE a.id = %s AND {} FOR UPDATE").format(
                scope.condition("a.organisation_id")
            ),
            (alert_id,),
        )
        found = await cur.fetchone()
        if found is None:
            return None
        if found["acknowledged_at"] is not None:
            raise AlreadyAcknowledged(
                f"alert {alert_id} was acknowledged at {found['acknowledged_at'].isoformat()} "
                f"by user {found['acknowledged_by']}"
            )
        await cur.execute(
            sql.SQL(
                "UPDATE alert SET acknowledged_at = now(), acknowledged_by = %s, note = %s WHERE id = %s RETURNING {}"
            ).format(_ALERT_COLUMNS),
            (user_id, note, alert_id),
        )
        row = await cur.fetchone()
    return AlertPublic.model_validate(row)


async def areas(conn: AsyncConnection, scope: Scope) -> list[AreaPublic]:
    """The city's areas and those of the organisations in scope."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            sql.SQL(
                """SELECT id, name, kind, organisation_id, geometry, created_at FROM area a
                   WHERE a.organisation_id IS NULL OR {} ORDER BY id"""
            ).format(scope.condition("a.organisation_id"))
        )
        return [AreaPublic.model_validate(row) for row in await cur.fetchall()]


async def create_area(conn: AsyncConnection, area: AreaCreate) -> AreaPublic:
    """Store an area.

    Raises:
        UnknownOrganisation: no such organisation.
    """
    if area.organisation_id is not None:
        found = await conn.execute("SELECT 1 FROM organisation WHERE id = %s", (area.organisation_id,))
        if await found.fetchone() is None:
            raise UnknownOrganisation(f"no organisation {area.organisation_id} (GET /organisations)")
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            """INSERT INTO area (name, kind, organisation_id, geometry) VALUES (%s, %s, %s, %s)
               RETURNING id, name, kind, organisation_id, geometry, created_at""",
            (area.name, area.kind, area.organisation_id, Jsonb(area.geometry.model_dump())),
        )
        row = await cur.fetchone()
    return AreaPublic.model_validate(row)


async def delete_area(conn: AsyncConnection, area_id: int) -> bool:
    cur = await conn.execute("DELETE FROM area WHERE id = %s", (area_id,))
    return cur.rowcount > 0
