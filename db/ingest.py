"""Writes of the telemetry tables: readings, positions, the live position, and dead letters.

Everything here runs inside the caller's transaction, on a connection that `prepare_connection`
has prepared. Rows are plain tuples in column order.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import psycopg
from psycopg import AsyncConnection, sql

from db import marks
from domain.position import Position
from domain.reading import Reading

# Rows are the domain's readings and positions: their fields are the columns, in their order.
READING_COLUMNS = Reading._fields
READING_TYPES = ("text", "timestamptz", "float8", "timestamptz")
POSITION_COLUMNS = Position._fields
POSITION_TYPES = (
    "text", "timestamptz", "timestamptz", "float8", "float8", "float4", "float4", "bool", "float8", "bool",
    "float4", "int2", "float4", "float4", "float4", "int8", "int8",
)  # fmt: skip
# `payload` holds a prefix of the payload; its whole size and hash are beside it (0020).
DEAD_LETTER_COLUMNS = (
    "received_at",
    "topic",
    "payload",
    "reason",
    "detail",
    "device_id",
    "payload_size",
    "payload_sha256",
    "refused",
)
DEAD_LETTER_TYPES = ("timestamptz", "text", "bytea", "text", "text", "text", "int4", "bytea", "int4")

_KEYS = {"reading": ("meter_id", "time"), "position": ("vehicle_id", "time")}

# A reading resent for a stored time with another register: the first copy stays, the difference is recorded
# (0023). Set-wise over the staging table, by the stored rows' key: the cost of a batch that met stored rows, none
# on the COPY path. Run after the rows' INSERT, whose snapshot is newer: it sees a copy that another collector
# committed meanwhile (the INSERT waited for it), and the rows just stored match themselves. Staged rows of one key
# (a batch's own later copies) count as that many resends.
# The literal bounds, the batch's time span, leave the planner only the chunks the batch falls in: without them it
# probed or scanned every chunk of the hypertable (300 ms instead of 10 for 1,000 rows against 25 chunks).
_READING_CONFLICTS = sql.SQL(
    """INSERT INTO reading_conflict AS c (meter_id, time, stored_register, resent_register, resends,
                                          first_received_at, last_received_at)
       SELECT s.meter_id, s.time, min(r.register), (array_agg(s.register ORDER BY s.received_at DESC))[1],
              count(*), min(s.received_at), max(s.received_at)
       FROM {staging} s JOIN reading r ON r.meter_id = s.meter_id AND r.time = s.time
       WHERE r.register <> s.register AND r.time >= {first} AND r.time <= {last}
       GROUP BY s.meter_id, s.time
       ORDER BY s.meter_id, s.time
       ON CONFLICT (meter_id, time) DO UPDATE
          SET resent_register = EXCLUDED.resent_register, resends = c.resends + EXCLUDED.resends,
              last_received_at = greatest(c.last_received_at, EXCLUDED.last_received_at)"""
)


async def _copy(
    conn: AsyncConnection, table: str, columns: Sequence[str], types: Sequence[str], rows: Sequence[Any]
) -> None:
    statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    async with conn.cursor() as cur, cur.copy(statement) as copy:
        copy.set_types(list(types))
        for row in rows:
            await copy.write_row(row)


async def _insert_new(
    conn: AsyncConnection, table: str, columns: Sequence[str], types: Sequence[str], rows: Sequence[Any]
) -> int:
    """Store the rows whose key is not stored yet; returns how many were new.

    The fast path COPYs straight into the hypertable. Only when a row is already there (a message
    redelivered after a crash, a device resending) does it fall back to COPY into a staging table
    and INSERT ... ON CONFLICT DO NOTHING, which costs about twice as much per row; readings are then compared with
    their stored copies (_READING_CONFLICTS), some 1.3 times that again when the registers agree.
    """
    try:
        async with conn.transaction():
            await _copy(conn, table, columns, types, rows)
        return len(rows)
    except psycopg.errors.UniqueViolation:
        pass
    staging = f"_staging_{table}"
    await _copy(conn, staging, columns, types, rows)
    cols = sql.SQL(", ").join(map(sql.Identifier, columns))
    result = await conn.execute(
        sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {} ON CONFLICT ({}) DO NOTHING").format(
            sql.Identifier(table),
            cols,
            cols,
            sql.Identifier(staging),
            sql.SQL(", ").join(map(sql.Identifier, _KEYS[table])),
        )
    )
    if table == "reading":
        await _record_conflicts(conn, staging, rows)
    return result.rowcount


async def _record_conflicts(conn: AsyncConnection, staging: str, rows: Sequence[Any]) -> None:
    """Record the staged readings (`rows`) whose key is stored with another register."""
    times = [row[1] for row in rows]
    query = _READING_CONFLICTS.format(
        staging=sql.Identifier(staging), first=sql.Literal(min(times)), last=sql.Literal(max(times))
    )
    # Not prepared: its bounds differ every time.
    await conn.execute(query, prepare=False)


async def prepare_connection(conn: AsyncConnection) -> None:
    """Create the connection's staging tables, once: the writes below need them (pool `configure`)."""
    # The live positions' staging table is shaped like `position`: live_position's own columns (0015) are set by
    # the upsert, not copied.
    for staging, table in (("_staging_reading", "reading"), ("_staging_position", "position"),
                           ("_staging_live", "position")):  # fmt: skip
        await conn.execute(
            sql.SQL("CREATE TEMP TABLE IF NOT EXISTS {} (LIKE {}) ON COMMIT DELETE ROWS").format(
                sql.Identifier(staging), sql.Identifier(table)
            )
        )
    await conn.commit()


