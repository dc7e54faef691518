"""The registry as the API serves and changes it: organisations, institutions, meters, vehicles and each unit's
allocation quota of vehicles (编制), within a Scope.

What comes in is validated with the models of db/registry.py, the one definition of each item's fields and rules;
`api_model` derives the API's bodies from them, adding only what the storage imposes (text without NUL characters,
integers that fit an `integer` column, finite numbers). Writes go through db/registry.py's `import_document`
(an upsert) except the insert of a new item, which must not replace one that exists.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from copy import copy
from dataclasses import dataclass
from datetime import date
from types import UnionType
from typing import Annotated, Any, Final, Generic, Literal, TypeVar, Union, cast, get_args, get_origin

import annotated_types
import psycopg
from psycopg import AsyncConnection, sql
from psycopg.rows import class_row
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, model_validator

from api.access import Scope
from api.errors import Text
from api.paging import Page
from db import marks
from db.registry import Institution, InstitutionYear, Meter, RegistryDocument, Vehicle, import_document

T = TypeVar("T", bound=BaseModel)
M = TypeVar("M", bound=BaseModel)


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
    key_energy_unit: bool
    in_assessment: bool


class InstitutionYearPublic(BaseModel):
    """An institution's floor area (m²) and energy-using headcount in one year (null: not known)."""

    year: int
    floor_area_m2: float | None
    headcount: int | None


class InstitutionInYear(InstitutionPublic):
    """An institution with its figures of one year, as the registry export lists it."""

    year: int
    floor_area_m2: float | None
    headcount: int | None


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


class MeterOfInstitution(MeterPublic):
    """A meter with its institution's name, as the registry export lists it."""

    institution_name: str


# Where a vehicle is in its life: in service, in the workshop, or gone for good (auctioned or scrapped).
Lifecycle = Literal["active", "maintenance", "retired"]
RetiredHow = Literal["auctioned", "scrapped"]


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
    lifecycle: Lifecycle
    in_service_on: date | None
    retired_on: date | None
    retired_how: RetiredHow | None


class VehicleOfOrganisation(VehiclePublic):
    """A vehicle with its organisation's name, as the registry export lists it."""

    organisation_name: str


class VehicleQuotaPublic(BaseModel):
    """An organisation's allocation quota of vehicles (编制) against the vehicles it holds."""

    organisation_id: str
    organisation_name: str
    allowed: int | None  # null: no quota set
    vehicles: int  # not retired: in service or in the workshop
    over_quota: bool  # more vehicles than allowed


# ---------------------------------------------------------------------------------------------------------------
# What comes in


class MeterRecord(Meter):
    """A meter as the registry keeps it: db/registry.py's Meter with the date it was replaced, and the rules the
    meter table holds that the Meter model does not state (a sub-item is of electricity; no replacement before
    the installation)."""

    replaced_on: date | None = None

    @model_validator(mode="after")
    def _dates_and_sub_item(self) -> MeterRecord:
        if self.sub_item is not None and self.energy_type != "electricity":
            raise ValueError(f"a sub-item (分项) belongs to electricity meters, not to a {self.energy_type} meter")
        if self.installed_on and self.replaced_on and self.replaced_on < self.installed_on:
            raise ValueError(f"replaced on {self.replaced_on} is before installed on {self.installed_on}")
        return self


# VIN (车架号, ISO 3779 and GB 16735): 17 letters and digits, without I, O and Q, which read as 1 and 0.
VIN_PATTERN: Final = r"^[A-HJ-NPR-Z0-9]{17}$"
# The energies of a vehicle that carries a traction battery.
BATTERY_ENERGIES: Final = frozenset({"battery_electric", "plug_in_hybrid"})


class VehicleRecord(Vehicle):
    """A vehicle as the registry keeps it: db/registry.py's Vehicle with where it is in its life (in service, in
    the workshop, or retired: when and how it left the fleet), and the rules that the Vehicle model does not state
    (a plate, a well-formed VIN, seats that a vehicle can have, a battery of a vehicle that runs on one, and a
    retirement with its day and manner, after the vehicle entered service)."""

    plate: str = Field(min_length=1, max_length=16, description="车牌号码, e.g. 赣H·D12345")
    vin: str | None = Field(
        default=None, pattern=VIN_PATTERN, description="车架号: 17 capital letters and digits, without I, O or Q"
    )
    seats: int | None = Field(default=None, gt=0, le=99, description="核定座位数, the driver's seat included")
    lifecycle: Lifecycle = Field(
        default="active", description="active: in service; maintenance: in the workshop; retired: left the fleet"
    )
    in_service_on: date | None = Field(default=None, description="启用: the day it entered service")
    retired_on: date | None = Field(default=None, description="处置: the day it was auctioned or scrapped")
    retired_how: RetiredHow | None = Field(default=None, description="处置方式 of a retired vehicle")

    @model_validator(mode="after")
    def _battery_and_retirement(self) -> VehicleRecord:
        if self.battery_kwh is not None and self.energy not in BATTERY_ENERGIES:
            raise ValueError(
                f"a battery capacity is of battery-electric and plug-in hybrid vehicles, not of a {self.energy} one"
            )
        if self.lifecycle == "retired" and (self.retired_on is None or self.retired_how is None):
            raise ValueError(
                "a retired vehicle needs the day it left (retired_on) and how (retired_how: auctioned or scrapped)"
            )
        if self.lifecycle != "retired" and (self.retired_on is not None or self.retired_how is not None):
            raise ValueError(f"retired_on and retired_how are of a retired vehicle, and this one is {self.lifecycle}")
        if self.in_service_on and self.retired_on and self.retired_on < self.in_service_on:
            raise ValueError(f"retired on {self.retired_on} is before in service on {self.in_service_on}")
        return self


