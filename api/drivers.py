"""Drivers (驾驶员) as the API serves, adds and changes them, within a Scope: the people a dispatch assigns to a
vehicle."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Annotated, Any, Final, Literal, get_args

from psycopg import AsyncConnection, sql
from psycopg.rows import class_row
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from api.access import Scope
from api.errors import NO_NUL, Text
from api.paging import Page
from api.registry import api_model, problem_of, visible_organisations

# 准驾车型 of the Chinese driving licence; official cars need C1, mid-size buses B1, large buses A1.
LicenceClass = Literal["A1", "A2", "A3", "B1", "B2", "C1", "C2", "C3", "C4", "C5", "C6", "D", "E", "F", "M", "N", "P"]
LICENCE_CLASSES: Final[tuple[LicenceClass, ...]] = get_args(LicenceClass)

# The ids of drivers and requests are `bigint`: larger numbers are refused in the schema, not by the database.
BIGINT_MAX: Final = 2**63 - 1
RowId = Annotated[int, Field(ge=1, le=BIGINT_MAX)]


class DriverPublic(BaseModel):
    id: int
    organisation_id: str
    name: str
    phone: str | None
    licence_class: LicenceClass
    active: bool
    created_at: datetime


class DriverOfOrganisation(DriverPublic):
    """A driver with their organisation's name, as the registry export lists them."""

    organisation_name: str


class DriverCreate(BaseModel):
    """A new driver of an existing organisation (a unit, or a service or rental company)."""

    model_config = ConfigDict(extra="forbid")

    organisation_id: Text
    name: str = Field(min_length=1, max_length=64, pattern=NO_NUL)
    phone: str | None = Field(default=None, pattern=r"^\+?[0-9][0-9 -]{2,19}$", examples=["13800138000"])
    licence_class: LicenceClass = Field(description="准驾车型: C1 for cars, B1 for mid-size buses, A1 for large buses")
    active: bool = Field(default=True, description="false: left, or not to be dispatched")


class DriverUpdate(api_model(DriverCreate, partial=True)):  # type: ignore[misc]
    """The fields of a driver to change, e.g. {"active": false}; those left out stay as they are (null clears the
    phone)."""


class DriverRefused(ValueError):
    """A driver that cannot be added or changed as asked; the message says why."""


class DriverBusy(ValueError):
    """A driver on an open trip request (dispatched or under way) cannot be made inactive until it is returned or
    cancelled: the request would keep a driver the centre no longer dispatches (409)."""


_SELECT = sql.SQL(
    "SELECT d.id, d.organisation_id, d.name, d.phone, d.licence_class, d.active, d.created_at FROM driver d"
)


async def drivers(
    conn: AsyncConnection,
    scope: Scope,
    *,
    after: int | None,
    limit: int,
    organisation_id: str | None = None,
    active: bool | None = None,
) -> Page[DriverPublic]:
    """The drivers of the organisations in the scope, in id order, optionally of one organisation or activity."""
    conditions: list[sql.Composable] = [scope.condition("d.organisation_id")]
    params: list[object] = []
    for column, value in (("organisation_id", organisation_id), ("active", active)):
        if value is not None:
            conditions.append(sql.SQL("{} = %s").format(sql.Identifier("d", column)))
            params.append(value)
    if after is not None:
        conditions.append(sql.SQL("d.id > %s"))
        params.append(after)
    query = sql.SQL("{select} WHERE {where} ORDER BY d.id LIMIT %s").format(
        select=_SELECT, where=sql.SQL(" AND ").join(conditions)
    )
    async with conn.cursor(row_factory=class_row(DriverPublic)) as cur:
        await cur.execute(query, [*params, limit])
        items = await cur.fetchall()
    return Page[DriverPublic](items=items, next_after=str(items[-1].id) if len(items) == limit else None)


async def driver(conn: AsyncConnection, scope: Scope, driver_id: int) -> DriverPublic | None:
    """One driver, or None when there is none of this id in the scope."""
    query = sql.SQL("{select} WHERE d.id = %s AND {scope}").format(
        select=_SELECT, scope=scope.condition("d.organisation_id")
    )
    async with conn.cursor(row_factory=class_row(DriverPublic)) as cur:
        await cur.execute(query, [driver_id])
        return await cur.fetchone()


async def create_driver(conn: AsyncConnection, scope: Scope, item: DriverCreate) -> DriverPublic:
    """Add a driver to an organisation in the scope.

    Raises:
        DriverRefused: the organisation does not exist or is outside the scope.
    """
    query = sql.SQL(
        """INSERT INTO driver (organisation_id, name, phone, licence_class, active)
           SELECT o.id, %s, %s, %s, %s FROM organisation o WHERE o.id = %s AND {scope}
           RETURNING id, organisation_id, name, phone, licence_class, active, created_at"""
    ).format(scope=scope.condition("o.id"))
    async with conn.transaction(), conn.cursor(row_factory=class_row(DriverPublic)) as cur:
        await cur.execute(query, [item.name, item.phone, item.licence_class, item.active, item.organisation_id])
        created = await cur.fetchone()
    if created is None:
        raise DriverRefused(_no_organisation(item.organisation_id))
    return created