async def insert_readings(conn: AsyncConnection, rows: Sequence[Any], resent: Sequence[Any] = ()) -> int:
    """Store readings, skipping any (meter_id, time) already stored, and mark their meters' consumption
    roll-up stale from the earliest of them on. Rows must have unique keys. A row not stored because its key
    was, with another register, is recorded in `reading_conflict`; so are those of `resent` (later copies of keys
    among `rows`, which the caller set aside)."""
    stored = await _insert_and_mark(conn, "reading", READING_COLUMNS, READING_TYPES, rows)
    if stored:
        # Every row is stored now, new or before: the spans take them all.
        await _widen_spans(conn, rows)
    if resent:
        # The staging table may still hold `rows` (it empties at commit): compare only the resent copies.
        await conn.execute("DELETE FROM _staging_reading")
        await _copy(conn, "_staging_reading", READING_COLUMNS, READING_TYPES, resent)
        await _record_conflicts(conn, "_staging_reading", resent)
    return stored


def widening_spans(rows: sql.Composable) -> sql.Composed:
    """The statement that widens each meter's first and last reading (`reading_span`) to take `rows`: a query of
    (meter_id, earliest, latest), a meter once. For the ingest path below and for backfills (bench/)."""
    # A span only widens: most meters of most batches move only their latest reading.
    return sql.SQL(
        """INSERT INTO reading_span AS s (meter_id, earliest, latest) {rows}
           ON CONFLICT (meter_id) DO UPDATE SET earliest = least(s.earliest, EXCLUDED.earliest),
                                                latest = greatest(s.latest, EXCLUDED.latest)
           WHERE EXCLUDED.earliest < s.earliest OR EXCLUDED.latest > s.latest"""
    ).format(rows=rows)


_WIDEN_SPANS = widening_spans(sql.SQL("SELECT * FROM unnest(%b::text[], %b::timestamptz[], %b::timestamptz[])"))


