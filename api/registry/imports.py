"""Imports of the registry's tables: every row of a file read into an item of the registry, validated with the
domain's rules and the registry's (an organisation in the scope, one vehicle per plate, a department that exists and
is not under itself), every bad row reported with its number as Excel shows it ('#' lines counted) and its column;
one bad row and nothing is written, else every row is written in one transaction. Each table is a file of its own,
imported at its own path, so that the path names the sheet a problem is in.

A row changes the columns the file has: a column left out of the file keeps what the registry holds, an empty
cell sets the field's default (none, 否, a multiplier of 1, a vehicle in service). An institution may appear in
several rows, one per year of its facts (floor area, headcount, the survey's), if its other cells agree. A
data-centre room is named by its institution, year and name. Drivers are numbered by the registry: a row without a
driver id adds a driver.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from psycopg import AsyncConnection
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool

from api.errors import Conflict
from api.registry import drivers, service
from api.registry.models import (
    DataCentreRoomRecord,
    DepartmentCreate,
    DepartmentPublic,
    DriverCreate,
    ImportResult,
    InstitutionCreate,
    InstitutionYearRecord,
    MeterCreate,
    RowProblem,
    VehicleCreate,
    VehiclePublic,
)
from api.registry.spreadsheets import FileRefused, RowsRefused, is_blank
from api.registry.tables import (
    DATA_CENTRE_ROOMS,
    DEPARTMENTS,
    DRIVERS,
    INSTITUTIONS,
    METERS,
    VEHICLES,
    YEAR_FIGURES,
    Table,
    read_text,
)
from db import departments as departments_db
from db import registry as registry_db
from db import trip_requests
from db.scope import Scope
from domain.departments import cycle_problem
from domain.labels import Language
from domain.registry import (
    DataCentreRoom,
    Department,
    Institution,
    InstitutionYear,
    MeterRecord,
    VehicleRecord,
    lifecycle_problem,
)


def _header_words(text: str) -> str:
    return " ".join(text.replace("（", "(").replace("）", ")").split()).casefold()


_BLANK = object()  # a cell of the file's column that is empty: the field's default


@dataclass
class _Row:
    number: int
    values: dict[str, object]  # of the fields the file has: a value read, or _BLANK
    failed: set[str]  # fields whose cells could not be read (and are reported)

    @property
    def id(self) -> str | None:
        value = self.values.get("id")
        return value if isinstance(value, str) else None

    def given(self, key: str) -> bool:
        return self.values.get(key, _BLANK) is not _BLANK


@dataclass
class _File:
    """A table's file as read: where its fields are, its rows, and the problems found so far."""

    table: Table
    positions: dict[str, int] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    language: Language | None = None  # of the file's headers, to name the columns it lacks
    rows: list[_Row] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)

    def header(self, key: str | None) -> str | None:
        """The header of a field: the file's, or the field's header in the file's language."""
        if key is None or key in self.headers:
            return self.headers.get(key or "")
        column = next((f.column for f in self.table.fields if f.key == key), None)
        if column is None:
            return None
        return column.header(self.language) if self.language else column.key

    def problem(self, row: int, key: str | None, reason: str) -> None:
        self.problems.append(RowProblem(row=row, column=self.header(key), reason=reason))

    def refuse_if_wrong(self) -> None:
        if self.problems:
            raise RowsRefused(self.problems)

    def ids(self) -> set[str]:
        return {row.id for row in self.rows if row.id}

    def validated(self, model: type[BaseModel], values: dict[str, Any], row: _Row, what: str) -> Any:
        """The item of the row, or None when it does not fit (the problems are noted, except those of cells that
        could not be read, which are)."""
        try:
            return model.model_validate(values)
        except ValidationError as exc:
            for error in exc.errors():
                key = str(error["loc"][0]) if error["loc"] else None
                if key in row.failed:
                    continue
                if error["type"] == "missing" and key is not None:
                    reason = "is empty" if key in row.values else f"is needed for a new {what}: add the column"
                else:
                    reason = error["msg"].removeprefix("Value error, ")
                self.problem(row.number, key, reason)
            return None


