"""The registry as the API reads and changes it, within a Scope: organisations, institutions and their yearly
figures, meters, vehicles with their lifecycle, and each unit's allocation quota of vehicles (编制).

An item outside the scope is one that does not exist (NotFound, never Forbidden: ids of other units do not leak).
Writes take the item whole, validated by the domain's rules (domain/registry.py) and the rules that need the rest of
the registry: an organisation or institution in the scope, a plate or terminal of one vehicle of the fleet, a
retired vehicle that stays retired, a vehicle on an open trip request that is not retired.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any, TypeVar

import psycopg
from psycopg import AsyncConnection
from pydantic import BaseModel, ValidationError

from api.errors import Conflict, NotFound, Refused
from api.paging import Page, page_of
from api.registry.models import (
    DataCentreRoomOfInstitution,
    DataCentreRoomPublic,
    InstitutionCreate,
    InstitutionInYear,
    InstitutionPublic,
    InstitutionYearPublic,
    MeterCreate,
    MeterOfInstitution,
    MeterPublic,
    OrganisationPublic,
    RoomFigures,
    VehicleCreate,
    VehicleOfOrganisation,
    VehiclePublic,
    VehicleQuotaPublic,
    YearFigures,
)
from db import departments as departments_db
from db import registry as registry_db
from db import trip_requests
from db.registry import INSTITUTIONS, METERS, ORGANISATIONS, VEHICLE_QUOTAS, VEHICLES
from db.scope import Scope
from db.table import Table, page, some
from domain.registry import (
    YEAR_FACTS,
    DataCentreRoom,
    Department,
    Institution,
    InstitutionYear,
    MeterRecord,
    RegistryDocument,
    VehicleRecord,
    YearFacts,
    lifecycle_problem,
)

T = TypeVar("T", bound=BaseModel)


def problem_of(error: ValidationError) -> str:
    """A ValidationError in one sentence: 'field: message; ...'."""
    return "; ".join(
        f"{'.'.join(map(str, item['loc']))}: {item['msg']}"
        if item["loc"]
        else item["msg"].removeprefix("Value error, ")
        for item in error.errors()
    )


def _paged(row: type[T], items: list[T], table: Table, limit: int) -> Page[T]:
    return page_of(row, items, limit, table.key_field)


async def _one(conn: AsyncConnection, table: Table, scope: Scope, row: type[T], id_: str, *, what: str) -> T:
    found = await some(conn, table, scope, row, [id_])
    if not found:
        raise NotFound(f"no {what} {id_}")
    return found[0]


# ---------------------------------------------------------------------------------------------------------------
# Reads


async def organisations(
    conn: AsyncConnection, scope: Scope, *, after: str | None, limit: int
) -> Page[OrganisationPublic]:
    """The organisations in the scope."""
    items = await page(conn, ORGANISATIONS, scope, OrganisationPublic, after=after, limit=limit, filters={})
    return _paged(OrganisationPublic, items, ORGANISATIONS, limit)


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
    items = await page(conn, INSTITUTIONS, scope, InstitutionPublic, after=after, limit=limit, filters=filters)
    return _paged(InstitutionPublic, items, INSTITUTIONS, limit)


async def institution(conn: AsyncConnection, scope: Scope, institution_id: str) -> InstitutionPublic:
    """One institution in the scope.

    Raises:
        NotFound: there is none of this id in the scope.
    """
    return await _one(conn, INSTITUTIONS, scope, InstitutionPublic, institution_id, what="institution")


async def institution_years(conn: AsyncConnection, scope: Scope, institution_id: str) -> list[InstitutionYearPublic]:
    """The yearly figures of an institution in the scope, in year order.

    Raises:
        NotFound: there is no institution of this id in the scope.
    """
    await institution(conn, scope, institution_id)
    return await registry_db.institution_years(conn, institution_id, InstitutionYearPublic)


async def institutions_in_year(conn: AsyncConnection, scope: Scope, year: int) -> list[InstitutionInYear]:
    """Every institution in the scope with its floor area and headcount of `year`, in id order."""
    return await registry_db.institutions_in_year(conn, scope, year, InstitutionInYear)


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
    items = await page(conn, METERS, scope, MeterPublic, after=after, limit=limit, filters=filters)
    return _paged(MeterPublic, items, METERS, limit)


async def meter(conn: AsyncConnection, scope: Scope, meter_id: str) -> MeterPublic:
    """One meter in the scope.

    Raises:
        NotFound: there is none of this id in the scope.
    """
    return await _one(conn, METERS, scope, MeterPublic, meter_id, what="meter")


async def meters_of_institutions(conn: AsyncConnection, scope: Scope) -> list[MeterOfInstitution]:
    """Every meter in the scope with its institution's name, in id order."""
    return await registry_db.meters_of_institutions(conn, scope, MeterOfInstitution)


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
    items = await page(conn, VEHICLES, scope, VehiclePublic, after=after, limit=limit, filters=filters)
    return _paged(VehiclePublic, items, VEHICLES, limit)