async def _widen_spans(conn: AsyncConnection, rows: Sequence[Any]) -> None:
    """Widen the meters' spans to take these readings, in the caller's transaction. Meters in one order for every
    writer: no deadlock."""
    spans: dict[str, tuple[datetime, datetime]] = {}
    for row in rows:
        meter, time = row[0], row[1]
        earliest, latest = spans.get(meter, (time, time))
        spans[meter] = (min(earliest, time), max(latest, time))
    meters = sorted(spans)
    await conn.execute(_WIDEN_SPANS, (meters, [spans[m][0] for m in meters], [spans[m][1] for m in meters]))


async def insert_positions(conn: AsyncConnection, rows: Sequence[Any]) -> int:
    """Store positions, skipping any (vehicle_id, time) already stored, and mark their vehicles' mileage roll-up
    stale from the earliest of them on. Rows must have unique keys."""
    return await _insert_and_mark(conn, "position", POSITION_COLUMNS, POSITION_TYPES, rows)


# The roll-up each table's rows feed (db/marks.py).
_MARKS = {"reading": marks.CONSUMPTION, "position": marks.MILEAGE}


async def _insert_and_mark(
    conn: AsyncConnection, table: str, columns: Sequence[str], types: Sequence[str], rows: Sequence[Any]
) -> int:
    stored = await _insert_new(conn, table, columns, types, rows)
    if stored:
        earliest: dict[str, datetime] = {}
        for row in rows:
            device, time = row[0], row[1]
            if device not in earliest or time < earliest[device]:
                earliest[device] = time
        await _MARKS[table].mark(conn, earliest)
    return stored


# A moved position also records the transaction that moved it: the live map reads by it (0015).
_LIVE_UPDATE = sql.SQL(", ").join(
    [
        *(sql.SQL("{} = EXCLUDED.{}").format(sql.Identifier(c), sql.Identifier(c)) for c in POSITION_COLUMNS[1:]),
        sql.SQL("changed_xact = pg_current_xact_id()"),
    ]
)


async def update_live(conn: AsyncConnection, newest: Sequence[Any]) -> None:
    """Move each vehicle's live position to the given one, unless a newer fix is already there.

    `newest` holds at most one position per vehicle. They are written in vehicle order so that two
    collectors updating the same vehicles lock them in the same order and cannot deadlock.
    """
    await _copy(conn, "_staging_live", POSITION_COLUMNS, POSITION_TYPES, sorted(newest, key=lambda r: r[0]))
    cols = sql.SQL(", ").join(map(sql.Identifier, POSITION_COLUMNS))
    await conn.execute(
        sql.SQL(
            "INSERT INTO live_position ({cols}) SELECT {cols} FROM _staging_live ORDER BY vehicle_id "
            "ON CONFLICT (vehicle_id) DO UPDATE SET {update} WHERE live_position.time < EXCLUDED.time"
        ).format(cols=cols, update=_LIVE_UPDATE)
    )


async def insert_dead_letters(conn: AsyncConnection, rows: Sequence[Any]) -> None:
    """Record refused messages, rows in DEAD_LETTER_COLUMNS' order."""
    await _copy(conn, "dead_letter", DEAD_LETTER_COLUMNS, DEAD_LETTER_TYPES, rows)


async def count_dead_letters(conn: AsyncConnection, rows: Sequence[Any]) -> None:
    """Add refusals to the row that counts them: rows as for `insert_dead_letters`, each standing for `refused`
    refusals of one reason, device and `received_at` (the start of the period counted). A row already there for
    the same three gets the count added; otherwise the row is inserted.

    Two collectors of one shared group may each insert a row for the same period: the sum of `refused` is right,
    since later counts go to the first of them only.
    They update rows in one order (as `update_live` does), so that they cannot deadlock.
    """
    new = []
    for row in sorted(rows, key=lambda r: (r[3], r[0], r[5] or "")):
        received_at, reason, device_id, refused = row[0], row[3], row[5], row[8]
        # One row only: where two collectors each inserted one for the period, adding to both would count twice.
        cur = await conn.execute(
            "UPDATE dead_letter SET refused = refused + %s WHERE id = ("
            " SELECT id FROM dead_letter"
            " WHERE reason = %s AND received_at = %s AND device_id IS NOT DISTINCT FROM %s ORDER BY id LIMIT 1)",
            (refused, reason, received_at, device_id),
        )
        if not cur.rowcount:
            new.append(row)
    if new:
        await insert_dead_letters(conn, new)


