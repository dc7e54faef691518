"""Drivers (驾驶员) as the API reads, adds and changes them, within a Scope: the people a dispatch assigns to a
vehicle. A driver on an open trip request (dispatched or under way) is not made inactive until it is returned or
cancelled: the request would keep a driver the centre no longer dispatches."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from psycopg import AsyncConnection

from api.errors import Conflict, NotFound, Refused
from api.paging import Page, page_of
from api.registry.models import DriverCreate, DriverOfOrganisation, DriverPublic
from api.registry.service import validated, visible_organisations
from db import drivers as drivers_db
from db import trip_requests
from db.drivers import DRIVERS
from db.scope import Scope
from db.table import page, some


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
    filters = {"d.organisation_id": organisation_id, "d.active": active}
    items = await page(conn, DRIVERS, scope, DriverPublic, after=after, limit=limit, filters=filters)
    return page_of(DriverPublic, items, limit)


async def driver(conn: AsyncConnection, scope: Scope, driver_id: int) -> DriverPublic:
    """One driver in the scope.

    Raises:
        NotFound: there is none of this id in the scope.
    """
    found = await some(conn, DRIVERS, scope, DriverPublic, [driver_id])
    if not found:
        raise NotFound(f"no driver {driver_id}")
    return found[0]


async def create_driver(conn: AsyncConnection, scope: Scope, item: DriverCreate) -> DriverPublic:
    """Add a driver to an organisation in the scope.

    Raises:
        Refused: the organisation does not exist or is outside the scope.
    """
    async with conn.transaction():
        created = await drivers_db.insert(conn, scope, DriverPublic, item.model_dump())
    if created is None:
        raise Refused(_no_organisation(item.organisation_id))
    return created


def _no_organisation(organisation_id: str) -> str:
    return f"no organisation {organisation_id}: give the id of an existing organisation (GET /organisations)"


async def drivers_to_change(conn: AsyncConnection, scope: Scope, ids: Collection[int]) -> dict[int, DriverPublic]:
    """Those of `ids` that are drivers in the scope, by id, locked until the transaction ends (a dispatch of them
    waits)."""
    return {item.id: item for item in await some(conn, DRIVERS, scope, DriverPublic, ids, lock=True)}


async def update_driver(
    conn: AsyncConnection, scope: Scope, driver_id: int, changes: Mapping[str, Any]
) -> DriverPublic:
    """Change fields of a driver in the scope.

    Raises:
        NotFound: there is no driver of this id in the scope.
        Refused: the changed driver does not fit, or their new organisation is not one in the scope.
        Conflict: made inactive while on an open trip request.
    """
    async with conn.transaction():
        current = (await drivers_to_change(conn, scope, [driver_id])).get(driver_id)
        if current is None:
            raise NotFound(f"no driver {driver_id}")
        changed = validated(DriverCreate, DriverCreate, current, changes)
        if changed.organisation_id != current.organisation_id and not await visible_organisations(
            conn, scope, [changed.organisation_id]
        ):
            raise Refused(_no_organisation(changed.organisation_id))
        if current.active and not changed.active:
            busy = (await trip_requests.open_requests(conn, "driver_id", [driver_id])).get(driver_id)
            if busy is not None:
                raise Conflict(busy_problem(driver_id, current.name, busy[0]))
        await write_drivers(conn, changed={driver_id: changed})
    return await driver(conn, scope, driver_id)


def busy_problem(driver_id: int, name: str, request_id: int) -> str:
    return f"driver {driver_id} ({name}) is on request {request_id}: return or cancel it before making them inactive"


async def write_drivers(
    conn: AsyncConnection, *, changed: Mapping[int, DriverCreate] | None = None, new: Sequence[DriverCreate] = ()
) -> None:
    """Write drivers with all their fields: `changed` over the drivers of those ids, `new` as new drivers."""
    await drivers_db.write(
        conn,
        list(DriverCreate.model_fields),  # every field a driver is created with: a new one is written too
        changed={driver_id: item.model_dump() for driver_id, item in (changed or {}).items()},
        new=[item.model_dump() for item in new],
    )


async def drivers_of_organisations(conn: AsyncConnection, scope: Scope) -> list[DriverOfOrganisation]:
    """Every driver in the scope, inactive ones included, with their organisation's name, in id order."""
    return await drivers_db.of_organisations(conn, scope, DriverOfOrganisation)
