"""SQL of the registry tables: organisations, institutions and their years, meters, vehicles, vehicle quotas.

Reads take the row type to make (a model with a field per selected column: the API's answer) and a Scope; writes
take the domain's items. The registry document's import (`import_document`) upserts them all in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import psycopg
from psycopg import AsyncConnection, sql
from psycopg.rows import class_row
from pydantic import BaseModel

from db import departments, marks
from db.scope import Scope
from db.table import Table
from domain.registry import COUNTING_FIELDS, YEAR_FACTS, DataCentreRoomFacts, Driver, Meter, RegistryDocument

Row = TypeVar("Row")

# Fields of the registry's items that are no column: a changed multiplier's moment dates its history (meter_multiplier).
_NOT_COLUMNS = frozenset({"multiplier_from"})


def _columns(model: type[BaseModel]) -> list[str]:
    return [name for name in model.model_fields if name not in _NOT_COLUMNS]


ORGANISATIONS = Table(sql.SQL("SELECT o.id, o.name, o.kind FROM organisation o"), "o.id", "o.id")
_INSTITUTION_COLUMNS = sql.SQL(
    """i.id, i.organisation_id, i.name, i.category, i.district, i.latitude, i.longitude,
       i.key_energy_unit, i.in_assessment"""
)
INSTITUTIONS = Table(
    sql.SQL("SELECT {columns} FROM institution i").format(columns=_INSTITUTION_COLUMNS), "i.id", "i.organisation_id"
)
_METER_COLUMNS = sql.SQL(
    """m.id, m.institution_id, i.organisation_id, m.energy_type, m.unit, m.sub_item, m.multiplier,
       m.register_max, m.max_rate, m.installed_on, m.replaced_on, m.reading_interval_seconds"""
)
METERS = Table(
    sql.SQL("SELECT {columns} FROM meter m JOIN institution i ON i.id = m.institution_id").format(
        columns=_METER_COLUMNS
    ),
    "m.id",
    "i.organisation_id",
)
_VEHICLE_COLUMNS = sql.SQL(
    """v.id, v.organisation_id, v.plate, v.vin, v.vehicle_type, v.energy, v.seats, v.battery_kwh, v.terminal_id,
       v.home_institution_id, v.lifecycle, v.in_service_on, v.retired_on, v.retired_how, v.tank_litres"""
)
VEHICLES = Table(
    sql.SQL("SELECT {columns} FROM vehicle v").format(columns=_VEHICLE_COLUMNS), "v.id", "v.organisation_id"
)
# Each organisation with its quota (编制) and its vehicles not retired (the index vehicle_organisation counts them).
VEHICLE_QUOTAS = Table(
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


async def vehicle_in_scope(conn: AsyncConnection, scope: Scope, vehicle_id: str) -> bool:
    """Whether the vehicle is one in the scope (one row of one index: a track asks before it reads)."""
    cur = await conn.execute(
        sql.SQL("SELECT 1 FROM vehicle v WHERE v.id = %s AND {}").format(scope.condition("v.organisation_id")),
        (vehicle_id,),
    )
    return await cur.fetchone() is not None


async def taken(conn: AsyncConnection, table: str, ids: Collection[str]) -> set[str]:
    """Those of `ids` that are ids of the table (`organisation`, `institution`, `meter`, `vehicle`), in any scope."""
    query = sql.SQL("SELECT id FROM {} WHERE id = ANY(%s)").format(sql.Identifier(table))
    cur = await conn.execute(query, [sorted(set(ids))])
    return {found for (found,) in await cur.fetchall()}


# An institution's facts of a year (domain/registry.py's YearFacts): floor area, headcount and the survey's.
_YEAR_COLUMNS = sql.SQL(", ").join(sql.Identifier("y", name) for name in YEAR_FACTS)


async def institution_years(conn: AsyncConnection, institution_id: str, row: type[Row]) -> list[Row]:
    """The yearly facts (year and YEAR_FACTS) of an institution, in year order."""
    async with conn.cursor(row_factory=class_row(row)) as cur:
        await cur.execute(
            sql.SQL("SELECT y.year, {} FROM institution_year y WHERE y.institution_id = %s ORDER BY y.year").format(
                _YEAR_COLUMNS
            ),
            [institution_id],
        )
        return await cur.fetchall()


async def institutions_in_year(conn: AsyncConnection, scope: Scope, year: int, row: type[Row]) -> list[Row]:
    """Every institution in the scope with its facts of `year` (YEAR_FACTS, null where not given), in id order."""
    query = sql.SQL(
        """SELECT {columns}, %s AS year, {years}
           FROM institution i LEFT JOIN institution_year y ON y.institution_id = i.id AND y.year = %s
           WHERE {scope} ORDER BY i.id"""
    ).format(columns=_INSTITUTION_COLUMNS, years=_YEAR_COLUMNS, scope=scope.condition("i.organisation_id"))
    async with conn.cursor(row_factory=class_row(row)) as cur:
        await cur.execute(query, [year, year])
        return await cur.fetchall()


async def meters_of_institutions(conn: AsyncConnection, scope: Scope, row: type[Row]) -> list[Row]:
    """Every meter in the scope with its institution's name (institution_name), in id order."""
    query = sql.SQL(
        """SELECT {columns}, i.name AS institution_name
           FROM meter m JOIN institution i ON i.id = m.institution_id WHERE {scope} ORDER BY m.id"""
    ).format(columns=_METER_COLUMNS, scope=scope.condition("i.organisation_id"))
    async with conn.cursor(row_factory=class_row(row)) as cur:
        await cur.execute(query)
        return await cur.fetchall()


