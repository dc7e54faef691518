"""Items of a table as the API reads them: keyset pages in key order and sets of ids, always within a Scope.

A `Table` is one kind of item (organisations, institutions, meters, vehicles, drivers, trip requests, alerts,
notification deliveries...): its SELECT, its key and its organisation column. Reads take the row type to make: a class
called with a keyword per selected column (the API's model, or `dict`).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from psycopg import AsyncConnection, sql
from psycopg.rows import class_row

from db.scope import Scope

Row = TypeVar("Row")


@dataclass(frozen=True, slots=True)
class Table:
    """One kind of item as the reads see it: its SELECT, its key column and its organisation column (for the
    Scope; None: items of no unit, which every scope reads alike); the key's column is the item's field that a page
    starts after."""

    select: sql.Composable
    key: str
    organisation: str | None

    @property
    def key_field(self) -> str:
        return self.key.rsplit(".", 1)[-1]


def _column(name: str) -> sql.Identifier:
    return sql.Identifier(*name.split("."))


def _in_scope(table: Table, scope: Scope) -> sql.Composable:
    return sql.SQL("TRUE") if table.organisation is None else scope.condition(table.organisation)


async def page(
    conn: AsyncConnection,
    table: Table,
    scope: Scope,
    row: type[Row],
    *,
    after: object | None,
    limit: int,
    filters: Mapping[str, Any],
    descending: bool = False,
    conditions: Sequence[sql.Composable] = (),
    condition_params: Sequence[Any] = (),
) -> list[Row]:
    """Up to `limit` items in the scope in key order after `after` (`descending`: in reverse key order, before
    `after`), with the columns of `filters` (those not None) equal to their values, and meeting `conditions`, whose
    %s placeholders take `condition_params` in order (values stay parameters, never SQL text)."""
    where: list[sql.Composable] = [_in_scope(table, scope)]
    params: list[Any] = []
    for column, value in filters.items():
        if value is not None:
            where.append(sql.SQL("{} = %s").format(_column(column)))
            params.append(value)
    if after is not None:
        where.append(sql.SQL("{} {} %s").format(_column(table.key), sql.SQL("<" if descending else ">")))
        params.append(after)
    where.extend(conditions)
    params.extend(condition_params)
    query = sql.SQL("{select} WHERE {where} ORDER BY {key}{order} LIMIT %s").format(
        select=table.select,
        where=sql.SQL(" AND ").join(where),
        key=_column(table.key),
        order=sql.SQL(" DESC" if descending else ""),
    )
    async with conn.cursor(row_factory=class_row(row)) as cur:
        await cur.execute(query, [*params, limit])
        return await cur.fetchall()


async def some(
    conn: AsyncConnection, table: Table, scope: Scope, row: type[Row], ids: Collection[Any], *, lock: bool = False
) -> list[Row]:
    """Those of `ids` that are items in the scope, in key order; with `lock`, the rows of the table's own table are
    locked until the transaction ends (not the joined ones)."""
    query = sql.SQL("{select} WHERE {key} = ANY(%s) AND {scope} ORDER BY {key}{lock}").format(
        select=table.select,
        key=_column(table.key),
        scope=_in_scope(table, scope),
        lock=sql.SQL(" FOR UPDATE OF {}").format(sql.Identifier(table.key.split(".")[0])) if lock else sql.SQL(""),
    )
    async with conn.cursor(row_factory=class_row(row)) as cur:
        await cur.execute(query, [sorted(set(ids))])
        return await cur.fetchall()
