"""Standard-coal and carbon factors as the database holds them: versions, values, and the choice for a period.

A result names the versions it used, and for electricity's carbon factor also the year and region,
because the authorities publish that one per year and grid two years late: a 2026 report uses the
newest published year not after 2026.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal

from psycopg import AsyncConnection
from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.errors import Conflict, Refused
from api.fields import NO_NUL, PositiveDecimal
from domain.energy import EnergyType

FactorKind = Literal["standard_coal", "carbon"]


class FactorVersion(BaseModel):
    version: str
    kind: FactorKind
    title: str
    source: str
    published_on: date | None


class CoalFactor(BaseModel):
    energy_type: str
    unit: str
    kgce_per_unit: Decimal


class CarbonFactor(BaseModel):
    energy_type: str
    region: str
    year: int | None = Field(description="the year it is published for; null: any year")
    unit: str
    kgco2_per_unit: Decimal


class FactorsUsed(BaseModel):
    """Which factors a result was computed with."""

    standard_coal: str
    carbon: str
    carbon_region: str
    electricity_carbon_year: int | None = Field(description="the year of the electricity factor applied")
    carbon_missing: list[str] = Field(description="energy types consumed that have no carbon factor: not in carbon")


@dataclass(frozen=True, slots=True)
class Factors:
    """The factors applied to one period: per energy type, in its factor's unit."""

    coal: dict[str, tuple[str, Decimal]]  # energy_type -> (unit, kgce per unit)
    carbon: dict[str, tuple[str, Decimal]]  # energy_type -> (unit, kgCO2 per unit)
    coal_version: str
    carbon_version: str
    region: str
    electricity_year: int | None


class UnknownFactorVersion(Refused):
    """No factor version of that name and kind (422)."""


async def versions(conn: AsyncConnection) -> list[FactorVersion]:
    cur = await conn.execute(
        "SELECT version, kind, title, source, published_on FROM factor_version ORDER BY kind, created_at, version"
    )
    rows = await cur.fetchall()
    return [FactorVersion(version=v, kind=k, title=t, source=s, published_on=p) for v, k, t, s, p in rows]


async def latest(conn: AsyncConnection, kind: FactorKind) -> str:
    """The newest version of a kind (the default of every computation)."""
    cur = await conn.execute(
        "SELECT version FROM factor_version WHERE kind = %s ORDER BY created_at DESC, version DESC LIMIT 1", (kind,)
    )
    row = await cur.fetchone()
    if row is None:
        raise UnknownFactorVersion(f"no {kind} factors in the database")
    return str(row[0])


async def choose(
    conn: AsyncConnection, *, year: int, coal_version: str | None, carbon_version: str | None, region: str
) -> Factors:
    """The factors for a period starting in `year`.

    Raises:
        UnknownFactorVersion: a version named that is not of its kind.
    """
    coal_version = coal_version or await latest(conn, "standard_coal")
    carbon_version = carbon_version or await latest(conn, "carbon")
    for version, kind in ((coal_version, "standard_coal"), (carbon_version, "carbon")):
        cur = await conn.execute("SELECT 1 FROM factor_version WHERE version = %s AND kind = %s", (version, kind))
        if await cur.fetchone() is None:
            raise UnknownFactorVersion(f"no {kind} factor version {version!r} (GET /factors lists them)")
    cur = await conn.execute(
        "SELECT energy_type, unit, kgce_per_unit FROM coal_factor WHERE version = %s", (coal_version,)
    )
    coal = {e: (u, Decimal(f)) for e, u, f in await cur.fetchall()}
    # Per energy type: this region's factor of the newest year not after `year`, else one for any year,
    # else the oldest of later years (a factor published for a later year beats none).
    cur = await conn.execute(
        """SELECT DISTINCT ON (energy_type) energy_type, unit, kgco2_per_unit, year
           FROM carbon_factor WHERE version = %(version)s AND region = %(region)s
           ORDER BY energy_type,
                    CASE WHEN year <= %(year)s THEN 0 WHEN year IS NULL THEN 1 ELSE 2 END,
                    CASE WHEN year <= %(year)s THEN -year ELSE year END""",
        {"version": carbon_version, "region": region, "year": year},
    )
    carbon: dict[str, tuple[str, Decimal]] = {}
    electricity_year = None
    for energy_type, unit, value, factor_year in await cur.fetchall():
        carbon[energy_type] = (unit, Decimal(value))
        if energy_type == "electricity":
            electricity_year = factor_year
    return Factors(coal, carbon, coal_version, carbon_version, region, electricity_year)


class FactorSet(BaseModel):
    """A version with its values."""

    version: FactorVersion
    coal: list[CoalFactor]
    carbon: list[CarbonFactor]


class NewCoalFactor(BaseModel):
    model_config = ConfigDict(extra="forbid")

    energy_type: EnergyType
    unit: str = Field(pattern=NO_NUL, max_length=16)
    kgce_per_unit: PositiveDecimal