def _read(
    table: Table, rows: Sequence[tuple[int, Sequence[object]]], needs: Mapping[str, Sequence[str]] | None = None
) -> _File:
    """The rows of a file of `table` (the first is its header) with their cells read.

    Args:
        needs: a column that the file must have when it has any of those columns (the id is always needed).

    Raises:
        RowsRefused: the header does not fit: nothing of the rows can be read.
    """
    (number, header), *data = rows
    file = _File(table)
    names: dict[str, tuple[str, Language | None]] = {}
    for f in table.fields:
        for text, language in ((f.column.zh, "zh"), (f.column.en, "en"), (f.key, None)):
            names.setdefault(_header_words(text), (f.key, cast(Language | None, language)))
    known = ", ".join(f"{f.column.zh} ({f.key})" for f in table.fields)
    for index, cell in enumerate(header):
        if is_blank(cell):
            continue
        try:
            text = read_text(cell)
        except ValueError as exc:
            file.problems.append(RowProblem(row=number, column=None, reason=f"a header {exc}"))
            continue
        key, language = names.get(_header_words(text), (None, None))
        if key is None:
            file.problems.append(RowProblem(row=number, column=text, reason=f"no such column; the columns are {known}"))
        elif key in file.positions:
            file.problems.append(RowProblem(row=number, column=text, reason=f"a second column of {file.headers[key]}"))
        else:
            file.positions[key], file.headers[key] = index, text
            file.language = file.language or language
    for key in () if table.numbered else table.keys:
        if key not in file.positions:
            file.problem(number, key, "no such column: add it")
    for key, others in (needs or {}).items():
        given = [file.headers[other] for other in others if other in file.positions]
        if given and key not in file.positions:
            file.problem(number, key, f"no such column, which {' and '.join(given)} needs: add it")
    file.refuse_if_wrong()
    placed = set(file.positions.values())
    file.rows = [_cells(file, placed, n, row) for n, row in data]
    return file


def _cells(file: _File, placed: set[int], number: int, row: Sequence[object]) -> _Row:
    values: dict[str, object] = {}
    failed: set[str] = set()
    for f in file.table.fields:
        if f.informative or f.key not in file.positions:
            continue
        index = file.positions[f.key]
        cell = row[index] if index < len(row) else None
        if is_blank(cell):
            values[f.key] = _BLANK
            continue
        try:
            values[f.key] = f.read(cell)
        except ValueError as exc:
            failed.add(f.key)
            file.problem(number, f.key, str(exc))
    if any(not is_blank(cell) for index, cell in enumerate(row) if index not in placed):
        file.problem(number, None, "a value in a column without a header")
    return _Row(number, values, failed)


def _model_values(
    model: type[BaseModel], row: _Row, current: BaseModel | None, fixed: Mapping[str, object] | None = None
) -> dict[str, Any]:
    """The fields of an item as the row leaves it: the current item's, changed by the row's cells (an empty cell:
    the field's default), and `fixed`."""
    values = {name: getattr(current, name) for name in model.model_fields if hasattr(current, name)}
    for name, info in model.model_fields.items():
        value = row.values.get(name)
        if value is _BLANK:
            if info.is_required():
                values.pop(name, None)  # reported as empty
            else:
                values[name] = info.get_default(call_default_factory=True)
        elif name in row.values:
            values[name] = value
    return {**values, **(fixed or {})}


async def import_institutions(
    conn: AsyncConnection, scope: Scope, rows: Sequence[tuple[int, Sequence[object]]]
) -> ImportResult:
    """Validate every row of an institutions table (the first of `rows` is its header) and write them all, with
    their yearly figures, in one transaction; or write nothing.

    Raises:
        RowsRefused: the header or rows do not fit (an organisation that is not one in the scope, for one).
    """
    # Reading and validating the rows is Python's work: in a thread, not in the event loop that serves everyone.
    file = await run_in_threadpool(_read, INSTITUTIONS, rows, {"year": YEAR_FIGURES})
    async with conn.transaction():
        current, hidden = await service.institutions_to_change(conn, scope, file.ids())
        items, in_years = await run_in_threadpool(_institutions, file, current, hidden)
        organisations = await service.visible_organisations(conn, scope, {i.organisation_id for _, i in items})
        for number, item in items:
            if item.organisation_id not in organisations:
                reason = f"no organisation {item.organisation_id}: give the id of an existing organisation"
                file.problem(number, "organisation_id", reason)
        stored = await service.years_to_change(conn, in_years)
        years, cleared = await run_in_threadpool(_years, file, in_years, stored)
        unknown = await service.unknown_departments(conn, {y.department_id for y in years})
        for facts in years:
            if facts.department_id in unknown:
                row = in_years[facts.institution_id, facts.year]
                file.problem(row.number, "department_id", service.no_department(facts.department_id))
        file.refuse_if_wrong()
        institutions = [item for _, item in items]
        await service.write(conn, institutions=institutions, years=years)
        await registry_db.clear_years(conn, cleared)
    created = sum(1 for item in institutions if item.id not in current)
    return ImportResult(
        rows=len(file.rows), created=created, updated=len(institutions) - created, years=len(years) + len(cleared)
    )


