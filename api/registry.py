"""The registry as the API serves it: organisations, institutions, meters and vehicles, always within a Scope."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Generic, TypeVar

from psycopg import AsyncConnection, sql
from psycopg.rows import class_row
from pydantic import BaseModel

from api.access import Scope
from api.paging import Page

T = TypeVar("T", bound=BaseModel)


class OrganisationPublic(BaseModel):
    id: str
    name: str
    kind: str


class InstitutionPublic(BaseModel):
    id: str
    organisation_id: str
    name: str
    category: str
    district: str | None
    latitude: float | None
    longitude: float | None


class MeterPublic(BaseModel):
    id: str
    institution_id: str
    organisation_id: str
    energy_type: str
    unit: str
    sub_item: str | None
    multiplier: float
    register_max: float | None
    max_rate: float | None
    installed_on: date | None
    replaced_on: date | None


class VehiclePublic(BaseModel):
    id: str
    organisation_id: str
    plate: str
    vin: str | None
    vehicle_type: str | None
    energy: str
    seats: int | None
    battery_kwh: float | None
    terminal_id: str | None
    home_institution_id: str | None


@dataclass(frozen=True, slots=True)
class _Kind(Generic[T]):
    """One kind of registry item: its SELECT, its key column and its organisation column (for the Scope)."""

    model: type[T]
    select: sql.SQL
    key: str
    organisation: str


_ORGANISATIONS = _Kind(OrganisationPublic, sql.SQL("SELECT o.id, o.name, o.kind FROM organisation o"), "o.id", "o.id")
_INSTITUTIONS = _Kind(
    InstitutionPublic,
    sql.SQL(
        """SELECT i.id, i.organisation_id, i.name, i.category, i.district, i.latitude, i.longitude
           FROM institution i"""
    ),
    "i.id",
    "i.organisation_id",
)
_METERS = _Kind(
    MeterPublic,
    sql.SQL(
        """SELECT m.id, m.institution_id, i.organisation_id, m.energy_type, m.unit, m.sub_item, m.multiplier,
                  m.register_max, m.max_rate, m.installed_on, m.replaced_on
           FROM meter m JOIN institution i ON i.id = m.institution_id"""
    ),
    "m.id",
    "i.organisation_id",
)
_VEHICLES = _Kind(
    VehiclePublic,
    sql.SQL(
        """SELECT v.id, v.organisation_id, v.plate, v.vin, v.vehicle_type, v.energy, v.seats, v.battery_kwh,
                  v.terminal_id, v.home_institution_id
           FROM vehicle v"""
    ),
    "v.id",
    "v.organisation_id",
)


def _column(name: str) -> sql.Identifier:
    return sql.Identifier(*name.split("."))


async def _list(
    conn: AsyncConnection, kind: _Kind[T], scope: Scope, *, after: str | None, limit: int, filters: dict[str, Any]
) -> Page[T]:
    conditions: list[sql.Composable] = [scope.condition(kind.organisation)]
    params: list[Any] = []
    for column, value in filters.items():
        if value is not None:
            conditions.append(sql.SQL("{} = %s").format(_column(column)))
            params.append(value)
    if after is not None:
        conditions.append(sql.SQL("{} > %s").format(_column(kind.key)))
        params.append(after)
    query = sql.SQL("{select} WHERE {where} ORDER BY {key} LIMIT %s").format(
        select=kind.select, where=sql.SQL(" AND ").join(conditions), key=_column(kind.key)
    )
    async with conn.cursor(row_factory=class_row(kind.model)) as cur:
        await cur.execute(query, [*params, limit])
        items = await cur.fetchall()
    next_after = getattr(items[-1], "id", None) if len(items) == limit else None
    return Page[kind.model](items=items, next_after=next_after)  # type: ignore[name-defined]


async def _one(conn: AsyncConnection, kind: _Kind[T], scope: Scope, id_: str) -> T | None:
    query = sql.SQL("{select} WHERE {key} = %s AND {scope}").format(
        select=kind.select, key=_column(kind.key), scope=scope.condition(kind.organisation)
    )
    async with conn.cursor(row_factory=class_row(kind.model)) as cur:
        await cur.execute(query, [id_])
        return await cur.fetchone()


async def organisations(
    conn: AsyncConnection, scope: Scope, *, after: str | None, limit: int
) -> Page[OrganisationPublic]:
    """The organisations in the scope."""
    return await _list(conn, _ORGANISATIONS, scope, after=after, limit=limit, filters={})


async def institutions(
    conn: AsyncConnection,
    scope: Scope,
    *,
    after: str | None,
    limit: int,
    organisation_id: str | None = None,
    category: str | None = None,
) -> Page[InstitutionPublic]:
    """The institutions in the scope, optionally of one organisation or category."""
    filters = {"i.organisation_id": organisation_id, "i.category": category}
    return await _list(conn, _INSTITUTIONS, scope, after=after, limit=limit, filters=filters)


async def institution(conn: AsyncConnection, scope: Scope, institution_id: str) -> InstitutionPublic | None:
    """One institution, or None when it does not exist or is outside the scope."""
    return await _one(conn, _INSTITUTIONS, scope, institution_id)


async def meters(
    conn: AsyncConnection,
    scope: Scope,
    *,
    after: str | None,
    limit: int,
    institution_id: str | None = None,
    energy_type: str | None = None,
) -> Page[MeterPublic]:
    """The meters of the institutions in the scope."""
    filters = {"m.institution_id": institution_id, "m.energy_type": energy_type}
    return await _list(conn, _METERS, scope, after=after, limit=limit, filters=filters)


async def meter(conn: AsyncConnection, scope: Scope, meter_id: str) -> MeterPublic | None:
    """One meter, or None when it does not exist or is outside the scope."""
    return await _one(conn, _METERS, scope, meter_id)


async def vehicles(
    conn: AsyncConnection,
    scope: Scope,
    *,
    after: str | None,
    limit: int,
    organisation_id: str | None = None,
    energy: str | None = None,
) -> Page[VehiclePublic]:
    """The vehicles of the organisations in the scope."""
    filters = {"v.organisation_id": organisation_id, "v.energy": energy}
    return await _list(conn, _VEHICLES, scope, after=after, limit=limit, filters=filters)


async def vehicle(conn: AsyncConnection, scope: Scope, vehicle_id: str) -> VehiclePublic | None:
    """One vehicle, or None when it does not exist or is outside the scope."""
    return await _one(conn, _VEHICLES, scope, vehicle_id)