class NewCarbonFactor(BaseModel):
    model_config = ConfigDict(extra="forbid")

    energy_type: EnergyType
    region: str = Field(default="national", pattern=NO_NUL, min_length=1, max_length=64)
    year: int | None = Field(default=None, ge=2000, le=2100)
    unit: str = Field(pattern=NO_NUL, max_length=16)
    kgco2_per_unit: PositiveDecimal


class FactorSetCreate(BaseModel):
    """A new version: versions are never changed once made, so a published figure can always be recomputed."""

    model_config = ConfigDict(extra="forbid")

    version: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    kind: FactorKind
    title: str = Field(min_length=1, max_length=200, pattern=NO_NUL)
    source: str = Field(min_length=1, max_length=1000, pattern=NO_NUL, description="the standard or publication")
    published_on: date | None = None
    coal: list[NewCoalFactor] = []
    carbon: list[NewCarbonFactor] = []

    @model_validator(mode="after")
    def _values_fit_kind(self) -> FactorSetCreate:
        values = self.coal if self.kind == "standard_coal" else self.carbon
        other = self.carbon if self.kind == "standard_coal" else self.coal
        if not values or other:
            wanted = "coal" if self.kind == "standard_coal" else "carbon"
            raise ValueError(f"a {self.kind} version holds '{wanted}' values, at least one, and no others")
        keys = [(f.energy_type,) for f in self.coal] + [(f.energy_type, f.region, f.year) for f in self.carbon]
        if len(set(keys)) != len(keys):
            raise ValueError("one value per energy type (and region and year, for carbon)")
        units: list[tuple[str, str]] = [(f.energy_type, f.unit) for f in self.coal]
        units += [(f.energy_type, f.unit) for f in self.carbon]
        for energy_type, unit in units:
            if energy_type == "water":
                raise ValueError("water is a resource, not energy: it has no standard-coal or carbon factor")
            expected = _UNIT_OF_FACTOR[energy_type]
            if unit != expected:
                raise ValueError(f"{energy_type} factors are per {expected}, not per {unit}")
        return self


class VersionTaken(Conflict):
    """A factor version of that name exists (versions are immutable) (409)."""


# The unit a factor of each energy type is per: what db/units.py converts meters' units into.
_UNIT_OF_FACTOR = {
    "electricity": "kWh",
    "natural_gas": "m³",
    "heat": "MJ",
    "raw_coal": "kg",
    "gasoline": "kg",
    "diesel": "kg",
    "lpg": "kg",
    "water": "m³",
}


async def factor_set(conn: AsyncConnection, version: str) -> FactorSet | None:
    cur = await conn.execute(
        "SELECT version, kind, title, source, published_on FROM factor_version WHERE version = %s", (version,)
    )
    row = await cur.fetchone()
    if row is None:
        return None
    head = FactorVersion(version=row[0], kind=row[1], title=row[2], source=row[3], published_on=row[4])
    cur = await conn.execute(
        "SELECT energy_type, unit, kgce_per_unit FROM coal_factor WHERE version = %s ORDER BY energy_type", (version,)
    )
    coal = [CoalFactor(energy_type=e, unit=u, kgce_per_unit=f) for e, u, f in await cur.fetchall()]
    cur = await conn.execute(
        """SELECT energy_type, region, year, unit, kgco2_per_unit FROM carbon_factor WHERE version = %s
           ORDER BY energy_type, region, year NULLS FIRST""",
        (version,),
    )
    carbon = [
        CarbonFactor(energy_type=e, region=r, year=y, unit=u, kgco2_per_unit=f)
        for e, r, y, u, f in await cur.fetchall()
    ]
    return FactorSet(version=head, coal=coal, carbon=carbon)


async def create(conn: AsyncConnection, new: FactorSetCreate) -> None:
    """Store a new version and its values in one transaction.

    Raises:
        VersionTaken: the version exists.
    """
    async with conn.transaction():
        cur = await conn.execute(
            """INSERT INTO factor_version (version, kind, title, source, published_on)
               VALUES (%s, %s, %s, %s, %s) ON CONFLICT (version) DO NOTHING""",
            (new.version, new.kind, new.title, new.source, new.published_on),
        )
        if cur.rowcount == 0:
            raise VersionTaken(f"factor version {new.version!r} exists; versions are never changed: name a new one")
        async with conn.cursor() as c:
            await c.executemany(
                "INSERT INTO coal_factor (version, energy_type, unit, kgce_per_unit) VALUES (%s, %s, %s, %s)",
                [(new.version, f.energy_type, f.unit, f.kgce_per_unit) for f in new.coal],
            )
            await c.executemany(
                """INSERT INTO carbon_factor (version, energy_type, region, year, unit, kgco2_per_unit)
                   VALUES (%s, %s, %s, %s, %s, %s)""",
                [(new.version, f.energy_type, f.region, f.year, f.unit, f.kgco2_per_unit) for f in new.carbon],
            )