async def vehicle(conn: AsyncConnection, scope: Scope, vehicle_id: str) -> VehiclePublic:
    """One vehicle in the scope.

    Raises:
        NotFound: there is none of this id in the scope.
    """
    return await _one(conn, VEHICLES, scope, VehiclePublic, vehicle_id, what="vehicle")


async def vehicles_of_organisations(conn: AsyncConnection, scope: Scope) -> list[VehicleOfOrganisation]:
    """Every vehicle in the scope, retired ones included, with its organisation's name, in id order."""
    return await registry_db.vehicles_of_organisations(conn, scope, VehicleOfOrganisation)


async def vehicle_quotas(
    conn: AsyncConnection, scope: Scope, *, after: str | None, limit: int
) -> Page[VehicleQuotaPublic]:
    """The organisations in the scope, each with its allocation quota (编制) and its vehicles not retired."""
    items = await page(conn, VEHICLE_QUOTAS, scope, VehicleQuotaPublic, after=after, limit=limit, filters={})
    return _paged(VehicleQuotaPublic, items, VEHICLE_QUOTAS, limit)


async def vehicle_quota(conn: AsyncConnection, scope: Scope, organisation_id: str) -> VehicleQuotaPublic:
    """An organisation's allocation quota and vehicles not retired.

    Raises:
        NotFound: there is no organisation of this id in the scope.
    """
    return await _one(conn, VEHICLE_QUOTAS, scope, VehicleQuotaPublic, organisation_id, what="organisation")


# ---------------------------------------------------------------------------------------------------------------
# What writes check


async def visible_organisations(conn: AsyncConnection, scope: Scope, ids: Collection[str]) -> set[str]:
    """Those of `ids` that are organisations in the scope."""
    return {item.id for item in await some(conn, ORGANISATIONS, scope, OrganisationPublic, ids)}


async def visible_institutions(conn: AsyncConnection, scope: Scope, ids: Collection[str]) -> set[str]:
    """Those of `ids` that are institutions in the scope."""
    return {item.id for item in await some(conn, INSTITUTIONS, scope, InstitutionPublic, ids)}


Changed = TypeVar("Changed", InstitutionPublic, MeterPublic, VehiclePublic)


async def _to_change(
    conn: AsyncConnection, scope: Scope, ids: Collection[str], *, table: Table, name: str, row: type[Changed]
) -> tuple[dict[str, Changed], set[str]]:
    visible = {item.id: item for item in await some(conn, table, scope, row, ids, lock=True)}
    return visible, await registry_db.taken(conn, name, ids) - set(visible)


async def institutions_to_change(
    conn: AsyncConnection, scope: Scope, ids: Collection[str]
) -> tuple[dict[str, InstitutionPublic], set[str]]:
    """Those of `ids` that are institutions, locked until the transaction ends: those in the scope by id, and the
    ids taken outside it (which a write must not touch)."""
    return await _to_change(conn, scope, ids, table=INSTITUTIONS, name="institution", row=InstitutionPublic)