# PostgreSQL's `integer` (int4), the column type of headcounts and years.
_INTEGER_MAX = 2**31 - 1
_Integer = Annotated[int, Field(ge=-_INTEGER_MAX - 1, le=_INTEGER_MAX)]
_Finite = Annotated[float, Field(allow_inf_nan=False)]


def _storable(annotation: Any, constrained_text: bool) -> Any:
    # str -> text without NUL (unless a pattern of the field already says what it holds), int -> int4, float -> finite.
    if get_origin(annotation) in (Union, UnionType):
        return Union[tuple(_storable(arg, constrained_text) for arg in get_args(annotation))]  # noqa: UP007
    if annotation is str and not constrained_text:
        return Text
    if annotation is int:
        return _Integer
    if annotation is float:
        return _Finite
    return annotation


def api_model(base: type[M], *, partial: bool = False, exclude: Collection[str] = ()) -> type[M]:
    """A model of the fields of `base` (a model of db/registry.py) for the API's bodies and the registry import.

    Each field keeps its type, constraints and default; what the database cannot store is refused in the schema:
    text with NUL characters, integers beyond `integer`, infinities and NaN.

    Args:
        base: the model whose fields the new model has; a whole one (neither `partial` nor `exclude`) is a subclass
            of `base` and runs its validators too.
        partial: every field optional (absent: unchanged) and null refused where `base` refuses it: a PATCH body,
            whose fields sent are the fields changed (`model_dump(exclude_unset=True)`). `base`'s validators, which
            need the whole item, are not run: validate the changed item with the whole model.
        exclude: fields left out (ids that the path gives).
    """
    fields: dict[str, Any] = {}
    for name, info in base.model_fields.items():
        if name in exclude:
            continue
        field = copy(info)
        if partial:
            field.default = None
        constrained = any(getattr(item, "pattern", None) for item in field.metadata)
        fields[name] = (_storable(field.annotation, constrained), field)
    if partial or exclude:
        model = create_model(f"{base.__name__}Fields", __config__=ConfigDict(extra="forbid"), **fields)
    else:
        model = create_model(f"{base.__name__}Fields", __base__=base, **fields)
    return cast("type[M]", model)


# The classes give the bodies their names and their OpenAPI descriptions; their fields are those of the models.
class InstitutionCreate(api_model(Institution)):  # type: ignore[misc]
    """A new institution of an existing organisation."""


class InstitutionUpdate(api_model(Institution, partial=True, exclude={"id"})):  # type: ignore[misc]
    """The fields of an institution to change; those left out stay as they are (its id does not change)."""


class InstitutionYearRecord(api_model(InstitutionYear)):  # type: ignore[misc]
    """An institution's floor area and headcount in one year, as the registry import reads them."""


class YearFigures(api_model(InstitutionYear, exclude={"institution_id", "year"})):  # type: ignore[misc]
    """An institution's floor area (m²) and energy-using headcount (用能人数) for one year; null: not known."""


class MeterCreate(api_model(MeterRecord)):  # type: ignore[misc]
    """A new meter of an existing institution: its unit must be one its energy type counts in."""


class MeterUpdate(api_model(MeterRecord, partial=True, exclude={"id"})):  # type: ignore[misc]
    """The fields of a meter to change; those left out stay as they are (its id does not change)."""


class VehicleCreate(api_model(VehicleRecord)):  # type: ignore[misc]
    """A new vehicle of an existing organisation: in service unless said otherwise."""


class VehicleUpdate(api_model(VehicleRecord, partial=True, exclude={"id"})):  # type: ignore[misc]
    """The fields of a vehicle to change; those left out stay as they are (its id does not change). Retiring it
    takes the day and manner: {"lifecycle": "retired", "retired_on": "2025-06-30", "retired_how": "auctioned"}."""


class VehicleQuotaSet(BaseModel):
    """An organisation's allocation quota of vehicles (编制); null: none."""

    model_config = ConfigDict(extra="forbid")

    allowed: _Integer | None = Field(ge=0, description="how many vehicles, not retired, the unit may hold")