async def vehicles_of_organisations(conn: AsyncConnection, scope: Scope, row: type[Row]) -> list[Row]:
    """Every vehicle in the scope, retired ones included, with its organisation's name (organisation_name), in id
    order."""
    query = sql.SQL(
        """SELECT {columns}, o.name AS organisation_name
           FROM vehicle v JOIN organisation o ON o.id = v.organisation_id WHERE {scope} ORDER BY v.id"""
    ).format(columns=_VEHICLE_COLUMNS, scope=scope.condition("v.organisation_id"))
    async with conn.cursor(row_factory=class_row(row)) as cur:
        await cur.execute(query)
        return await cur.fetchall()


async def years_to_change(
    conn: AsyncConnection, keys: Collection[tuple[str, int]]
) -> dict[tuple[str, int], dict[str, Any]]:
    """The stored facts (YEAR_FACTS) of these (institution id, year) pairs, locked until the transaction ends."""
    if not keys:
        return {}
    ids, years = zip(*sorted(set(keys)), strict=True)
    query = sql.SQL(
        """SELECT y.institution_id, y.year, {}
           FROM institution_year y JOIN unnest(%s::text[], %s::integer[]) AS k (institution_id, year)
                USING (institution_id, year)
           FOR UPDATE OF y"""
    ).format(_YEAR_COLUMNS)
    cur = await conn.execute(query, [list(ids), list(years)])
    return {(row[0], row[1]): dict(zip(YEAR_FACTS, row[2:], strict=True)) for row in await cur.fetchall()}


# ---------------------------------------------------------------------------------------------------------------
# Data-centre rooms (数据中心机房) of an institution and year

_ROOM_FACTS = tuple(DataCentreRoomFacts.model_fields)
_ROOM_COLUMNS = sql.SQL(", ").join(
    sql.Identifier("r", name) for name in ("institution_id", "year", "name", *_ROOM_FACTS)
)


async def rooms(
    conn: AsyncConnection, scope: Scope, row: type[Row], *, institution_id: str | None = None, year: int | None = None
) -> list[Row]:
    """The data-centre rooms of institutions in the scope (of one institution, of one year: those given), with
    their institution's name (institution_name), by institution, year and name."""
    query = sql.SQL(
        """SELECT {columns}, i.name AS institution_name
           FROM data_centre_room r JOIN institution i ON i.id = r.institution_id
           WHERE {scope} AND (%(institution)s::text IS NULL OR r.institution_id = %(institution)s)
                 AND (%(year)s::integer IS NULL OR r.year = %(year)s)
           ORDER BY r.institution_id, r.year, r.name"""
    ).format(columns=_ROOM_COLUMNS, scope=scope.condition("i.organisation_id"))
    async with conn.cursor(row_factory=class_row(row)) as cur:
        await cur.execute(query, {"institution": institution_id, "year": year})
        return await cur.fetchall()