async def meters_to_change(
    conn: AsyncConnection, scope: Scope, ids: Collection[str]
) -> tuple[dict[str, MeterPublic], set[str]]:
    """Those of `ids` that are meters, locked until the transaction ends: those in the scope by id, and the ids
    taken outside it."""
    return await _to_change(conn, scope, ids, table=METERS, name="meter", row=MeterPublic)


async def vehicles_to_change(
    conn: AsyncConnection, scope: Scope, ids: Collection[str]
) -> tuple[dict[str, VehiclePublic], set[str]]:
    """Those of `ids` that are vehicles, locked until the transaction ends (a dispatch of them waits, and a
    dispatch under way is waited for): those in the scope by id, and the ids taken outside it."""
    return await _to_change(conn, scope, ids, table=VEHICLES, name="vehicle", row=VehiclePublic)


async def years_to_change(
    conn: AsyncConnection, keys: Collection[tuple[str, int]]
) -> dict[tuple[str, int], InstitutionYearPublic]:
    """The stored figures of these (institution id, year) pairs, locked until the transaction ends."""
    stored = await registry_db.years_to_change(conn, keys)
    return {
        (institution_id, year): InstitutionYearPublic(year=year, **facts)
        for (institution_id, year), facts in stored.items()
    }


async def rooms_to_change(
    conn: AsyncConnection, keys: Collection[tuple[str, int, str]]
) -> dict[tuple[str, int, str], RoomFigures]:
    """The stored facts of these (institution id, year, name) data-centre rooms, locked until the transaction
    ends."""
    stored = await registry_db.rooms_to_change(conn, keys)
    return {key: RoomFigures.model_construct(**facts) for key, facts in stored.items()}


async def unknown_departments(conn: AsyncConnection, ids: Collection[str | None]) -> set[str]:
    """Those of `ids` (None ignored) that are no supervising department."""
    wanted = {i for i in ids if i is not None}
    return wanted - await departments_db.existing(conn, wanted)


def no_department(department_id: str) -> str:
    """Why a department id that is none cannot be an institution's or a department's."""
    return f"no department {department_id}: give the id of an existing department (GET /departments)"


async def fleet_holders(
    conn: AsyncConnection, scope: Scope, items: Collection[VehicleRecord]
) -> dict[tuple[str, str], str]:
    """The plates and terminals of these vehicles that another vehicle of the fleet (not retired, and not among
    `items`) holds: (vehicle id, "plate" or "terminal_id") -> why it cannot have it. A plate and a terminal are one
    vehicle's until that vehicle is retired (db/migrations/0012_vehicle_registry.sql)."""
    fleet = [item for item in items if item.lifecycle != "retired"]
    if not fleet:
        return {}
    terminals = {item.terminal_id for item in fleet if item.terminal_id is not None}
    held = await registry_db.fleet_holders(conn, {item.id for item in items}, {item.plate for item in fleet}, terminals)
    plate_of: dict[str, str] = {}
    terminal_of: dict[str, str] = {}
    for holder_id, organisation_id, plate, terminal_id in held:
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


# ---------------------------------------------------------------------------------------------------------------
# Writes: each in one transaction, through the Scope (an item outside it is one that does not exist).


async def write(
    conn: AsyncConnection,
    *,
    departments: Sequence[Department] = (),
    institutions: Sequence[Institution] = (),
    years: Sequence[InstitutionYear] = (),
    rooms: Sequence[DataCentreRoom] = (),
    meters: Sequence[MeterRecord] = (),
    vehicles: Sequence[VehicleRecord] = (),
) -> None:
    """Insert or update these items with all their fields (the registry document's import), in one transaction.

    Raises:
        Conflict: a plate or terminal was given to another vehicle by a write that committed meanwhile.
        Refused: what the items name is not there (a department), or a department would be under itself.
    """
    document = RegistryDocument(
        departments=list(departments),
        institutions=list(institutions),
        institution_years=list(years),
        data_centre_rooms=list(rooms),
        meters=list(meters),
        vehicles=list(vehicles),
    )
    try:
        await registry_db.import_document(conn, document)
    except registry_db.Unfit as exc:
        raise Refused(str(exc)) from exc
    except psycopg.errors.UniqueViolation as exc:
        # Checked before writing (`fleet_holders`); this is a race with another write, or a swap of two plates.
        raise Conflict(
            f"a plate or terminal is another vehicle's ({exc.diag.message_detail}): look at both vehicles and send "
            "the change again"
        ) from exc


