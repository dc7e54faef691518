"""SQL of dead letters as admins read them: refused messages and frames by reason, device and time, newest first,
and the refusals counted per device (the collector and the gateway write them: db/ingest.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final, TypeVar

from psycopg import AsyncConnection, sql
from psycopg.rows import class_row

from db import table
from db.scope import Scope

Row = TypeVar("Row")

COLUMNS: Final = (
    "id", "received_at", "topic", "device_id", "reason", "detail", "payload_size", "refused", "payload",
)  # fmt: skip
_COLUMNS = sql.SQL(", ").join(map(sql.Identifier, COLUMNS))
# Of no unit (the refused message may name no registered device): every scope that may read them reads them alike.
_DEAD_LETTERS: Final = table.Table(sql.SQL("SELECT {} FROM dead_letter").format(_COLUMNS), "id", None)


def _where(
    *, device_id: str | None, reason: str | None, since: datetime | None, until: datetime | None
) -> tuple[sql.Composable, list[Any]]:
    conditions: list[sql.Composable] = [sql.SQL("true")]
    params: list[Any] = []
    for column, value in (("device_id", device_id), ("reason", reason)):
        if value is not None:
            conditions.append(sql.SQL("{} = %s").format(sql.Identifier(column)))
            params.append(value)
    if since is not None:
        conditions.append(sql.SQL("received_at >= %s"))
        params.append(since)
    if until is not None:
        conditions.append(sql.SQL("received_at < %s"))
        params.append(until)
    return sql.SQL(" AND ").join(conditions), params


async def newest(
    conn: AsyncConnection,
    row: type[Row],
    *,
    before: int | None,
    limit: int,
    device_id: str | None = None,
    reason: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[Row]:
    """Dead letters newest first (ids below `before`), of a device, a reason and a time range (each optional)."""
    conditions: list[sql.Composable] = []
    if since is not None:
        conditions.append(sql.SQL("received_at >= {}").format(sql.Literal(since)))
    if until is not None:
        conditions.append(sql.SQL("received_at < {}").format(sql.Literal(until)))
    return await table.page(
        conn,
        _DEAD_LETTERS,
        Scope(None),
        row,
        after=before,
        limit=limit,
        filters={"device_id": device_id, "reason": reason},
        descending=True,
        conditions=conditions,
    )


async def per_device(
    conn: AsyncConnection, row: type[Row], *, since: datetime | None, until: datetime | None, limit: int
) -> list[Row]:
    """The devices with refusals in the time range, most refused first: refusals (a rate-limited row stands for
    several), rows kept, the refusals per reason, the first and last; a topic that named no device is one row with
    device_id null."""
    where, params = _where(device_id=None, reason=None, since=since, until=until)
    query = sql.SQL(
        """WITH by_reason AS (
               SELECT device_id, reason, sum(refused)::bigint AS refused, count(*) AS kept,
                      min(received_at) AS first_at, max(received_at) AS last_at
               FROM dead_letter WHERE {where} GROUP BY device_id, reason)
           SELECT device_id, sum(refused)::bigint AS refused, sum(kept)::bigint AS kept,
                  jsonb_object_agg(reason, refused) AS reasons, min(first_at) AS first_at, max(last_at) AS last_at
           FROM by_reason GROUP BY device_id
           ORDER BY refused DESC, device_id NULLS LAST LIMIT %s"""
    ).format(where=where)
    async with conn.cursor(row_factory=class_row(row)) as cur:
        await cur.execute(query, [*params, limit])
        return await cur.fetchall()