def _institutions(
    file: _File, current: Mapping[str, BaseModel], hidden: set[str]
) -> tuple[list[tuple[int, Institution]], dict[tuple[str, int], _Row]]:
    """The institutions of the file, each with its first row, and the row of each (institution, year)."""
    items: dict[str, tuple[int, Institution]] = {}
    in_years: dict[tuple[str, int], _Row] = {}
    for row in file.rows:
        values = _model_values(Institution, row, current.get(row.id or ""))
        item = file.validated(InstitutionCreate, values, row, "institution")
        if item is None:
            continue
        if item.id in hidden:
            file.problem(row.number, "id", "is the id of an institution of another organisation")
            continue
        first, earlier = items.setdefault(item.id, (row.number, item))
        if earlier != item:
            reason = f"institution {item.id} is also in row {first} with other values: give the same in each row"
            file.problem(row.number, None, reason)
        year = row.values.get("year")
        if isinstance(year, int):
            if (item.id, year) in in_years:
                file.problem(row.number, "year", f"{item.id} of {year} is also in row {in_years[item.id, year].number}")
            in_years.setdefault((item.id, year), row)
        elif first != row.number:
            file.problem(row.number, "id", f"is also in row {first} (rows of one institution are rows of its years)")
        if year is _BLANK and any(row.given(key) for key in YEAR_FIGURES):
            file.problem(row.number, "year", "is empty: the floor area, headcount and survey facts are those of a year")
    return list(items.values()), in_years


def _years(
    file: _File, in_years: Mapping[tuple[str, int], _Row], stored: Mapping[tuple[str, int], BaseModel]
) -> tuple[list[InstitutionYear], list[tuple[str, int]]]:
    """The figures of the (institution, year)s of the file to write, and those to clear (nothing known any more)."""
    years: list[InstitutionYear] = []
    cleared: list[tuple[str, int]] = []
    for (institution_id, year), row in in_years.items():
        key = {"institution_id": institution_id, "year": year}
        values = _model_values(InstitutionYear, row, stored.get((institution_id, year)), key)
        figures = file.validated(InstitutionYearRecord, values, row, "year")
        if figures is None:
            continue
        if figures.known():
            years.append(figures)
        elif (institution_id, year) in stored:
            cleared.append((institution_id, year))  # no row for a year of which nothing is known
    return years, cleared


async def import_departments(
    conn: AsyncConnection, scope: Scope, rows: Sequence[tuple[int, Sequence[object]]]
) -> ImportResult:
    """Validate every row of a departments table (the first of `rows` is its header) and write them all in one
    transaction, or nothing: a parent must be a department of the file or the registry, and no department may end
    up under itself. Departments belong to no unit: `scope` does not limit them.

    Raises:
        RowsRefused: the header or rows do not fit.
    """
    file = await run_in_threadpool(_read, DEPARTMENTS, rows)
    async with conn.transaction():
        hierarchy = await departments_db.parents(conn)  # locked: the check and the write are not interleaved
        current = {d.id: d for d in await departments_db.some(conn, file.ids(), DepartmentPublic)}
        items = await run_in_threadpool(_departments, file, current)
        after = hierarchy | {item.id: item.parent_id for _, item in items.values()}
        for number, item in items.values():
            if item.parent_id is not None and item.parent_id not in after:
                file.problem(number, "parent_id", service.no_department(item.parent_id))
                continue
            problem = cycle_problem(after, item.id)
            if problem is not None:
                file.problem(number, "parent_id", problem)
        file.refuse_if_wrong()
        departments = [item for _, item in items.values()]
        await service.write(conn, departments=departments)
    created = sum(1 for d in departments if d.id not in current)
    return ImportResult(rows=len(file.rows), created=created, updated=len(departments) - created)