async def create_institution(conn: AsyncConnection, scope: Scope, item: Institution) -> InstitutionPublic:
    """Add an institution to an organisation in the scope.

    Raises:
        Conflict: an institution of this id exists (wherever it belongs).
        Refused: the organisation does not exist or is outside the scope.
    """
    async with conn.transaction():
        await _organisation_in_scope(conn, scope, item.organisation_id)
        if not await registry_db.insert_new(conn, "institution", item):
            raise Conflict(f"there is already an institution {item.id}: change it with PATCH /institutions/{item.id}")
    return await institution(conn, scope, item.id)


async def update_institution(
    conn: AsyncConnection, scope: Scope, institution_id: str, changes: Mapping[str, Any]
) -> InstitutionPublic:
    """Change fields of an institution in the scope; the changed institution is validated as a whole.

    Raises:
        NotFound: there is no institution of this id in the scope.
        Refused: the changed institution does not fit, or its new organisation is not in the scope.
    """
    async with conn.transaction():
        current = (await institutions_to_change(conn, scope, [institution_id]))[0].get(institution_id)
        if current is None:
            raise NotFound(f"no institution {institution_id}")
        changed = validated(InstitutionCreate, Institution, current, changes)
        if changed.organisation_id != current.organisation_id:
            await _organisation_in_scope(conn, scope, changed.organisation_id)
        await write(conn, institutions=[changed])
    return await institution(conn, scope, institution_id)


async def put_year(
    conn: AsyncConnection, scope: Scope, institution_id: str, year: int, figures: YearFigures
) -> InstitutionYearPublic:
    """Set an institution's facts of a year (floor area, headcount, the survey's); none known: the year's row is
    removed.

    Raises:
        NotFound: there is no institution of this id in the scope.
        Refused: the supervising department is none.
    """
    async with conn.transaction():
        if not (await institutions_to_change(conn, scope, [institution_id]))[0]:
            raise NotFound(f"no institution {institution_id}")
        item = InstitutionYear(institution_id=institution_id, year=year, **dict(figures))
        if not item.known():
            await registry_db.clear_years(conn, [(institution_id, year)])  # nothing known of the year: no row
        else:
            for department_id in await unknown_departments(conn, [item.department_id]):
                raise Refused(no_department(department_id))
            await write(conn, years=[item])
    return InstitutionYearPublic(year=year, **dict(figures))


async def update_year(
    conn: AsyncConnection, scope: Scope, institution_id: str, year: int, changes: Mapping[str, Any]
) -> InstitutionYearPublic:
    """Change some of an institution's facts of a year (null: not known any more), the others kept; the changed
    year is validated whole, as a PUT of it would be.

    Raises:
        NotFound: there is no institution of this id in the scope.
        Refused: the changed year does not fit, or its supervising department is none.
    """
    async with conn.transaction():
        if not (await institutions_to_change(conn, scope, [institution_id]))[0]:
            raise NotFound(f"no institution {institution_id}")
        stored = (await years_to_change(conn, [(institution_id, year)])).get((institution_id, year))
        current = stored or InstitutionYearPublic(year=year, **dict.fromkeys(YEAR_FACTS))
        figures = validated(YearFigures, YearFacts, current, changes)
        return await put_year(conn, scope, institution_id, year, figures)