async def prune_dead_letters(conn: AsyncConnection, *, before: datetime, per_device: int) -> int:
    """Delete dead letters received before `before`, and each device's beyond its newest `per_device` (rows whose
    topic names no device count as one device). Returns how many were deleted."""
    cur = await conn.execute("DELETE FROM dead_letter WHERE received_at < %s", (before,))
    deleted = cur.rowcount
    cur = await conn.execute("SELECT device_id FROM dead_letter GROUP BY device_id HAVING count(*) > %s", (per_device,))
    for (device_id,) in await cur.fetchall():
        # `=` rather than IS NOT DISTINCT FROM, which no index serves.
        of = sql.SQL("device_id IS NULL" if device_id is None else "device_id = %(device)s")
        cur = await conn.execute(
            sql.SQL(
                "DELETE FROM dead_letter WHERE {of} AND id <= "
                "(SELECT id FROM dead_letter WHERE {of} ORDER BY id DESC OFFSET %(keep)s LIMIT 1)"
            ).format(of=of),
            {"device": device_id, "keep": per_device},
        )
        deleted += cur.rowcount
    return deleted


async def known_devices(conn: AsyncConnection, table: str, ids: Sequence[str]) -> set[str]:
    """Which of `ids` the registry table (`meter` or `vehicle`) holds."""
    if table not in ("meter", "vehicle"):
        raise ValueError(f"no device table {table!r}")
    cur = await conn.execute(
        sql.SQL("SELECT id FROM {} WHERE id = ANY(%s)").format(sql.Identifier(table)), (list(ids),)
    )
    return {row[0] for row in await cur.fetchall()}


async def all_devices(conn: AsyncConnection, table: str) -> set[str]:
    """Every device id of a registry table (`meter` or `vehicle`)."""
    if table not in ("meter", "vehicle"):
        raise ValueError(f"no device table {table!r}")
    cur = await conn.execute(sql.SQL("SELECT id FROM {}").format(sql.Identifier(table)))
    return {row[0] for row in await cur.fetchall()}


async def meter_installations(conn: AsyncConnection, ids: Sequence[str] | None = None) -> dict[str, date]:
    """The installation date of each meter that has one (of `ids`; None: of every meter)."""
    cur = await conn.execute(
        "SELECT id, installed_on FROM meter WHERE installed_on IS NOT NULL AND (%(all)s OR id = ANY(%(ids)s))",
        {"all": ids is None, "ids": list(ids or ())},
    )
    return {row[0]: row[1] for row in await cur.fetchall()}


async def vehicle_terminals(conn: AsyncConnection, keys: Sequence[str] | None = None) -> dict[str, str]:
    """The vehicle (not retired) of each terminal id, keyed by the id without its leading zeros (of `keys`; None: of
    every vehicle with a terminal): JT/T 808 pads a phone number to 12 or 20 digits, a registry may not. A key that
    two vehicles' ids share (`013800000000` and `13800000000`: the registry tells them apart) names neither: their
    positions are refused as from an unknown terminal rather than stored on whichever row came last, as the
    gateway's authentication refuses them (db/terminals.py)."""
    cur = await conn.execute(
        """SELECT key, min(id) FROM (
               SELECT COALESCE(NULLIF(ltrim(terminal_id, '0'), ''), '0') AS key, id FROM vehicle
               WHERE terminal_id IS NOT NULL AND lifecycle <> 'retired') AS terminal
           WHERE %(all)s OR key = ANY(%(keys)s)
           GROUP BY key HAVING count(*) = 1""",
        {"all": keys is None, "keys": list(keys or ())},
    )
    return {row[0]: row[1] for row in await cur.fetchall()}