def _bounds(model: type[BaseModel], name: str) -> tuple[int, int]:
    metadata = model.model_fields[name].metadata
    low = next(item.ge for item in metadata if isinstance(item, annotated_types.Ge))
    high = next(item.le for item in metadata if isinstance(item, annotated_types.Le))
    return cast(int, low), cast(int, high)


# The years an institution's figures may be given for (db/registry.py's InstitutionYear.year).
YEARS = _bounds(InstitutionYear, "year")


class RegistryRefused(ValueError):
    """A write that does not fit the registry; the message says why."""


class IdTaken(RegistryRefused):
    """An item of this kind and id exists already."""


class Conflict(RegistryRefused):
    """A write that conflicts with what the registry or dispatch holds: a plate or terminal of another vehicle in
    the fleet, a retired vehicle brought back, a vehicle retired while on an open trip request."""


def problem_of(error: ValidationError) -> str:
    """A ValidationError in one sentence: 'field: message; ...'."""
    return "; ".join(
        f"{'.'.join(map(str, item['loc']))}: {item['msg']}"
        if item["loc"]
        else item["msg"].removeprefix("Value error, ")
        for item in error.errors()
    )


# ---------------------------------------------------------------------------------------------------------------
# Reads


@dataclass(frozen=True, slots=True)
class _Kind(Generic[T]):
    """One kind of registry item: its SELECT, its key column and its organisation column (for the Scope)."""

    model: type[T]
    select: sql.Composable
    key: str
    organisation: str


