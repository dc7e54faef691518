"""SQL of drivers (驾驶员): the people a dispatch assigns to a vehicle, numbered by the database.

Reads take the row type to make (a model with a field per selected column) and a Scope.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from psycopg import AsyncConnection, sql
from psycopg.rows import class_row

from db.scope import Scope

Row = TypeVar("Row")

_SELECT = sql.SQL(
    "SELECT d.id, d.organisation_id, d.name, d.phone, d.licence_class, d.active, d.created_at FROM driver d"
)
# What a driver is written with: every field of a driver but its id and the time it was added.
COLUMNS = ("organisation_id", "name", "phone", "licence_class", "active")


async def page(
    conn: AsyncConnection,
    scope: Scope,
    row: type[Row],
    *,
    after: int | None,
    limit: int,
    organisation_id: str | None = None,
    active: bool | None = None,
) -> list[Row]:
    """Up to `limit` drivers of the organisations in the scope in id order after `after`, optionally of one
    organisation or activity."""
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
    async with conn.cursor(row_factory=class_row(row)) as cur:
        await cur.execute(query, [*params, limit])
        return await cur.fetchall()


async def some(
    conn: AsyncConnection, scope: Scope, row: type[Row], ids: Sequence[int], *, lock: bool = False
) -> list[Row]:
    """Those of `ids` that are drivers in the scope, in id order; with `lock`, locked until the transaction ends (a
    dispatch of them waits)."""
    query = sql.SQL("{select} WHERE d.id = ANY(%s) AND {scope} ORDER BY d.id{lock}").format(
        select=_SELECT,
        scope=scope.condition("d.organisation_id"),
        lock=sql.SQL(" FOR UPDATE OF d") if lock else sql.SQL(""),
    )
    async with conn.cursor(row_factory=class_row(row)) as cur:
        await cur.execute(query, [sorted(set(ids))])
        return await cur.fetchall()


async def insert(conn: AsyncConnection, scope: Scope, row: type[Row], values: Mapping[str, Any]) -> Row | None:
    """A new driver of an organisation in the scope (`values` by COLUMNS); None when there is no such
    organisation in the scope."""
    query = sql.SQL(
        """INSERT INTO driver (organisation_id, name, phone, licence_class, active)
           SELECT o.id, %s, %s, %s, %s FROM organisation o WHERE o.id = %s AND {scope}
           RETURNING id, organisation_id, name, phone, licence_class, active, created_at"""
    ).format(scope=scope.condition("o.id"))
    params = [values["name"], values["phone"], values["licence_class"], values["active"], values["organisation_id"]]
    async with conn.cursor(row_factory=class_row(row)) as cur:
        await cur.execute(query, params)
        return await cur.fetchone()


async def write(
    conn: AsyncConnection,
    *,
    changed: Mapping[int, Mapping[str, Any]] | None = None,
    new: Sequence[Mapping[str, Any]] = (),
) -> None:
    """Write drivers with all their COLUMNS: `changed` over the drivers of those ids, `new` as new drivers."""
    async with conn.cursor() as cur:
        if changed:
            update = sql.SQL("UPDATE driver SET {} WHERE id = %s").format(
                sql.SQL(", ").join(sql.SQL("{} = %s").format(sql.Identifier(c)) for c in COLUMNS)
            )
            rows = [[values[c] for c in COLUMNS] + [driver_id] for driver_id, values in changed.items()]
            await cur.executemany(update, rows)
        if new:
            insert = sql.SQL("INSERT INTO driver ({}) VALUES ({})").format(
                sql.SQL(", ").join(map(sql.Identifier, COLUMNS)), sql.SQL(", ").join(sql.Placeholder() * len(COLUMNS))
            )
            await cur.executemany(insert, [[values[c] for c in COLUMNS] for values in new])


async def of_organisations(conn: AsyncConnection, scope: Scope, row: type[Row]) -> list[Row]:
    """Every driver in the scope, inactive ones included, with their organisation's name (organisation_name), in id
    order."""
    query = sql.SQL(
        """SELECT d.id, d.organisation_id, d.name, d.phone, d.licence_class, d.active, d.created_at,
                  o.name AS organisation_name
           FROM driver d JOIN organisation o ON o.id = d.organisation_id WHERE {scope} ORDER BY d.id"""
    ).format(scope=scope.condition("d.organisation_id"))
    async with conn.cursor(row_factory=class_row(row)) as cur:
        await cur.execute(query)
        return await cur.fetchall()
