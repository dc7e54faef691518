"""The registry document (organisations, institutions, meters, vehicles) and its import."""

from __future__ import annotations

from datetime import date
from typing import Literal

from psycopg import AsyncConnection, sql
from pydantic import BaseModel, ConfigDict, Field

Id = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Organisation(_Row):
    id: str = Id
    name: str
    kind: Literal["unit", "service_company", "rental_company"] = "unit"


class Institution(_Row):
    id: str = Id
    organisation_id: str
    name: str
    category: Literal["agency", "public_institution", "school", "hospital", "community", "venue"]
    district: str | None = None
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)


class Meter(_Row):
    id: str = Id
    institution_id: str
    energy_type: Literal["electricity", "water", "natural_gas", "heat", "raw_coal", "gasoline", "diesel", "lpg"]
    unit: str
    sub_item: Literal["lighting_socket", "air_conditioning", "power", "special"] | None = None
    multiplier: float = Field(default=1.0, gt=0)
    register_max: float | None = Field(default=None, gt=0)
    installed_on: date | None = None


class Vehicle(_Row):
    id: str = Id
    organisation_id: str
    plate: str
    vin: str | None = None
    vehicle_type: str | None = None
    energy: Literal["gasoline", "diesel", "battery_electric", "plug_in_hybrid"]
    seats: int | None = Field(default=None, gt=0)
    battery_kwh: float | None = Field(default=None, gt=0)
    terminal_id: str | None = None
    home_institution_id: str | None = None


class RegistryDocument(BaseModel):
    """What `yiwang registry import` reads: the whole registry or a part of it, as JSON."""

    model_config = ConfigDict(extra="forbid")

    organisations: list[Organisation] = []
    institutions: list[Institution] = []
    meters: list[Meter] = []
    vehicles: list[Vehicle] = []


async def _upsert(conn: AsyncConnection, table: str, rows: list[_Row]) -> int:
    if not rows:
        return 0
    columns = list(type(rows[0]).model_fields)
    statement = sql.SQL(
        "INSERT INTO {table} ({cols}) VALUES ({values}) ON CONFLICT (id) DO UPDATE SET {update}"
    ).format(
        table=sql.Identifier(table),
        cols=sql.SQL(", ").join(map(sql.Identifier, columns)),
        values=sql.SQL(", ").join(sql.Placeholder() * len(columns)),
        update=sql.SQL(", ").join(
            sql.SQL("{} = EXCLUDED.{}").format(sql.Identifier(c), sql.Identifier(c)) for c in columns[1:]
        ),
    )
    async with conn.cursor() as cur:
        await cur.executemany(statement, [tuple(getattr(row, c) for c in columns) for row in rows])
    return len(rows)


async def import_document(conn: AsyncConnection, document: RegistryDocument) -> dict[str, int]:
    """Insert or update every row of the document in one transaction: all of it or nothing.

    Returns:
        How many rows of each kind were written.
    """
    async with conn.transaction():
        return {
            "organisations": await _upsert(conn, "organisation", list(document.organisations)),
            "institutions": await _upsert(conn, "institution", list(document.institutions)),
            "meters": await _upsert(conn, "meter", list(document.meters)),
            "vehicles": await _upsert(conn, "vehicle", list(document.vehicles)),
        }