_ORGANISATIONS = _Kind(OrganisationPublic, sql.SQL("SELECT o.id, o.name, o.kind FROM organisation o"), "o.id", "o.id")
_INSTITUTION_COLUMNS = sql.SQL(
    """i.id, i.organisation_id, i.name, i.category, i.district, i.latitude, i.longitude,
       i.key_energy_unit, i.in_assessment"""
)
_INSTITUTIONS = _Kind(
    InstitutionPublic,
    sql.SQL("SELECT {columns} FROM institution i").format(columns=_INSTITUTION_COLUMNS),
    "i.id",
    "i.organisation_id",
)
_METER_COLUMNS = sql.SQL(
    """m.id, m.institution_id, i.organisation_id, m.energy_type, m.unit, m.sub_item, m.multiplier,
       m.register_max, m.max_rate, m.installed_on, m.replaced_on"""
)
_METERS = _Kind(
    MeterPublic,
    sql.SQL("SELECT {columns} FROM meter m JOIN institution i ON i.id = m.institution_id").format(
        columns=_METER_COLUMNS
    ),
    "m.id",
    "i.organisation_id",
)
_VEHICLE_COLUMNS = sql.SQL(
    """v.id, v.organisation_id, v.plate, v.vin, v.vehicle_type, v.energy, v.seats, v.battery_kwh, v.terminal_id,
       v.home_institution_id, v.lifecycle, v.in_service_on, v.retired_on, v.retired_how"""
)
_VEHICLES = _Kind(
    VehiclePublic,
    sql.SQL("SELECT {columns} FROM vehicle v").format(columns=_VEHICLE_COLUMNS),
    "v.id",
    "v.organisation_id",
)
# Each organisation with its quota and its vehicles not retired (the index vehicle_organisation counts them).
_VEHICLE_QUOTAS = _Kind(
    VehicleQuotaPublic,
    sql.SQL(
        """SELECT * FROM (
               SELECT o.id AS organisation_id, o.name AS organisation_name, q.allowed, held.vehicles,
                      coalesce(held.vehicles > q.allowed, false) AS over_quota
               FROM organisation o
               LEFT JOIN vehicle_quota q ON q.organisation_id = o.id
               CROSS JOIN LATERAL (SELECT count(*) AS vehicles FROM vehicle v
                                   WHERE v.organisation_id = o.id AND v.lifecycle <> 'retired') AS held
           ) AS quota"""
    ),
    "quota.organisation_id",
    "quota.organisation_id",
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
    # The key's column is the item's field that the next page starts after.
    next_after = getattr(items[-1], kind.key.rsplit(".", 1)[-1]) if len(items) == limit else None
    return Page[kind.model](items=items, next_after=next_after)  # type: ignore[name-defined]


async def _one(conn: AsyncConnection, kind: _Kind[T], scope: Scope, id_: str) -> T | None:
    found = await _many(conn, kind, scope, [id_])
    return found[0] if found else None


async def _many(
    conn: AsyncConnection, kind: _Kind[T], scope: Scope, ids: Sequence[str], *, lock: bool = False
) -> list[T]:
    # `lock`: the rows of the kind's own table are locked until the transaction ends (not the joined ones).
    query = sql.SQL("{select} WHERE {key} = ANY(%s) AND {scope} ORDER BY {key}{lock}").format(
        select=kind.select,
        key=_column(kind.key),
        scope=scope.condition(kind.organisation),
        lock=sql.SQL(" FOR UPDATE OF {}").format(sql.Identifier(kind.key.split(".")[0])) if lock else sql.SQL(""),
    )
    async with conn.cursor(row_factory=class_row(kind.model)) as cur:
        await cur.execute(query, [list(ids)])
        return await cur.fetchall()


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


async def institution_years(conn: AsyncConnection, institution_id: str) -> list[InstitutionYearPublic]:
    """The yearly figures of an institution, in year order (find the institution within the scope first)."""
    async with conn.cursor(row_factory=class_row(InstitutionYearPublic)) as cur:
        await cur.execute(
            """SELECT year, floor_area_m2, headcount FROM institution_year WHERE institution_id = %s ORDER BY year""",
            [institution_id],
        )
        return await cur.fetchall()


async def institutions_in_year(conn: AsyncConnection, scope: Scope, year: int) -> list[InstitutionInYear]:
    """Every institution in the scope with its floor area and headcount of `year` (null where not given), in id
    order."""
    query = sql.SQL(
        """SELECT {columns}, %s AS year, y.floor_area_m2, y.headcount
           FROM institution i LEFT JOIN institution_year y ON y.institution_id = i.id AND y.year = %s
           WHERE {scope} ORDER BY i.id"""
    ).format(columns=_INSTITUTION_COLUMNS, scope=scope.condition("i.organisation_id"))
    async with conn.cursor(row_factory=class_row(InstitutionInYear)) as cur:
        await cur.execute(query, [year, year])
        return await cur.fetchall()


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


async def meters_of_institutions(conn: AsyncConnection, scope: Scope) -> list[MeterOfInstitution]:
    """Every meter in the scope with its institution's name, in id order."""
    query = sql.SQL(
        """SELECT {columns}, i.name AS institution_name
           FROM meter m JOIN institution i ON i.id = m.institution_id WHERE {scope} ORDER BY m.id"""
    ).format(columns=_METER_COLUMNS, scope=scope.condition("i.organisation_id"))
    async with conn.cursor(row_factory=class_row(MeterOfInstitution)) as cur:
        await cur.execute(query)
        return await cur.fetchall()


async def vehicles(
    conn: AsyncConnection,
    scope: Scope,
    *,
    after: str | None,
    limit: int,
    organisation_id: str | None = None,
    energy: str | None = None,
    lifecycle: str | None = None,
) -> Page[VehiclePublic]:
    """The vehicles of the organisations in the scope, optionally of one organisation, energy or lifecycle."""
    filters = {"v.organisation_id": organisation_id, "v.energy": energy, "v.lifecycle": lifecycle}
    return await _list(conn, _VEHICLES, scope, after=after, limit=limit, filters=filters)


async def vehicle(conn: AsyncConnection, scope: Scope, vehicle_id: str) -> VehiclePublic | None:
    """One vehicle, or None when it does not exist or is outside the scope."""
    return await _one(conn, _VEHICLES, scope, vehicle_id)


async def vehicles_of_organisations(conn: AsyncConnection, scope: Scope) -> list[VehicleOfOrganisation]:
    """Every vehicle in the scope, retired ones included, with its organisation's name, in id order."""
    query = sql.SQL(
        """SELECT {columns}, o.name AS organisation_name
           FROM vehicle v JOIN organisation o ON o.id = v.organisation_id WHERE {scope} ORDER BY v.id"""
    ).format(columns=_VEHICLE_COLUMNS, scope=scope.condition("v.organisation_id"))
    async with conn.cursor(row_factory=class_row(VehicleOfOrganisation)) as cur:
        await cur.execute(query)
        return await cur.fetchall()


async def vehicle_quotas(
    conn: AsyncConnection, scope: Scope, *, after: str | None, limit: int
) -> Page[VehicleQuotaPublic]:
    """The organisations in the scope, each with its allocation quota (编制) and its vehicles not retired."""
    return await _list(conn, _VEHICLE_QUOTAS, scope, after=after, limit=limit, filters={})


async def vehicle_quota(conn: AsyncConnection, scope: Scope, organisation_id: str) -> VehicleQuotaPublic | None:
    """An organisation's allocation quota and vehicles not retired, or None when it is not one in the scope."""
    return await _one(conn, _VEHICLE_QUOTAS, scope, organisation_id)


# ---------------------------------------------------------------------------------------------------------------
# Writes: each in one transaction, through the Scope (an item outside it is one that does not exist).


async def visible_organisations(conn: AsyncConnection, scope: Scope, ids: Collection[str]) -> set[str]:
    """Those of `ids` that are organisations in the scope."""
    found = await _many(conn, _ORGANISATIONS, scope, sorted(set(ids)))
    return {item.id for item in found}


async def visible_institutions(conn: AsyncConnection, scope: Scope, ids: Collection[str]) -> set[str]:
    """Those of `ids` that are institutions in the scope."""
    found = await _many(conn, _INSTITUTIONS, scope, sorted(set(ids)))
    return {item.id for item in found}


async def institutions_to_change(
    conn: AsyncConnection, scope: Scope, ids: Collection[str]
) -> tuple[dict[str, InstitutionPublic], set[str]]:
    """Those of `ids` that are institutions, locked until the transaction ends: those in the scope by id, and the
    ids taken outside it (which a write must not touch)."""
    visible = {item.id: item for item in await _many(conn, _INSTITUTIONS, scope, sorted(set(ids)), lock=True)}
    return visible, await _taken(conn, "institution", ids) - set(visible)


async def meters_to_change(
    conn: AsyncConnection, scope: Scope, ids: Collection[str]
) -> tuple[dict[str, MeterPublic], set[str]]:
    """Those of `ids` that are meters, locked until the transaction ends: those in the scope by id, and the ids
    taken outside it."""
    visible = {item.id: item for item in await _many(conn, _METERS, scope, sorted(set(ids)), lock=True)}
    return visible, await _taken(conn, "meter", ids) - set(visible)


async def vehicles_to_change(
    conn: AsyncConnection, scope: Scope, ids: Collection[str]
) -> tuple[dict[str, VehiclePublic], set[str]]:
    """Those of `ids` that are vehicles, locked until the transaction ends (a dispatch of them waits, and a
    dispatch under way is waited for): those in the scope by id, and the ids taken outside it."""
    visible = {item.id: item for item in await _many(conn, _VEHICLES, scope, sorted(set(ids)), lock=True)}
    return visible, await _taken(conn, "vehicle", ids) - set(visible)


async def open_requests(conn: AsyncConnection, vehicle_ids: Collection[str]) -> dict[str, tuple[int, str]]:
    """The open trip request (dispatched or under way) of each of these vehicles that has one: its id and state.

    Lock the vehicles first (`vehicles_to_change`), and ask in a statement of its own: a dispatch locks its vehicle
    before it opens the request, so this sees every request opened before the lock was had."""
    # Here, not at the top: api.requests imports api.drivers, whose PATCH body is made by `api_model` here.
    from api.requests import OPEN_STATES  # noqa: PLC0415

    if not vehicle_ids:
        return {}
    cur = await conn.execute(
        "SELECT vehicle_id, id, state FROM trip_request WHERE vehicle_id = ANY(%s) AND state = ANY(%s)",
        [sorted(set(vehicle_ids)), sorted(OPEN_STATES)],
    )
    return {row[0]: (row[1], row[2]) for row in await cur.fetchall()}


def lifecycle_problem(before: VehiclePublic | None, lifecycle: str, open_request: tuple[int, str] | None) -> str | None:
    """Why a vehicle cannot go from `before` (None: a new vehicle) to `lifecycle`, or None when it can: a retired
    vehicle does not come back, and a vehicle on an open trip request (`open_request`) is not retired. Asked before
    the changed vehicle is validated: these say more than what the vehicle would lack."""
    if before is None or (before.lifecycle == "retired") == (lifecycle == "retired"):
        return None
    name = f"vehicle {before.id} ({before.plate})"
    if before.lifecycle == "retired":
        return (
            f"{name} is retired: a retired vehicle does not come back into the fleet; register the vehicle that "
            "replaces it as a new one"
        )
    if open_request is not None:
        request_id, state = open_request
        return (
            f"{name} is on request {request_id}, which is {state.replace('_', ' ')}: a vehicle on an open request "
            "cannot be retired; cancel the request or record its return first"
        )
    return None


async def fleet_holders(
    conn: AsyncConnection, scope: Scope, items: Collection[VehicleRecord]
) -> dict[tuple[str, str], str]:
    """The plates and terminals of these vehicles that another vehicle of the fleet (not retired, and not among
    `items`) holds: (vehicle id, "plate" or "terminal_id") -> why it cannot have it. A plate and a terminal are one
    vehicle's until that vehicle is retired (db/migrations/0012_vehicle_registry.sql)."""
    fleet = [item for item in items if item.lifecycle != "retired"]
    plates = {item.plate for item in fleet}
    terminals = {item.terminal_id for item in fleet if item.terminal_id is not None}
    if not fleet:
        return {}
    cur = await conn.execute(
        """SELECT id, organisation_id, plate, terminal_id FROM vehicle
           WHERE lifecycle <> 'retired' AND id <> ALL(%s) AND (plate = ANY(%s) OR terminal_id = ANY(%s))""",
        [sorted({item.id for item in items}), sorted(plates), sorted(terminals)],
    )
    plate_of: dict[str, str] = {}
    terminal_of: dict[str, str] = {}
    for holder_id, organisation_id, plate, terminal_id in await cur.fetchall():
        holder = f"vehicle {holder_id}" if scope.allows(organisation_id) else "a vehicle of another organisation"
        plate_of.setdefault(plate, holder)
        if terminal_id is not None:
            terminal_of.setdefault(terminal_id, holder)
    found: dict[tuple[str, str], str] = {}
    for item in fleet:
        if item.plate in plate_of:
            found[item.id, "plate"] = (
                f"plate {item.plate} is that of {plate_of[item.plate]}: a plate is one vehicle's until that vehicle "
                "is retired"
            )
        if item.terminal_id in terminal_of:
            found[item.id, "terminal_id"] = (
                f"terminal {item.terminal_id} is fitted to {terminal_of[item.terminal_id]}: take it off that vehicle "
                "first"
            )
    return found


async def _taken(conn: AsyncConnection, table: str, ids: Collection[str]) -> set[str]:
    query = sql.SQL("SELECT id FROM {} WHERE id = ANY(%s)").format(sql.Identifier(table))
    cur = await conn.execute(query, [sorted(set(ids))])
    return {row[0] for row in await cur.fetchall()}


async def years_to_change(
    conn: AsyncConnection, keys: Collection[tuple[str, int]]
) -> dict[tuple[str, int], InstitutionYearPublic]:
    """The stored figures of these (institution id, year) pairs, locked until the transaction ends."""
    if not keys:
        return {}
    ids, years = zip(*sorted(set(keys)), strict=True)
    cur = await conn.execute(
        """SELECT y.institution_id, y.year, y.floor_area_m2, y.headcount
           FROM institution_year y JOIN unnest(%s::text[], %s::integer[]) AS k (institution_id, year)
                USING (institution_id, year)
           FOR UPDATE OF y""",
        [list(ids), list(years)],
    )
    return {
        (row[0], row[1]): InstitutionYearPublic(year=row[1], floor_area_m2=row[2], headcount=row[3])
        for row in await cur.fetchall()
    }


# What the consumption roll-up reads of a meter (api/energy/rollup.py): a change recounts the meter's history.
COUNTING_FIELDS = ("multiplier", "register_max", "max_rate")


async def recount(conn: AsyncConnection, meter_ids: Collection[str]) -> None:
    """Mark meters for the roll-up to recount from their first reading: their multiplier, register maximum or
    most per hour changed, and every day counted with the old ones is wrong (a meter without readings has none).

    The mark is the first reading's time, as the collector marks new readings (db/marks.py), not '-infinity',
    which psycopg cannot load as a datetime when the roll-up reads the marks."""
    if not meter_ids:
        return
    cur = await conn.execute(
        """SELECT m.id, first.time FROM unnest(%s::text[]) AS m (id)
           CROSS JOIN LATERAL (SELECT time FROM reading WHERE meter_id = m.id ORDER BY time LIMIT 1) AS first""",
        [sorted(set(meter_ids))],
    )
    await marks.CONSUMPTION.mark(conn, dict(await cur.fetchall()))


async def write(
    conn: AsyncConnection,
    *,
    institutions: Sequence[Institution] = (),
    years: Sequence[InstitutionYear] = (),
    meters: Sequence[MeterRecord] = (),
    vehicles: Sequence[VehicleRecord] = (),
) -> None:
    """Insert or update these items with all their fields (db/registry.py's import), in one transaction.

    Raises:
        Conflict: a plate or terminal was given to another vehicle by a write that committed meanwhile.
    """
    document = RegistryDocument(
        institutions=list(institutions), institution_years=list(years), meters=list(meters), vehicles=list(vehicles)
    )
    try:
        await import_document(conn, document)
    except psycopg.errors.UniqueViolation as exc:
        # Checked before writing (`fleet_holders`); this is a race with another write, or a swap of two plates.
        raise Conflict(
            f"a plate or terminal is another vehicle's ({exc.diag.message_detail}): look at both vehicles and send "
            "the change again"
        ) from exc


async def clear_years(conn: AsyncConnection, keys: Collection[tuple[str, int]]) -> None:
    """Delete the figures of these (institution id, year) pairs: none of them is known."""
    if not keys:
        return
    ids, years = zip(*sorted(set(keys)), strict=True)
    await conn.execute(
        """DELETE FROM institution_year y USING unnest(%s::text[], %s::integer[]) AS k (institution_id, year)
           WHERE y.institution_id = k.institution_id AND y.year = k.year""",
        [list(ids), list(years)],
    )


async def _insert_new(conn: AsyncConnection, table: str, item: BaseModel) -> bool:
    columns = list(type(item).model_fields)
    query = sql.SQL("INSERT INTO {table} ({columns}) VALUES ({values}) ON CONFLICT (id) DO NOTHING").format(
        table=sql.Identifier(table),
        columns=sql.SQL(", ").join(map(sql.Identifier, columns)),
        values=sql.SQL(", ").join(sql.Placeholder() * len(columns)),
    )
    cur = await conn.execute(query, [getattr(item, column) for column in columns])
    return cur.rowcount == 1


async def create_institution(conn: AsyncConnection, scope: Scope, item: Institution) -> InstitutionPublic:
    """Add an institution to an organisation in the scope.

    Raises:
        IdTaken: an institution of this id exists (wherever it belongs).
        RegistryRefused: the organisation does not exist or is outside the scope.
    """
    async with conn.transaction():
        await _organisation_in_scope(conn, scope, item.organisation_id)
        if not await _insert_new(conn, "institution", item):
            raise IdTaken(f"there is already an institution {item.id}: change it with PATCH /institutions/{item.id}")
    created = await institution(conn, scope, item.id)
    assert created is not None  # inserted in the scope just now
    return created


async def update_institution(
    conn: AsyncConnection, scope: Scope, institution_id: str, changes: dict[str, Any]
) -> InstitutionPublic | None:
    """Change fields of an institution in the scope; the changed institution is validated as a whole.

    Returns:
        The institution as changed, or None when there is none of this id in the scope.

    Raises:
        RegistryRefused: the changed institution does not fit, or its new organisation is not in the scope.
    """
    async with conn.transaction():
        current = (await institutions_to_change(conn, scope, [institution_id]))[0].get(institution_id)
        if current is None:
            return None
        try:
            changed = InstitutionCreate.model_validate({**_fields_of(Institution, current), **changes})
        except ValidationError as exc:
            raise RegistryRefused(problem_of(exc)) from exc
        if changed.organisation_id != current.organisation_id:
            await _organisation_in_scope(conn, scope, changed.organisation_id)
        await write(conn, institutions=[changed])
    return await institution(conn, scope, institution_id)


async def put_year(
    conn: AsyncConnection, scope: Scope, institution_id: str, year: int, figures: YearFigures
) -> InstitutionYearPublic | None:
    """Set an institution's floor area and headcount of a year.

    Returns:
        The figures as stored, or None when there is no institution of this id in the scope.
    """
    async with conn.transaction():
        if not (await institutions_to_change(conn, scope, [institution_id]))[0]:
            return None
        item = InstitutionYear(institution_id=institution_id, year=year, **figures.model_dump())
        if item.floor_area_m2 is None and item.headcount is None:
            await clear_years(conn, [(institution_id, year)])  # nothing known of the year: no row
        else:
            await write(conn, years=[item])
    return InstitutionYearPublic(year=year, floor_area_m2=item.floor_area_m2, headcount=item.headcount)


async def create_meter(conn: AsyncConnection, scope: Scope, item: MeterRecord) -> MeterPublic:
    """Add a meter to an institution in the scope.

    Raises:
        IdTaken: a meter of this id exists (wherever it belongs).
        RegistryRefused: the institution does not exist or is outside the scope.
    """
    async with conn.transaction():
        await _institution_in_scope(conn, scope, item.institution_id)
        if not await _insert_new(conn, "meter", item):
            raise IdTaken(f"there is already a meter {item.id}: change it with PATCH /meters/{item.id}")
    created = await meter(conn, scope, item.id)
    assert created is not None  # inserted in the scope just now
    return created


async def update_meter(
    conn: AsyncConnection, scope: Scope, meter_id: str, changes: dict[str, Any]
) -> MeterPublic | None:
    """Change fields of a meter in the scope; the changed meter is validated as a whole, and a change of what the
    consumption roll-up counts with (multiplier, register maximum, most per hour) recounts its history.

    Returns:
        The meter as changed, or None when there is none of this id in the scope.

    Raises:
        RegistryRefused: the changed meter does not fit, or its new institution is not in the scope.
    """
    async with conn.transaction():
        current = (await meters_to_change(conn, scope, [meter_id]))[0].get(meter_id)
        if current is None:
            return None
        try:
            changed = MeterCreate.model_validate({**_fields_of(MeterRecord, current), **changes})
        except ValidationError as exc:
            raise RegistryRefused(problem_of(exc)) from exc
        if changed.institution_id != current.institution_id:
            await _institution_in_scope(conn, scope, changed.institution_id)
        await write(conn, meters=[changed])
        if counting_changed(current, changed):
            await recount(conn, [meter_id])
    return await meter(conn, scope, meter_id)


async def create_vehicle(conn: AsyncConnection, scope: Scope, item: VehicleRecord) -> VehiclePublic:
    """Add a vehicle to an organisation in the scope.

    Raises:
        IdTaken: a vehicle of this id exists (wherever it belongs).
        Conflict: another vehicle of the fleet has its plate or terminal.
        RegistryRefused: the organisation or home institution does not exist or is outside the scope.
    """
    async with conn.transaction():
        await _organisation_in_scope(conn, scope, item.organisation_id)
        if item.home_institution_id is not None:
            await _institution_in_scope(conn, scope, item.home_institution_id)
        taken = IdTaken(f"there is already a vehicle {item.id}: change it with PATCH /vehicles/{item.id}")
        if await _taken(conn, "vehicle", [item.id]):
            raise taken
        await _refuse_holders(conn, scope, item)
        try:
            inserted = await _insert_new(conn, "vehicle", item)
        except psycopg.errors.UniqueViolation as exc:
            raise Conflict(f"another vehicle was just given plate {item.plate} or its terminal: send it again") from exc
        if not inserted:
            raise taken
    created = await vehicle(conn, scope, item.id)
    assert created is not None  # inserted in the scope just now
    return created


async def update_vehicle(
    conn: AsyncConnection, scope: Scope, vehicle_id: str, changes: dict[str, Any]
) -> VehiclePublic | None:
    """Change fields of a vehicle in the scope, its lifecycle among them; the changed vehicle is validated as a
    whole.

    Returns:
        The vehicle as changed, or None when there is none of this id in the scope.

    Raises:
        Conflict: a retired vehicle brought back, a vehicle retired while on an open trip request, or a plate or
            terminal that another vehicle of the fleet has.
        RegistryRefused: the changed vehicle does not fit, or its new organisation or home institution is not in
            the scope.
    """
    async with conn.transaction():
        current = (await vehicles_to_change(conn, scope, [vehicle_id]))[0].get(vehicle_id)
        if current is None:
            return None
        lifecycle = changes.get("lifecycle", current.lifecycle)
        problem = lifecycle_problem(current, lifecycle, (await open_requests(conn, [vehicle_id])).get(vehicle_id))
        if problem is not None:
            raise Conflict(problem)
        try:
            changed = VehicleCreate.model_validate({**_fields_of(VehicleRecord, current), **changes})
        except ValidationError as exc:
            raise RegistryRefused(problem_of(exc)) from exc
        if changed.organisation_id != current.organisation_id:
            await _organisation_in_scope(conn, scope, changed.organisation_id)
        home = changed.home_institution_id
        if home is not None and home != current.home_institution_id:
            await _institution_in_scope(conn, scope, home)
        await _refuse_holders(conn, scope, changed)
        await write(conn, vehicles=[changed])
    return await vehicle(conn, scope, vehicle_id)


async def _refuse_holders(conn: AsyncConnection, scope: Scope, item: VehicleRecord) -> None:
    held = await fleet_holders(conn, scope, [item])
    if held:
        raise Conflict("; ".join(held.values()))


async def put_vehicle_quota(
    conn: AsyncConnection, scope: Scope, organisation_id: str, allowed: int | None
) -> VehicleQuotaPublic | None:
    """Set a unit's allocation quota of vehicles (编制); None removes it.

    Returns:
        The quota with the unit's vehicles, or None when there is no organisation of this id in the scope.

    Raises:
        RegistryRefused: the organisation is a service or rental company, whose fleet has no quota.
    """
    async with conn.transaction():
        found = await _many(conn, _ORGANISATIONS, scope, [organisation_id])
        if not found:
            return None
        if found[0].kind != "unit":
            raise RegistryRefused(
                f"{organisation_id} is a {found[0].kind.replace('_', ' ')}: an allocation quota (编制) is a unit's"
            )
        if allowed is None:
            await conn.execute("DELETE FROM vehicle_quota WHERE organisation_id = %s", [organisation_id])
        else:
            await conn.execute(
                """INSERT INTO vehicle_quota (organisation_id, allowed) VALUES (%s, %s)
                   ON CONFLICT (organisation_id) DO UPDATE SET allowed = EXCLUDED.allowed, updated_at = now()""",
                [organisation_id, allowed],
            )
    return await vehicle_quota(conn, scope, organisation_id)


def counting_changed(before: BaseModel, after: BaseModel) -> bool:
    """Whether a meter's change touches what the roll-up counts with."""
    return any(getattr(before, name) != getattr(after, name) for name in COUNTING_FIELDS)


def _fields_of(model: type[BaseModel], item: BaseModel) -> dict[str, Any]:
    return {name: getattr(item, name) for name in model.model_fields}


async def _organisation_in_scope(conn: AsyncConnection, scope: Scope, organisation_id: str) -> None:
    if not await visible_organisations(conn, scope, [organisation_id]):
        raise RegistryRefused(
            f"no organisation {organisation_id}: give the id of an existing organisation (GET /organisations)"
        )


async def _institution_in_scope(conn: AsyncConnection, scope: Scope, institution_id: str) -> None:
    if not await visible_institutions(conn, scope, [institution_id]):
        raise RegistryRefused(
            f"no institution {institution_id}: give the id of an existing institution (GET /institutions)"
        )
