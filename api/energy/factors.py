"""Standard-coal and carbon factors as the database holds them: versions, values, and the choice for a period.

A result names the versions it used, and for electricity's carbon factor also the year and region,
because the authorities publish that one per year and grid two years late: a 2026 report uses the
newest published year not after 2026.

A standard-coal version names its method: calorific equivalent (当量值, electricity at 0.1229 kgce/kWh, what the
public-institution statistics count and so the default) or equivalent value (等价值, electricity at the coal burned
to supply a kWh in a given year), chosen by naming a version or a method.
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
from db import factors as factors_db
from domain.energy import EnergyType
from domain.measures import REPORT_UNIT
from domain.periods import FIRST_YEAR, LAST_YEAR

FactorKind = Literal["standard_coal", "carbon"]
CoalMethod = Literal["calorific_equivalent", "equivalent_value"]
DEFAULT_COAL_METHOD: CoalMethod = "calorific_equivalent"  # the public-institution statistics' (当量值)


class FactorVersion(BaseModel):
    version: str
    kind: FactorKind
    method: CoalMethod | None = Field(
        description="standard coal: calorific_equivalent (当量值) or equivalent_value (等价值); null for carbon"
    )
    title: str
    source: str
    published_on: date | None
    intended_use: str | None = Field(description="what the set is for (a set names its method, source and use)")
    unconfirmed: str | None = Field(description="values or dates not checked against the source; null: all checked")


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

    standard_coal: str = Field(description="the standard-coal version; GET /factors gives its method (当量值/等价值)")
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

    def kgce_per_unit(self, energy_type: str) -> Decimal | None:
        """kgce per report unit of the type; None where it has no standard-coal factor (water). Other energy
        (其他能源) is entered already in kgce (api/energy/entries.py): its factor is 1."""
        if energy_type == "other":
            return Decimal(1)
        return self.coal[energy_type][1] if energy_type in self.coal else None


class UnknownFactorVersion(Refused):
    """No factor version of that name and kind (422)."""


class MethodMismatch(Refused):
    """The standard-coal version named is not of the method named (422)."""


async def versions(conn: AsyncConnection) -> list[FactorVersion]:
    return await factors_db.versions(conn, FactorVersion)


async def latest(conn: AsyncConnection, kind: FactorKind, method: CoalMethod | None = None) -> str:
    """The newest version of a kind (and method): the default of every computation."""
    found = await factors_db.latest(conn, kind, method)
    if found is None:
        of = f" of method {method}" if method else ""
        raise UnknownFactorVersion(f"no {kind} factors{of} in the database")
    return found


async def choose(
    conn: AsyncConnection,
    *,
    year: int,
    coal_version: str | None,
    carbon_version: str | None,
    region: str,
    coal_method: CoalMethod | None = None,
) -> Factors:
    """The factors for a period starting in `year`. Without a standard-coal version named, the newest of
    `coal_method` (default: calorific equivalent, so that a newer equivalent-value set never becomes the default).

    Raises:
        UnknownFactorVersion: a version named that is not of its kind, or no version of the method named.
        MethodMismatch: the standard-coal version named is of another method than the one named.
    """
    coal_version = coal_version or await latest(conn, "standard_coal", coal_method or DEFAULT_COAL_METHOD)
    carbon_version = carbon_version or await latest(conn, "carbon")
    for version, kind in ((coal_version, "standard_coal"), (carbon_version, "carbon")):
        if not await factors_db.exists(conn, version, kind):
            raise UnknownFactorVersion(f"no {kind} factor version {version!r} (GET /factors lists them)")
    if coal_method is not None and (found := await factors_db.method(conn, coal_version)) != coal_method:
        raise MethodMismatch(f"standard_coal factor version {coal_version!r} is of method {found}, not {coal_method}")
    coal = {e: (u, Decimal(f)) for e, u, f in await factors_db.coal_per_unit(conn, coal_version)}
    carbon: dict[str, tuple[str, Decimal]] = {}
    electricity_year = None
    for energy_type, unit, value, factor_year in await factors_db.carbon_for_year(
        conn, carbon_version, region=region, year=year
    ):
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
    year: int | None = Field(default=None, ge=FIRST_YEAR, le=LAST_YEAR)
    unit: str = Field(pattern=NO_NUL, max_length=16)
    kgco2_per_unit: PositiveDecimal


class FactorSetCreate(BaseModel):
    """A new version: versions are never changed once made, so a published figure can always be recomputed."""

    model_config = ConfigDict(extra="forbid")

    version: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    kind: FactorKind
    method: CoalMethod | None = Field(
        default=None,
        description="standard coal only, and required there: calorific_equivalent (当量值) or equivalent_value "
        "(等价值)",
    )
    title: str = Field(min_length=1, max_length=200, pattern=NO_NUL)
    source: str = Field(min_length=1, max_length=1000, pattern=NO_NUL, description="the standard or publication")
    published_on: date | None = None
    intended_use: str | None = Field(default=None, min_length=1, max_length=1000, pattern=NO_NUL)
    unconfirmed: str | None = Field(
        default=None, min_length=1, max_length=1000, pattern=NO_NUL, description="what was not checked, if anything"
    )
    coal: list[NewCoalFactor] = []
    carbon: list[NewCarbonFactor] = []

    @model_validator(mode="after")
    def _values_fit_kind(self) -> FactorSetCreate:
        if (self.kind == "standard_coal") != (self.method is not None):
            raise ValueError("a standard_coal version names its method (当量值/等价值); a carbon version none")
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
            expected = REPORT_UNIT[energy_type]  # a factor is per the unit consumption is reported in
            if unit != expected:
                raise ValueError(f"{energy_type} factors are per {expected}, not per {unit}")
        return self


class VersionTaken(Conflict):
    """A factor version of that name exists (versions are immutable) (409)."""


async def factor_set(conn: AsyncConnection, version: str) -> FactorSet | None:
    head = await factors_db.version(conn, FactorVersion, version)
    if head is None:
        return None
    coal = await factors_db.coal_factors(conn, CoalFactor, version)
    carbon = await factors_db.carbon_factors(conn, CarbonFactor, version)
    return FactorSet(version=head, coal=coal, carbon=carbon)


async def create(conn: AsyncConnection, new: FactorSetCreate) -> None:
    """Store a new version and its values in one transaction.

    Raises:
        VersionTaken: the version exists.
    """
    async with conn.transaction():
        added = await factors_db.add_version(
            conn,
            new.version,
            kind=new.kind,
            method=new.method,
            title=new.title,
            source=new.source,
            published_on=new.published_on,
            intended_use=new.intended_use,
            unconfirmed=new.unconfirmed,
        )
        if not added:
            raise VersionTaken(f"factor version {new.version!r} exists; versions are never changed: name a new one")
        await factors_db.add_values(
            conn,
            new.version,
            coal=[(f.energy_type, f.unit, f.kgce_per_unit) for f in new.coal],
            carbon=[(f.energy_type, f.region, f.year, f.unit, f.kgco2_per_unit) for f in new.carbon],
        )