async def rooms_to_change(
    conn: AsyncConnection, keys: Collection[tuple[str, int, str]]
) -> dict[tuple[str, int, str], dict[str, Any]]:
    """The stored facts of these (institution id, year, name) rooms, locked until the transaction ends."""
    if not keys:
        return {}
    ids, years, names = zip(*sorted(set(keys)), strict=True)
    query = sql.SQL(
        """SELECT r.institution_id, r.year, r.name, {}
           FROM data_centre_room r JOIN unnest(%s::text[], %s::integer[], %s::text[]) AS k (institution_id, year, name)
                USING (institution_id, year, name)
           FOR UPDATE OF r"""
    ).format(sql.SQL(", ").join(sql.Identifier("r", name) for name in _ROOM_FACTS))
    cur = await conn.execute(query, [list(ids), list(years), list(names)])
    return {(row[0], row[1], row[2]): dict(zip(_ROOM_FACTS, row[3:], strict=True)) for row in await cur.fetchall()}


async def delete_room(conn: AsyncConnection, institution_id: str, year: int, name: str) -> bool:
    """Delete a data-centre room; whether there was one."""
    cur = await conn.execute(
        "DELETE FROM data_centre_room WHERE institution_id = %s AND year = %s AND name = %s",
        [institution_id, year, name],
    )
    return cur.rowcount == 1


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


_ROOM_KEY = ("institution_id", "year", "name")


class Unfit(ValueError):
    """What a registry write asks for does not fit what is stored: nothing of the write is kept."""


class ReservedId(Unfit):
    """A meter's or vehicle's id that is a broker service account's name: as a user name it would be both."""


class UndatableMultiplier(Unfit):
    """A multiplier's `multiplier_from` that its history cannot take: before a later change, or dating no change."""


async def refuse_service_names(conn: AsyncConnection, device_ids: Collection[str]) -> None:
    """Raises ReservedId when one of these device ids is a service account's name (`broker sync` would skip it)."""
    cur = await conn.execute("SELECT username FROM service_account WHERE username = ANY(%s)", [sorted(set(device_ids))])
    names = sorted(name for (name,) in await cur.fetchall())
    if names:
        raise ReservedId(f"{', '.join(names)}: the name of a broker service account, not free for a meter or vehicle")


async def insert_new(conn: AsyncConnection, table: str, item: BaseModel) -> bool:
    """Insert an item with all its fields unless its id is taken; returns whether it was inserted.

    Raises:
        ReservedId: a meter's or vehicle's id is a service account's name.
    """
    if table in {"meter", "vehicle"}:
        await refuse_service_names(conn, [str(item.model_dump()["id"])])
    columns = _columns(type(item))
    query = sql.SQL("INSERT INTO {table} ({columns}) VALUES ({values}) ON CONFLICT (id) DO NOTHING").format(
        table=sql.Identifier(table),
        columns=sql.SQL(", ").join(map(sql.Identifier, columns)),
        values=sql.SQL(", ").join(sql.Placeholder() * len(columns)),
    )
    cur = await conn.execute(query, [getattr(item, column) for column in columns])
    return cur.rowcount == 1


async def first_readings(conn: AsyncConnection, meter_ids: Collection[str]) -> dict[str, datetime]:
    """The time of each of these meters' first reading ever (a meter without readings has none)."""
    cur = await conn.execute(
        "SELECT meter_id, earliest FROM reading_span WHERE meter_id = ANY(%s)", [sorted(set(meter_ids))]
    )
    return dict(await cur.fetchall())


async def fleet_holders(
    conn: AsyncConnection, exclude: Collection[str], plates: Collection[str], terminals: Collection[str]
) -> list[tuple[str, str, str, str | None]]:
    """The vehicles not retired (and not among `exclude`) that hold one of these plates or terminals: (id,
    organisation id, plate, terminal id)."""
    cur = await conn.execute(
        """SELECT id, organisation_id, plate, terminal_id FROM vehicle
           WHERE lifecycle <> 'retired' AND id <> ALL(%s) AND (plate = ANY(%s) OR terminal_id = ANY(%s))""",
        [sorted(set(exclude)), sorted(set(plates)), sorted(set(terminals))],
    )
    return list(await cur.fetchall())


async def set_vehicle_quota(conn: AsyncConnection, organisation_id: str, allowed: int | None) -> None:
    """Set an organisation's allocation quota of vehicles; None removes it."""
    if allowed is None:
        await conn.execute("DELETE FROM vehicle_quota WHERE organisation_id = %s", [organisation_id])
    else:
        await conn.execute(
            """INSERT INTO vehicle_quota (organisation_id, allowed) VALUES (%s, %s)
               ON CONFLICT (organisation_id) DO UPDATE SET allowed = EXCLUDED.allowed, updated_at = now()""",
            [organisation_id, allowed],
        )