def _departments(file: _File, current: Mapping[str, BaseModel]) -> dict[str, tuple[int, Department]]:
    """The departments of the file, each with its row."""
    items: dict[str, tuple[int, Department]] = {}
    for row in file.rows:
        values = _model_values(Department, row, current.get(row.id or ""))
        item = file.validated(DepartmentCreate, values, row, "department")
        if item is None:
            continue
        if item.id in items:
            file.problem(row.number, "id", f"is also in row {items[item.id][0]}")
        else:
            items[item.id] = (row.number, item)
    return items


RoomKey = tuple[str, int, str]


async def import_rooms(
    conn: AsyncConnection, scope: Scope, rows: Sequence[tuple[int, Sequence[object]]]
) -> ImportResult:
    """Validate every row of a data-centre rooms table (the first of `rows` is its header) and write them all in one
    transaction, or nothing: a row adds or changes the room of its institution, year and name.

    Raises:
        RowsRefused: the header or rows do not fit (an institution that is not one in the scope, for one).
    """
    file = await run_in_threadpool(_read, DATA_CENTRE_ROOMS, rows)
    keyed = [(key, row) for row in file.rows if (key := _room_key(row)) is not None]
    async with conn.transaction():
        visible = await service.visible_institutions(conn, scope, {key[0] for key, _ in keyed})
        stored = await service.rooms_to_change(conn, [key for key, _ in keyed if key[0] in visible])
        items = await run_in_threadpool(_rooms, file, keyed, stored, visible)
        file.refuse_if_wrong()
        await service.write(conn, rooms=[item for _, item in items.values()])
    created = sum(1 for key in items if key not in stored)
    return ImportResult(rows=len(file.rows), created=created, updated=len(items) - created)


def _room_key(row: _Row) -> RoomKey | None:
    institution_id, year, name = (row.values.get(key) for key in DATA_CENTRE_ROOMS.keys)
    if isinstance(institution_id, str) and isinstance(year, int) and isinstance(name, str):
        return institution_id, year, name
    return None  # a key's cell is empty or could not be read: validating the row says so


def _rooms(
    file: _File, keyed: Sequence[tuple[RoomKey, _Row]], stored: Mapping[RoomKey, BaseModel], visible: set[str]
) -> dict[RoomKey, tuple[int, DataCentreRoom]]:
    """The rooms of the file, each with its row."""
    items: dict[RoomKey, tuple[int, DataCentreRoom]] = {}
    rows_with_keys = {id(row) for _, row in keyed}
    for row in file.rows:
        if id(row) not in rows_with_keys:
            file.validated(DataCentreRoomRecord, _model_values(DataCentreRoom, row, None), row, "data-centre room")
    for key, row in keyed:
        if key[0] not in visible:
            reason = f"no institution {key[0]}: give the id of an existing institution"
            file.problem(row.number, "institution_id", reason)
            continue
        values = _model_values(DataCentreRoom, row, stored.get(key))
        item = file.validated(DataCentreRoomRecord, values, row, "data-centre room")
        if item is None:
            continue
        if key in items:
            file.problem(row.number, "name", f"{key[2]!r} of {key[0]} in {key[1]} is also in row {items[key][0]}")
        else:
            items[key] = (row.number, item)
    return items


