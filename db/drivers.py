"""SQL of drivers (驾驶员): the people a dispatch assigns to a vehicle, numbered by the database.

Reads take the row type to make (a model with a field per selected column) and a Scope.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from psycopg import AsyncConnection, sql
from psycopg.rows import class_row

from db.scope import Scope
from db.table import Table

Row = TypeVar("Row")

DRIVERS = Table(
    sql.SQL("SELECT d.id, d.organisation_id, d.name, d.phone, d.licence_class, d.active, d.created_at FROM driver d"),
    "d.id",
    "d.organisation_id",
)


async def insert(conn: AsyncConnection, scope: Scope, row: type[Row], values: Mapping[str, Any]) -> Row | None:
    """A new driver of an organisation in the scope (`values`: organisation_id, name, phone, licence_class,
    active); None when there is no such organisation in the scope."""
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
    columns: Sequence[str],
    *,
    changed: Mapping[int, Mapping[str, Any]] | None = None,
    new: Sequence[Mapping[str, Any]] = (),
) -> None:
    """Write these columns of drivers: `changed` over the drivers of those ids, `new` as new drivers."""
    async with conn.cursor() as cur:
        if changed:
            update = sql.SQL("UPDATE driver SET {} WHERE id = %s").format(
                sql.SQL(", ").join(sql.SQL("{} = %s").format(sql.Identifier(c)) for c in columns)
            )
            rows = [[values[c] for c in columns] + [driver_id] for driver_id, values in changed.items()]
            await cur.executemany(update, rows)
        if new:
            insert = sql.SQL("INSERT INTO driver ({}) VALUES ({})").format(
                sql.SQL(", ").join(map(sql.Identifier, columns)), sql.SQL(", ").join(sql.Placeholder() * len(columns))
            )
            await cur.executemany(insert, [[values[c] for c in columns] for values in new])


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