async def rooms(
    conn: AsyncConnection, scope: Scope, institution_id: str, year: int | None = None
) -> list[DataCentreRoomPublic]:
    """The data-centre rooms of an institution in the scope (of a year, when given), by year and name.

    Raises:
        NotFound: there is no institution of this id in the scope.
    """
    await institution(conn, scope, institution_id)
    return await registry_db.rooms(conn, scope, DataCentreRoomPublic, institution_id=institution_id, year=year)


async def rooms_in_year(conn: AsyncConnection, scope: Scope, year: int) -> list[DataCentreRoomOfInstitution]:
    """Every data-centre room of `year` of the institutions in the scope, with their names."""
    return await registry_db.rooms(conn, scope, DataCentreRoomOfInstitution, year=year)


async def put_room(
    conn: AsyncConnection, scope: Scope, institution_id: str, year: int, *, name: str, figures: RoomFigures
) -> DataCentreRoomPublic:
    """Set a data-centre room's facts of a year (added when there is none of the name).

    Raises:
        NotFound: there is no institution of this id in the scope.
        Refused: the room's name does not fit.
    """
    async with conn.transaction():
        if not (await institutions_to_change(conn, scope, [institution_id]))[0]:
            raise NotFound(f"no institution {institution_id}")
        try:
            item = DataCentreRoom(institution_id=institution_id, year=year, name=name, **dict(figures))
        except ValidationError as exc:
            raise Refused(problem_of(exc)) from exc
        await write(conn, rooms=[item])
    return DataCentreRoomPublic(**item.model_dump())


async def delete_room(conn: AsyncConnection, scope: Scope, institution_id: str, year: int, name: str) -> None:
    """Remove a data-centre room of a year.

    Raises:
        NotFound: there is no institution of this id in the scope, or it had no room of this name that year.
    """
    async with conn.transaction():
        if not (await institutions_to_change(conn, scope, [institution_id]))[0]:
            raise NotFound(f"no institution {institution_id}")
        if not await registry_db.delete_room(conn, institution_id, year, name):
            raise NotFound(f"institution {institution_id} has no data-centre room {name!r} in {year}")


async def create_meter(conn: AsyncConnection, scope: Scope, item: MeterRecord) -> MeterPublic:
    """Add a meter to an institution in the scope.

    Raises:
        Conflict: a meter of this id exists (wherever it belongs).
        Refused: the institution does not exist or is outside the scope.
    """
    async with conn.transaction():
        await _institution_in_scope(conn, scope, item.institution_id)
        try:
            inserted = await registry_db.insert_new(conn, "meter", item)
        except registry_db.ReservedId as exc:
            raise Refused(str(exc)) from exc
        if not inserted:
            raise Conflict(f"there is already a meter {item.id}: change it with PATCH /meters/{item.id}")
    return await meter(conn, scope, item.id)


async def update_meter(conn: AsyncConnection, scope: Scope, meter_id: str, changes: Mapping[str, Any]) -> MeterPublic:
    """Change fields of a meter in the scope; the changed meter is validated as a whole, and a change of what the
    consumption roll-up counts with (multiplier, register maximum, most per hour) recounts its history.

    Raises:
        NotFound: there is no meter of this id in the scope.
        Refused: the changed meter does not fit, or its new institution is not in the scope.
    """
    async with conn.transaction():
        current = (await meters_to_change(conn, scope, [meter_id]))[0].get(meter_id)
        if current is None:
            raise NotFound(f"no meter {meter_id}")
        changed = validated(MeterCreate, MeterRecord, current, changes)
        if changed.institution_id != current.institution_id:
            await _institution_in_scope(conn, scope, changed.institution_id)
        await write(conn, meters=[changed])  # recounts what the change touches (db/registry.py's import_document)
    return await meter(conn, scope, meter_id)