async def import_meters(
    conn: AsyncConnection, scope: Scope, rows: Sequence[tuple[int, Sequence[object]]]
) -> ImportResult:
    """Validate every row of a meters table (the first of `rows` is its header) and write them all in one
    transaction, or nothing; meters whose multiplier, register maximum or most per hour changed are recounted
    from their first reading.

    Raises:
        RowsRefused: the header or rows do not fit (an institution that is not one in the scope, for one).
    """
    file = await run_in_threadpool(_read, METERS, rows)
    async with conn.transaction():
        current, hidden = await service.meters_to_change(conn, scope, file.ids())
        items = await run_in_threadpool(_meters, file, current, hidden)
        institutions = await service.visible_institutions(conn, scope, {i.institution_id for _, i in items.values()})
        for number, item in items.values():
            if item.institution_id not in institutions:
                reason = f"no institution {item.institution_id}: give the id of an existing institution"
                file.problem(number, "institution_id", reason)
        file.refuse_if_wrong()
        meters = [item for _, item in items.values()]
        await service.write(conn, meters=meters)  # recounts the meters whose counting fields changed
    created = sum(1 for m in meters if m.id not in current)
    return ImportResult(rows=len(file.rows), created=created, updated=len(meters) - created)


def _meters(file: _File, current: Mapping[str, BaseModel], hidden: set[str]) -> dict[str, tuple[int, MeterRecord]]:
    """The meters of the file, each with its row."""
    items: dict[str, tuple[int, MeterRecord]] = {}
    for row in file.rows:
        item = file.validated(MeterCreate, _model_values(MeterRecord, row, current.get(row.id or "")), row, "meter")
        if item is None:
            continue
        if item.id in hidden:
            file.problem(row.number, "id", "is the id of a meter of another organisation")
        elif item.id in items:
            file.problem(row.number, "id", f"is also in row {items[item.id][0]}")
        else:
            items[item.id] = (row.number, item)
    return items


async def import_vehicles(
    conn: AsyncConnection, scope: Scope, rows: Sequence[tuple[int, Sequence[object]]]
) -> ImportResult:
    """Validate every row of a vehicles table (the first of `rows` is its header) and write them all in one
    transaction, or nothing. A row may change a vehicle's lifecycle as PATCH /vehicles/{id} does, under the same
    rules: a retired vehicle does not come back, one on an open trip request is not retired, and a plate or
    terminal is one vehicle's in the fleet.

    Raises:
        RowsRefused: the header or rows do not fit (an organisation that is not one in the scope, for one).
        FileRefused: another write gave a plate or terminal of the file to another vehicle meanwhile.
    """
    file = await run_in_threadpool(_read, VEHICLES, rows)
    async with conn.transaction():
        current, hidden = await service.vehicles_to_change(conn, scope, file.ids())
        items = await run_in_threadpool(_vehicles, file, current, hidden)
        vehicles = [item for _, item in items.values()]
        organisations = await service.visible_organisations(conn, scope, {v.organisation_id for v in vehicles})
        homes = {v.home_institution_id for v in vehicles if v.home_institution_id is not None}
        institutions = await service.visible_institutions(conn, scope, homes)
        open_requests = await trip_requests.open_requests(
            conn, "vehicle_id", [v.id for v in vehicles if v.id in current]
        )
        for number, item in items.values():
            if item.organisation_id not in organisations:
                reason = f"no organisation {item.organisation_id}: give the id of an existing organisation"
                file.problem(number, "organisation_id", reason)
            if item.home_institution_id is not None and item.home_institution_id not in institutions:
                reason = f"no institution {item.home_institution_id}: give the id of an existing institution"
                file.problem(number, "home_institution_id", reason)
            retiring = lifecycle_problem(current.get(item.id), item.lifecycle, open_requests.get(item.id))
            if retiring is not None:
                file.problem(number, "lifecycle", retiring)
        for (vehicle_id, key), reason in (await service.fleet_holders(conn, scope, vehicles)).items():
            file.problem(items[vehicle_id][0], key, reason)
        file.refuse_if_wrong()
        try:
            await service.write(conn, vehicles=vehicles)
        except Conflict as exc:
            raise FileRefused(str(exc)) from exc
    created = sum(1 for v in vehicles if v.id not in current)
    return ImportResult(rows=len(file.rows), created=created, updated=len(vehicles) - created)