# Rows written per statement of an import: a big document's import says how far it is after each (yiwang/progress.py).
_CHUNK = 1000


@dataclass
class _Tally:
    """How many of a document's rows are written, told to whoever asked after each chunk."""

    total: int
    told: Callable[[int, int], None] | None
    done: int = 0

    def add(self, rows: int) -> None:
        self.done += rows
        if self.told is not None:
            self.told(self.done, self.total)


async def _upsert(
    conn: AsyncConnection,
    table: str,
    rows: Sequence[BaseModel],
    key: tuple[str, ...] = ("id",),
    tally: _Tally | None = None,
) -> int:
    if not rows:
        return 0
    columns = _columns(type(rows[0]))
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
        for start in range(0, len(rows), _CHUNK):
            chunk = rows[start : start + _CHUNK]
            await cur.executemany(statement, [tuple(getattr(row, c) for c in columns) for row in chunk])
            if tally is not None:
                tally.add(len(chunk))
    return len(rows)


# Each of the document's parts: its table and the columns that name a row.
_PARTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "organisations": ("organisation", ("id",)),
    "departments": ("department", ("id",)),
    "institutions": ("institution", ("id",)),
    "institution_years": ("institution_year", ("institution_id", "year")),
    "data_centre_rooms": ("data_centre_room", _ROOM_KEY),
    "meters": ("meter", ("id",)),
    "vehicles": ("vehicle", ("id",)),
    "drivers": ("driver", ("organisation_id", "name", "phone")),
}


async def only_new(conn: AsyncConnection, document: RegistryDocument) -> RegistryDocument:
    """The part of the document the registry does not hold yet: importing it adds rows and changes none, so what
    users changed since an earlier import (a headcount, a meter's multiplier, a vehicle's unit) stays."""
    kept: dict[str, list[BaseModel]] = {}
    for part, (table, key) in _PARTS.items():
        items: list[BaseModel] = list(getattr(document, part))
        if not items:
            continue
        query = sql.SQL("SELECT {key} FROM {table}").format(
            key=sql.SQL(", ").join(map(sql.Identifier, key)), table=sql.Identifier(table)
        )
        cur = await conn.execute(query)
        held = {tuple(row) for row in await cur.fetchall()}
        kept[part] = [item for item in items if tuple(getattr(item, c) for c in key) not in held]
    return document.model_copy(update=kept)


async def import_document(
    conn: AsyncConnection, document: RegistryDocument, *, told: Callable[[int, int], None] | None = None
) -> dict[str, int]:
    """Insert or update every row of the document in one transaction: all of it or nothing. Drivers are only
    added, those not held yet (the same organisation, name and phone): the database numbers them.

    Args:
        told: hears how many of the document's rows are written and how many it has, as the import goes (a
            city's registry takes a while).

    Returns:
        How many rows of each kind were written.

    Raises:
        ReservedId: a meter's or vehicle's id is a service account's name.
        Unfit: a department, institution or organisation named and not there, or a department under itself.
    """
    await refuse_service_names(conn, [m.id for m in document.meters] + [v.id for v in document.vehicles])
    tally = _Tally(sum(len(getattr(document, part)) for part in _PARTS), told)
    async with conn.transaction():
        before = await counting_of(conn, [m.id for m in document.meters])
        try:
            written = {
                "organisations": await _upsert(conn, "organisation", list(document.organisations), tally=tally),
                "departments": await departments.upsert(conn, document.departments),
            }
            tally.add(len(document.departments))  # a handful: no progress within them
            written |= {
                "institutions": await _upsert(conn, "institution", list(document.institutions), tally=tally),
                "institution years": await _upsert(
                    conn,
                    "institution_year",
                    list(document.institution_years),
                    key=("institution_id", "year"),
                    tally=tally,
                ),
                "data-centre rooms": await _upsert(
                    conn, "data_centre_room", list(document.data_centre_rooms), key=_ROOM_KEY, tally=tally
                ),
                "meters": await _upsert(conn, "meter", list(document.meters), tally=tally),
                "vehicles": await _upsert(conn, "vehicle", list(document.vehicles), tally=tally),
                "drivers": await _add_drivers(conn, document.drivers, tally),
            }
        except departments.DepartmentUnfit as exc:
            raise Unfit(str(exc)) from exc
        except psycopg.errors.ForeignKeyViolation as exc:
            # A department, institution or organisation that the document names and neither it nor the registry has.
            detail = (exc.diag.message_detail or "").rstrip(".")
            raise Unfit(f"{exc.diag.table_name}: {detail}: add it to the registry first") from exc
        # The one path of the API, the spreadsheets and `yiwang registry import`: what the roll-up counts with changed.
        await _recount_changed(conn, document.meters, before)
        return written


