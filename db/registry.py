"""The registry document (organisations, institutions, meters, vehicles) and its import."""

from __future__ import annotations

from datetime import date
from typing import Literal

from psycopg import AsyncConnection, sql
from pydantic import BaseModel, ConfigDict, Field, model_validator

from db.units import unit_problem

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
    key_energy_unit: bool = False
    in_assessment: bool = False


class InstitutionYear(_Row):
    """An institution's floor area and energy-using headcount in one year."""

    institution_id: str
    year: int = Field(ge=2000, le=2100)
    floor_area_m2: float | None = Field(default=None, gt=0)
    headcount: int | None = Field(default=None, gt=0)


class Meter(_Row):
    id: str = Id
    institution_id: str
    energy_type: Literal["electricity", "water", "natural_gas", "heat", "raw_coal", "gasoline", "diesel", "lpg"]
    unit: str
    sub_item: Literal["lighting_socket", "air_conditioning", "power", "special"] | None = None
    multiplier: float = Field(default=1.0, gt=0)
    register_max: float | None = Field(default=None, gt=0)
    max_rate: float | None = Field(default=None, gt=0)  # the most it can consume in an hour: faster is implausible
    installed_on: date | None = None

    @model_validator(mode="after")
    def _unit_fits_energy(self) -> Meter:
        problem = unit_problem(self.energy_type, self.unit)
        if problem is not None:
            raise ValueError(problem)
        return self


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
    institution_years: list[InstitutionYear] = []
    meters: list[Meter] = []
    vehicles: list[Vehicle] = []


async def _upsert(conn: AsyncConnection, table: str, rows: list[_Row], key: tuple[str, ...] = ("id",)) -> int:
    if not rows:
        return 0
    columns = list(type(rows[0]).model_fields)
    statement = sql.SQL(
        "INSERT INTO {table} ({cols}) VALUES ({values}) ON CONFLICT ({key}) DO UPDATE SET {update}"
    ).format(
        key=sql.SQL(", ").join(map(sql.Identifier, key)),
        table=sql.Identifier(table),
        cols=sql.SQL(", ").join(map(sql.Identifier, columns)),
        values=sql.SQL(", ").join(sql.Placeholder() * len(columns)),
        update=sql.SQL(", ").join(
            sql.SQL("{} = EXCLUDED.{}").format(sql.Identifier(c), sql.Identifier(c)) for c in columns if c not in key
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
            "institution years": await _upsert(
                conn, "institution_year", list(document.institution_years), key=("institution_id", "year")
            ),
            "meters": await _upsert(conn, "meter", list(document.meters)),
            "vehicles": await _upsert(conn, "vehicle", list(document.vehicles)),
        }