def _vehicles(
    file: _File, current: Mapping[str, VehiclePublic], hidden: set[str]
) -> dict[str, tuple[int, VehicleRecord]]:
    """The vehicles of the file, each with its row; no two in the fleet (not retired) with one plate or terminal."""
    items: dict[str, tuple[int, VehicleRecord]] = {}
    fitted: dict[tuple[str, str], int] = {}  # (plate or terminal_id, value) -> the first row of a vehicle with it
    for row in file.rows:
        if row.id in hidden:  # said first: what else is wrong with the row follows from not seeing that vehicle
            file.problem(row.number, "id", "is the id of a vehicle of another organisation")
            continue
        before = current.get(row.id or "")
        lifecycle = row.values.get("lifecycle")
        if lifecycle is _BLANK:
            lifecycle = VehicleRecord.model_fields["lifecycle"].default  # an empty cell sets the default
        # A retired vehicle brought back, said before what the vehicle would lack (a retirement is checked with the
        # vehicle's trips, once the rows are read).
        back = lifecycle_problem(before, lifecycle, None) if isinstance(lifecycle, str) else None
        if back is not None:
            file.problem(row.number, "lifecycle", back)
            continue
        values = _model_values(VehicleRecord, row, before)
        item = file.validated(VehicleCreate, values, row, "vehicle")
        if item is None:
            continue
        if item.id in items:
            file.problem(row.number, "id", f"is also in row {items[item.id][0]}")
            continue
        items[item.id] = (row.number, item)
        if item.lifecycle == "retired":
            continue  # its plate and terminal are history
        for key in ("plate", "terminal_id"):
            value = getattr(item, key)
            if value is None:
                continue
            first = fitted.setdefault((key, value), row.number)
            if first != row.number:
                file.problem(row.number, key, f"{value} is also that of the vehicle in row {first}")
    return items


async def import_drivers(
    conn: AsyncConnection, scope: Scope, rows: Sequence[tuple[int, Sequence[object]]]
) -> ImportResult:
    """Validate every row of a drivers table (the first of `rows` is its header) and write them all in one
    transaction, or nothing: a row with a driver id changes that driver, a row without one adds a driver.

    Raises:
        RowsRefused: the header or rows do not fit (a driver id that is not one in the scope, for one).
    """
    file = await run_in_threadpool(_read, DRIVERS, rows)
    ids = {driver_id for row in file.rows if isinstance(driver_id := row.values.get("id"), int)}
    async with conn.transaction():
        current = await drivers.drivers_to_change(conn, scope, ids)
        changed, new = await run_in_threadpool(_drivers, file, current)
        items = [*changed.values(), *new]
        organisations = await service.visible_organisations(conn, scope, {d.organisation_id for _, d in items})
        for number, item in items:
            if item.organisation_id not in organisations:
                reason = f"no organisation {item.organisation_id}: give the id of an existing organisation"
                file.problem(number, "organisation_id", reason)
        leaving = {i for i, (_, item) in changed.items() if current[i].active and not item.active}
        for driver_id, (request_id, _) in (await trip_requests.open_requests(conn, "driver_id", leaving)).items():
            name = current[driver_id].name
            file.problem(changed[driver_id][0], "active", drivers.busy_problem(driver_id, name, request_id))
        file.refuse_if_wrong()
        await drivers.write_drivers(
            conn, changed={driver_id: item for driver_id, (_, item) in changed.items()}, new=[item for _, item in new]
        )
    return ImportResult(rows=len(file.rows), created=len(new), updated=len(changed))


def _drivers(
    file: _File, current: Mapping[int, BaseModel]
) -> tuple[dict[int, tuple[int, DriverCreate]], list[tuple[int, DriverCreate]]]:
    """The drivers the file changes, by id, and those it adds, each with its row."""
    changed: dict[int, tuple[int, DriverCreate]] = {}
    new: list[tuple[int, DriverCreate]] = []
    for row in file.rows:
        driver_id = row.values.get("id")
        if "id" in row.failed:
            continue  # reported
        if not isinstance(driver_id, int):  # no id: a new driver
            item = file.validated(DriverCreate, _model_values(DriverCreate, row, None), row, "driver")
            if item is not None:
                new.append((row.number, item))
        elif driver_id not in current:
            file.problem(row.number, "id", f"no driver {driver_id}: leave the id empty to add a driver")
        elif driver_id in changed:
            file.problem(row.number, "id", f"is also in row {changed[driver_id][0]}")
        else:
            item = file.validated(DriverCreate, _model_values(DriverCreate, row, current[driver_id]), row, "driver")
            if item is not None:
                changed[driver_id] = (row.number, item)
    return changed, new