async def _add_drivers(conn: AsyncConnection, drivers: Sequence[Driver], tally: _Tally) -> int:
    """Add the drivers the registry does not hold (the same organisation, name and phone); how many were added."""
    added = told = 0
    for number, d in enumerate(drivers, start=1):
        cur = await conn.execute(
            """INSERT INTO driver (organisation_id, name, phone, licence_class)
               SELECT %(organisation_id)s, %(name)s, %(phone)s, %(licence_class)s
               WHERE NOT EXISTS (SELECT FROM driver WHERE organisation_id = %(organisation_id)s AND name = %(name)s
                                 AND phone IS NOT DISTINCT FROM %(phone)s)""",
            d.model_dump(),
        )
        added += cur.rowcount
        if number - told == _CHUNK or number == len(drivers):
            tally.add(number - told)
            told = number
    return added


def _counting(meter: BaseModel) -> tuple[object, ...]:
    return tuple(getattr(meter, name) for name in COUNTING_FIELDS)


async def _recount_changed(
    conn: AsyncConnection, meters: Sequence[Meter], before: dict[str, tuple[object, ...]]
) -> None:
    """Recount the stored meters whose counting fields changed: a new multiplier from the moment it holds from
    (its `multiplier_from`, or now), which its history keeps; a new register maximum or most per hour, whole."""
    whole: list[str] = []
    for meter in meters:
        if meter.id not in before:
            continue
        old = dict(zip(COUNTING_FIELDS, before[meter.id], strict=True))
        if old["multiplier"] == meter.multiplier and meter.multiplier_from is not None:
            await _refuse_undated(conn, meter.id, meter.multiplier, meter.multiplier_from)
        if before[meter.id] == _counting(meter):
            continue
        if old["multiplier"] != meter.multiplier:
            since = await _date_multiplier(conn, meter.id, old["multiplier"], meter.multiplier, meter.multiplier_from)
            await recount(conn, [meter.id], since=since)
        if any(old[name] != getattr(meter, name) for name in COUNTING_FIELDS if name != "multiplier"):
            whole.append(meter.id)
    await recount(conn, whole)


async def _refuse_undated(conn: AsyncConnection, meter_id: str, multiplier: float, since: datetime) -> None:
    """A `multiplier_from` with an unchanged multiplier dates no change, unless it is the one already recorded (the
    same document imported again): refused rather than ignored, so that a wrong date is not thought mended."""
    cur = await conn.execute(
        "SELECT 1 FROM meter_multiplier WHERE meter_id = %s AND since = %s AND multiplier = %s",
        (meter_id, since, multiplier),
    )
    if await cur.fetchone() is None:
        raise UndatableMultiplier(
            f"meter {meter_id}: multiplier_from dates a change of the multiplier, and the multiplier {multiplier:g} is "
            "unchanged: send the new multiplier with it"
        )


async def _date_multiplier(
    conn: AsyncConnection, meter_id: str, old: object, new: float, since: datetime | None
) -> datetime:
    """Keep a multiplier change in the meter's history: `new` from `since` (None: now, the transaction's moment) on,
    and, at the first change, `old` before it. Returns the moment it holds from.

    Raises:
        UndatableMultiplier: a later change is recorded: the new multiplier would hold only until it, not now.
    """
    cur = await conn.execute(
        "SELECT max(since) FROM meter_multiplier WHERE meter_id = %s AND since > coalesce(%s, now())", (meter_id, since)
    )
    later = await cur.fetchone()
    if later is not None and later[0] is not None:
        raise UndatableMultiplier(
            f"meter {meter_id}: a multiplier holds from {later[0].isoformat()} already, after {since}: a change "
            "from before it would not be the multiplier in force (GET /meters/{meter_id}/multipliers has its history)"
        )
    await conn.execute(
        """INSERT INTO meter_multiplier (meter_id, since, multiplier) VALUES (%s, %s, %s)
           ON CONFLICT (meter_id, since) DO NOTHING""",
        (meter_id, marks.BEFORE_ALL, old),
    )
    cur = await conn.execute(
        """INSERT INTO meter_multiplier (meter_id, since, multiplier) VALUES (%s, coalesce(%s, now()), %s)
           ON CONFLICT (meter_id, since) DO UPDATE SET multiplier = EXCLUDED.multiplier, recorded_at = now()
           RETURNING since""",
        (meter_id, since, new),
    )
    row = await cur.fetchone()
    assert row is not None  # inserted or updated: returned either way
    moment: datetime = row[0]
    return moment