def _no_organisation(organisation_id: str) -> str:
    return f"no organisation {organisation_id}: give the id of an existing organisation (GET /organisations)"


async def drivers_to_change(conn: AsyncConnection, scope: Scope, ids: Collection[int]) -> dict[int, DriverPublic]:
    """Those of `ids` that are drivers in the scope, by id, locked until the transaction ends (a dispatch of them
    waits)."""
    query = sql.SQL("{select} WHERE d.id = ANY(%s) AND {scope} ORDER BY d.id FOR UPDATE OF d").format(
        select=_SELECT, scope=scope.condition("d.organisation_id")
    )
    async with conn.cursor(row_factory=class_row(DriverPublic)) as cur:
        await cur.execute(query, [sorted(set(ids))])
        return {item.id: item for item in await cur.fetchall()}


def changed_driver(current: DriverPublic, changes: dict[str, Any]) -> DriverCreate:
    """A driver with some fields changed, validated as a whole.

    Raises:
        ValidationError: the changed driver does not fit.
    """
    fields = {name: getattr(current, name) for name in DriverCreate.model_fields}
    return DriverCreate.model_validate({**fields, **changes})


async def update_driver(
    conn: AsyncConnection, scope: Scope, driver_id: int, changes: dict[str, Any]
) -> DriverPublic | None:
    """Change fields of a driver in the scope.

    Returns:
        The driver as changed, or None when there is none of this id in the scope.

    Raises:
        DriverRefused: the changed driver does not fit, or their new organisation is not one in the scope.
        DriverBusy: made inactive while on an open trip request.
    """
    async with conn.transaction():
        current = (await drivers_to_change(conn, scope, [driver_id])).get(driver_id)
        if current is None:
            return None
        try:
            changed = changed_driver(current, changes)
        except ValidationError as exc:
            raise DriverRefused(problem_of(exc)) from exc
        if changed.organisation_id != current.organisation_id and not await visible_organisations(
            conn, scope, [changed.organisation_id]
        ):
            raise DriverRefused(_no_organisation(changed.organisation_id))
        if current.active and not changed.active:
            busy = (await open_requests(conn, [driver_id])).get(driver_id)
            if busy is not None:
                raise DriverBusy(busy_problem(driver_id, current.name, busy))
        await write_drivers(conn, changed={driver_id: changed})
    return await driver(conn, scope, driver_id)


async def open_requests(conn: AsyncConnection, driver_ids: Collection[int]) -> dict[int, int]:
    """The open trip request (dispatched or under way) of each of these drivers that has one. Lock the drivers
    first (`drivers_to_change`): a dispatch locks its driver before it opens the request."""
    # Here, not at the top: api.requests imports this module.
    from api.requests import OPEN_STATES  # noqa: PLC0415

    if not driver_ids:
        return {}
    cur = await conn.execute(
        "SELECT driver_id, id FROM trip_request WHERE driver_id = ANY(%s) AND state = ANY(%s)",
        [sorted(set(driver_ids)), sorted(OPEN_STATES)],
    )
    return {int(row[0]): int(row[1]) for row in await cur.fetchall()}


def busy_problem(driver_id: int, name: str, request_id: int) -> str:
    return f"driver {driver_id} ({name}) is on request {request_id}: return or cancel it before making them inactive"


async def write_drivers(
    conn: AsyncConnection, *, changed: dict[int, DriverCreate] | None = None, new: Sequence[DriverCreate] = ()
) -> None:
    """Write drivers with all their fields: `changed` over the drivers of those ids, `new` as new drivers."""
    columns = list(DriverCreate.model_fields)
    async with conn.cursor() as cur:
        if changed:
            update = sql.SQL("UPDATE driver SET {} WHERE id = %s").format(
                sql.SQL(", ").join(sql.SQL("{} = %s").format(sql.Identifier(c)) for c in columns)
            )
            rows = [[getattr(item, c) for c in columns] + [driver_id] for driver_id, item in changed.items()]
            await cur.executemany(update, rows)
        if new:
            insert = sql.SQL("INSERT INTO driver ({}) VALUES ({})").format(
                sql.SQL(", ").join(map(sql.Identifier, columns)), sql.SQL(", ").join(sql.Placeholder() * len(columns))
            )
            await cur.executemany(insert, [[getattr(item, c) for c in columns] for item in new])


async def drivers_of_organisations(conn: AsyncConnection, scope: Scope) -> list[DriverOfOrganisation]:
    """Every driver in the scope, inactive ones included, with their organisation's name, in id order."""
    query = sql.SQL(
        """SELECT d.id, d.organisation_id, d.name, d.phone, d.licence_class, d.active, d.created_at,
                  o.name AS organisation_name
           FROM driver d JOIN organisation o ON o.id = d.organisation_id WHERE {scope} ORDER BY d.id"""
    ).format(scope=scope.condition("d.organisation_id"))
    async with conn.cursor(row_factory=class_row(DriverOfOrganisation)) as cur:
        await cur.execute(query)
        return await cur.fetchall()