async def create_vehicle(conn: AsyncConnection, scope: Scope, item: VehicleRecord) -> VehiclePublic:
    """Add a vehicle to an organisation in the scope.

    Raises:
        Conflict: a vehicle of this id exists (wherever it belongs), or another vehicle of the fleet has its plate
            or terminal.
        Refused: the organisation or home institution does not exist or is outside the scope.
    """
    async with conn.transaction():
        await _organisation_in_scope(conn, scope, item.organisation_id)
        if item.home_institution_id is not None:
            await _institution_in_scope(conn, scope, item.home_institution_id)
        taken = Conflict(f"there is already a vehicle {item.id}: change it with PATCH /vehicles/{item.id}")
        if await registry_db.taken(conn, "vehicle", [item.id]):
            raise taken
        await _refuse_holders(conn, scope, item)
        try:
            inserted = await registry_db.insert_new(conn, "vehicle", item)
        except registry_db.ReservedId as exc:
            raise Refused(str(exc)) from exc
        except psycopg.errors.UniqueViolation as exc:
            raise Conflict(f"another vehicle was just given plate {item.plate} or its terminal: send it again") from exc
        if not inserted:
            raise taken
    return await vehicle(conn, scope, item.id)


async def update_vehicle(
    conn: AsyncConnection, scope: Scope, vehicle_id: str, changes: Mapping[str, Any]
) -> VehiclePublic:
    """Change fields of a vehicle in the scope, its lifecycle among them; the changed vehicle is validated as a
    whole.

    Raises:
        NotFound: there is no vehicle of this id in the scope.
        Conflict: a retired vehicle brought back, a vehicle retired while on an open trip request, or a plate or
            terminal that another vehicle of the fleet has.
        Refused: the changed vehicle does not fit, or its new organisation or home institution is not in the scope.
    """
    async with conn.transaction():
        current = (await vehicles_to_change(conn, scope, [vehicle_id]))[0].get(vehicle_id)
        if current is None:
            raise NotFound(f"no vehicle {vehicle_id}")
        lifecycle = changes.get("lifecycle", current.lifecycle)
        open_request = (await trip_requests.open_requests(conn, "vehicle_id", [vehicle_id])).get(vehicle_id)
        problem = lifecycle_problem(current, lifecycle, open_request)
        if problem is not None:
            raise Conflict(problem)
        changed = validated(VehicleCreate, VehicleRecord, current, changes)
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
) -> VehicleQuotaPublic:
    """Set a unit's allocation quota of vehicles (编制); None removes it.

    Raises:
        NotFound: there is no organisation of this id in the scope.
        Refused: the organisation is a service or rental company, whose fleet has no quota.
    """
    async with conn.transaction():
        found = await _one(conn, ORGANISATIONS, scope, OrganisationPublic, organisation_id, what="organisation")
        if found.kind != "unit":
            raise Refused(
                f"{organisation_id} is a {found.kind.replace('_', ' ')}: an allocation quota (编制) is a unit's"
            )
        await registry_db.set_vehicle_quota(conn, organisation_id, allowed)
    return await vehicle_quota(conn, scope, organisation_id)


M = TypeVar("M", bound=BaseModel)


def validated(body: type[M], model: type[BaseModel], current: BaseModel, changes: Mapping[str, Any]) -> M:
    """The item as the changes leave it (the fields of `model` from `current`), validated whole as `body`.

    Raises:
        Refused: the changed item does not fit.
    """
    fields = {name: getattr(current, name) for name in model.model_fields if hasattr(current, name)}
    try:
        return body.model_validate({**fields, **changes})
    except ValidationError as exc:
        raise Refused(problem_of(exc)) from exc


async def _organisation_in_scope(conn: AsyncConnection, scope: Scope, organisation_id: str) -> None:
    if not await visible_organisations(conn, scope, [organisation_id]):
        raise Refused(
            f"no organisation {organisation_id}: give the id of an existing organisation (GET /organisations)"
        )


async def _institution_in_scope(conn: AsyncConnection, scope: Scope, institution_id: str) -> None:
    if not await visible_institutions(conn, scope, [institution_id]):
        raise Refused(f"no institution {institution_id}: give the id of an existing institution (GET /institutions)")