async def multipliers(conn: AsyncConnection, meter_id: str) -> list[tuple[Any, ...]]:
    """The meter's multiplier history, in time order: (since, multiplier, recorded_at); the first row of a history
    holds from marks.BEFORE_ALL."""
    cur = await conn.execute(
        "SELECT since, multiplier, recorded_at FROM meter_multiplier WHERE meter_id = %s ORDER BY since", (meter_id,)
    )
    return list(await cur.fetchall())


_REPLACEMENT = "meter_id, time, old_final, new_first, note, recorded_by, recorded_at"


async def add_replacement(
    conn: AsyncConnection, meter_id: str, *, time: datetime, old_final: float, new_first: float, note: str, user_id: int
) -> tuple[Any, ...] | None:
    """Record a swap of the meter and have it recounted from the swap on; returns the row (meter_id, time, old_final,
    new_first, note, recorded_by, recorded_at), None when one is recorded at that moment already."""
    cur = await conn.execute(
        sql.SQL(
            """INSERT INTO meter_replacement (meter_id, time, old_final, new_first, note, recorded_by)
               VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (meter_id, time) DO NOTHING RETURNING {}"""
        ).format(sql.SQL(_REPLACEMENT)),
        (meter_id, time, old_final, new_first, note, user_id),
    )
    row = await cur.fetchone()
    if row is not None:
        await recount(conn, [meter_id], since=time)
    return row


async def replacements(conn: AsyncConnection, meter_id: str) -> list[tuple[Any, ...]]:
    """The meter's recorded swaps, in time order: rows as `add_replacement` returns them."""
    cur = await conn.execute(
        sql.SQL("SELECT {} FROM meter_replacement WHERE meter_id = %s ORDER BY time").format(sql.SQL(_REPLACEMENT)),
        (meter_id,),
    )
    return list(await cur.fetchall())


async def delete_replacement(conn: AsyncConnection, meter_id: str, time: datetime) -> tuple[Any, ...] | None:
    """Delete the meter's swap recorded at `time` and have it recounted from there; returns the row deleted, None
    when there was none."""
    cur = await conn.execute(
        sql.SQL("DELETE FROM meter_replacement WHERE meter_id = %s AND time = %s RETURNING {}").format(
            sql.SQL(_REPLACEMENT)
        ),
        (meter_id, time),
    )
    row = await cur.fetchone()
    if row is not None:
        await recount(conn, [meter_id], since=time)
    return row


async def counting_of(conn: AsyncConnection, meter_ids: Collection[str]) -> dict[str, tuple[object, ...]]:
    """What the consumption roll-up counts each of these stored meters with (COUNTING_FIELDS, in order)."""
    columns = sql.SQL(", ").join(map(sql.Identifier, COUNTING_FIELDS))
    cur = await conn.execute(
        sql.SQL("SELECT id, {} FROM meter WHERE id = ANY(%s)").format(columns), [sorted(set(meter_ids))]
    )
    return {row[0]: tuple(row[1:]) for row in await cur.fetchall()}


async def recount(conn: AsyncConnection, meter_ids: Collection[str], *, since: datetime | None = None) -> None:
    """Mark meters for the roll-up to recount: from `since` on (a multiplier dated from then, a swap recorded or
    deleted there: the days before keep their figures), or from their first reading (None: a register maximum or
    most per hour changed, and every day counted with the old values is wrong; a meter without readings has none).
    The one path for the API, the spreadsheets, `yiwang registry import` and the meters' replacements.

    The whole-history mark is the first reading's time, as the collector marks new readings (db/marks.py), not
    '-infinity', which psycopg cannot load as a datetime when the roll-up reads the marks."""
    if not meter_ids:
        return
    if since is not None:
        await marks.CONSUMPTION.mark(conn, dict.fromkeys(meter_ids, since))
    else:
        await marks.CONSUMPTION.mark(conn, await first_readings(conn, meter_ids))
