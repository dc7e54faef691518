"""SQL of supervision: alerts (raised by the supervisor, acknowledged by people), the areas they are judged
against (permitted areas, parking places and forbidden areas: GeoJSON polygons, circles, corridors) and what the
supervisor remembers of each vehicle (`supervisor_watch`).

The supervisor stores alerts and announces them (NOTIFY yiwang_alert, on commit); the API reads them, lists them
within a Scope and records acknowledgements. Reads take the row type to make; rows of alerts have the columns of
`ALERT_COLUMNS`.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any, Final, Literal, TypeVar

from psycopg import AsyncConnection, sql
from psycopg.rows import class_row, dict_row
from psycopg.types.json import Jsonb

from db import table
from db.scope import Scope
from domain.supervision import Alert, Area

Row = TypeVar("Row")

ALERT_CHANNEL: Final = "yiwang_alert"
# The transaction-level advisory lock every transaction that inserts alerts takes before its first insert and holds to
# its commit (`lock_inserts`), so that alert ids become visible in id order.
_INSERTING_ALERTS: Final = 0x5969_7761_6E67_0A1E
_IDS_PER_NOTIFY: Final = 200
ALERT_COLUMNS: Final = (
    "id", "vehicle_id", "institution_id", "meter_id", "organisation_id", "kind", "level", "time", "received_at",
    "raised_at", "latitude", "longitude", "speed", "detail", "acknowledged_at", "acknowledged_by", "note",
    "cleared_at", "cleared_reason", "closed_at", "closed_by", "assignee_id", "assigned_at", "escalated_at", "params",
    "organisation_name", "area_names",
)  # fmt: skip
# The names now of the areas an alert `a`'s parameters name by id (`area`, `areas`), as {"12": "学校"}; null when it
# names none. The notifier reads them too (db/notifications.py alerts_of).
AREA_NAMES: Final = sql.SQL(
    """(SELECT jsonb_object_agg(ar.id::text, ar.name) FROM area ar
         WHERE ar.id IN (SELECT x::bigint
                           FROM jsonb_array_elements_text(
                                  CASE WHEN jsonb_typeof(a.params->'areas') = 'array' THEN a.params->'areas'
                                       ELSE '[]'::jsonb END || jsonb_build_array(a.params->'area')) AS x
                          WHERE x ~ '^[0-9]{1,18}$'))"""
)
# Read with the alert, not stored in it: the name of its unit now (a person reads the name, not org-0031), and of
# the areas it names.
_DERIVED_COLUMNS: Final[Mapping[str, sql.Composable]] = {
    "organisation_name": sql.SQL("(SELECT o.name FROM organisation o WHERE o.id = a.organisation_id)"),
    "area_names": AREA_NAMES,
}
# The lifecycle's states (domain/alert_lifecycle.py) as conditions on an alert `a`.
STATE_CONDITIONS: Final[Mapping[str, str]] = {
    "active_unack": "a.closed_at IS NULL AND a.cleared_at IS NULL AND a.acknowledged_at IS NULL",
    "active_ack": "a.closed_at IS NULL AND a.cleared_at IS NULL AND a.acknowledged_at IS NOT NULL",
    "cleared_unack": "a.closed_at IS NULL AND a.cleared_at IS NOT NULL AND a.acknowledged_at IS NULL",
    "cleared_ack": "a.closed_at IS NULL AND a.cleared_at IS NOT NULL AND a.acknowledged_at IS NOT NULL",
    "closed": "a.closed_at IS NOT NULL",
}
# What an alert is about: a vehicle (the supervisor's alerts), or an institution (energy events, with their meter).
Subject = Literal["vehicle", "institution"]
SUBJECT_CONDITIONS: Final[Mapping[Subject, str]] = {
    "vehicle": "a.vehicle_id IS NOT NULL",
    "institution": "a.institution_id IS NOT NULL",
}
# Of an alert `a` (UPDATE alert a ... RETURNING them too).
_COLUMNS = sql.SQL(", ").join(
    sql.SQL("{} AS {}").format(_DERIVED_COLUMNS[c], sql.Identifier(c))
    if c in _DERIVED_COLUMNS
    else sql.Identifier("a", c)
    for c in ALERT_COLUMNS
)
_ALERTS = table.Table(sql.SQL("SELECT {} FROM alert a").format(_COLUMNS), "a.id", "a.organisation_id")
AREA_COLUMNS: Final = (
    "id", "name", "kind", "organisation_id", "geometry", "radius_m", "width_m", "speed_limit_kmh", "calendar_id",
    "hours", "created_at",
)  # fmt: skip
_AREA_COLUMNS = sql.SQL(", ").join(map(sql.Identifier, AREA_COLUMNS))


async def alerts(
    conn: AsyncConnection,
    scope: Scope,
    row: type[Row],
    *,
    before: int | None,
    limit: int,
    filters: Mapping[str, Any],
    open_only: bool,
    since: datetime | None,
    states: Collection[str] = (),
    subject: Subject | None = None,
) -> list[Row]:
    """The newest alerts first (ids below `before`) of the organisations in scope, with the columns of `filters`
    (those not None) equal to their values, in any of `states` (none: every state), about `subject` (None: both)."""
    conditions: list[sql.Composable] = []
    params: list[Any] = []
    if subject is not None:
        conditions.append(sql.SQL(SUBJECT_CONDITIONS[subject]))
    if open_only:
        conditions.append(sql.SQL("a.acknowledged_at IS NULL AND a.closed_at IS NULL"))
    if since is not None:
        conditions.append(sql.SQL("a.time >= %s"))
        params.append(since)
    if states:
        either = sql.SQL(" OR ").join(sql.SQL(f"({STATE_CONDITIONS[s]})") for s in sorted(states))
        conditions.append(sql.SQL("({})").format(either))
    return await table.page(
        conn,
        _ALERTS,
        scope,
        row,
        after=before,
        limit=limit,
        filters={f"a.{column}": value for column, value in filters.items()},
        descending=True,
        conditions=conditions,
        condition_params=params,
    )


async def by_ids(conn: AsyncConnection, row: type[Row], ids: Collection[int]) -> list[Row]:
    """These alerts, in id order (whoever may see them is for the caller to decide)."""
    async with conn.cursor(row_factory=class_row(row)) as cur:
        await cur.execute(
            sql.SQL("SELECT {} FROM alert a WHERE a.id = ANY(%s) ORDER BY a.id").format(_COLUMNS), [list(ids)]
        )
        return await cur.fetchall()


async def one(conn: AsyncConnection, scope: Scope, row: type[Row], alert_id: int, *, lock: bool = False) -> Row | None:
    """An alert in scope (locked until the transaction ends when `lock`); None when there is no such alert in scope."""
    async with conn.cursor(row_factory=class_row(row)) as cur:
        await cur.execute(
            sql.SQL("SELECT {} FROM alert a WHERE a.id = %s AND {}{}").format(
                _COLUMNS, scope.condition("a.organisation_id"), sql.SQL(" FOR UPDATE" if lock else "")
            ),
            (alert_id,),
        )
        return await cur.fetchone()


async def _update(conn: AsyncConnection, row: type[Row], alert_id: int, assignments: str, params: Sequence[Any]) -> Row:
    async with conn.cursor(row_factory=class_row(row)) as cur:
        await cur.execute(
            sql.SQL("UPDATE alert a SET {} WHERE a.id = %s RETURNING {}").format(sql.SQL(assignments), _COLUMNS),
            (*params, alert_id),
        )
        found = await cur.fetchone()
    assert found is not None  # locked by the caller
    return found


async def acknowledge(conn: AsyncConnection, row: type[Row], alert_id: int, *, user_id: int, note: str) -> Row:
    """Record an acknowledgement of an alert, now, with its note (also appended to the alert's notes); the alert
    as it is then."""
    await add_note(conn, alert_id, author_id=user_id, text=note)
    return await _update(
        conn, row, alert_id, "acknowledged_at = now(), acknowledged_by = %s, note = %s", (user_id, note)
    )


async def assign(conn: AsyncConnection, row: type[Row], alert_id: int, *, assignee_id: int | None) -> Row:
    """Give an alert to a user (None: to nobody), now; the alert as it is then."""
    return await _update(conn, row, alert_id, "assignee_id = %s, assigned_at = now()", (assignee_id,))


async def close(conn: AsyncConnection, row: type[Row], alert_id: int, *, user_id: int) -> Row:
    """Close an alert, now; the alert as it is then."""
    return await _update(conn, row, alert_id, "closed_at = now(), closed_by = %s", (user_id,))


async def add_note(conn: AsyncConnection, alert_id: int, *, author_id: int, text: str) -> dict[str, Any]:
    """Append a note to an alert; the note as stored (id, alert_id, author_id, created_at, text)."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            """INSERT INTO alert_note (alert_id, author_id, text) VALUES (%s, %s, %s)
               RETURNING id, alert_id, author_id, created_at, text""",
            (alert_id, author_id, text),
        )
        found = await cur.fetchone()
    assert found is not None
    return found


async def notes(conn: AsyncConnection, alert_id: int) -> list[dict[str, Any]]:
    """An alert's notes, oldest first."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT id, alert_id, author_id, created_at, text FROM alert_note WHERE alert_id = %s ORDER BY id",
            (alert_id,),
        )
        return await cur.fetchall()


async def user_sees(conn: AsyncConnection, user_id: int, organisation_id: str) -> tuple[str, bool] | None:
    """An enabled user's role and whether the organisation is one of theirs (user_organisation); None: no such
    enabled user."""
    cur = await conn.execute(
        """SELECT u.role, EXISTS (SELECT 1 FROM user_organisation o WHERE o.user_id = u.id AND o.organisation_id = %s)
           FROM app_user u WHERE u.id = %s AND NOT u.disabled""",
        (organisation_id, user_id),
    )
    found = await cur.fetchone()
    return None if found is None else (found[0], found[1])


# The notifier's sweeps.


async def active_with_newest(
    conn: AsyncConnection, kinds: Collection[str], *, above_id: int, limit: int
) -> list[dict[str, Any]]:
    """Active alerts (neither cleared nor closed, ids above `above_id`) of these kinds whose vehicle has a newer fix
    than the alert's, with that fix (newest_time, newest_latitude, newest_longitude, newest_speed); in id order."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            """SELECT a.id, a.kind, a.time, a.organisation_id, p.time AS newest_time, p.latitude AS newest_latitude,
                      p.longitude AS newest_longitude, p.speed AS newest_speed
               FROM alert a JOIN live_position p ON p.vehicle_id = a.vehicle_id AND p.time > a.time
               WHERE a.cleared_at IS NULL AND a.closed_at IS NULL AND a.kind = ANY(%s) AND a.id > %s
               ORDER BY a.id LIMIT %s""",
            (list(kinds), above_id, limit),
        )
        return await cur.fetchall()


async def clear(conn: AsyncConnection, reasons: Mapping[int, str]) -> int:
    """Record alerts' causes as ended, now, with why (an alert cleared already keeps its first clearing)."""
    cleared = 0
    for alert_id, reason in reasons.items():
        cur = await conn.execute(
            "UPDATE alert SET cleared_at = now(), cleared_reason = %s WHERE id = %s AND cleared_at IS NULL",
            (reason, alert_id),
        )
        cleared += cur.rowcount
    return cleared


async def escalate(
    conn: AsyncConnection, after_seconds: float, *, above_id: int, now: datetime
) -> list[dict[str, Any]]:
    """Record as escalated at `now` (the notifier's clock) the active alerts (ids above `above_id`: those raised
    since notifications began) unacknowledged for `after_seconds` since they were raised, as of `now`, and not
    escalated yet; those alerts (id, organisation_id, kind, level)."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            """UPDATE alert a SET escalated_at = %(now)s
               WHERE a.escalated_at IS NULL AND a.acknowledged_at IS NULL AND a.cleared_at IS NULL
                 AND a.closed_at IS NULL AND a.id > %(above)s
                 AND a.raised_at <= %(now)s - make_interval(secs => %(after)s)
               RETURNING a.id, a.organisation_id, a.kind, a.level""",
            {"now": now, "above": above_id, "after": after_seconds},
        )
        return await cur.fetchall()


def params_value(params: Mapping[str, Any] | None) -> Jsonb | None:
    """An alert's parameters as the `params` column holds them (None: none known)."""
    return None if params is None else Jsonb(dict(params))


async def lock_inserts(conn: AsyncConnection) -> None:
    """Wait until no other transaction is inserting alerts, and keep the others waiting until this one ends.

    Why: the notifier plans "alerts with an id above its cursor" and moves the cursor to the highest id it saw
    (db/notifications.py). Several processes insert alerts (the supervisor, the notifier's energy watch, each API's
    quota watch); without this, one holding id N uncommitted while another commits N + 1 lets a sweep move past N,
    which is then never notified. One lock, taken just before inserting (held only until the commit that follows),
    makes ids commit in order; a per-alert "planned" mark would need a migration of the alert table and a write per
    alert planned instead."""
    await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_INSERTING_ALERTS,))


async def store(conn: AsyncConnection, alerts: Sequence[Alert], organisation_of: Mapping[str, str]) -> list[int]:
    """Store alerts of these vehicles (of the organisations given), none twice (an alert is unique per vehicle,
    kind and fix time), and announce the ids stored on commit; returns them. Holds `lock_inserts` to the commit."""
    ids: list[int] = []
    if alerts:
        await lock_inserts(conn)
    async with conn.cursor() as cur:
        for a in alerts:
            await cur.execute(
                """INSERT INTO alert (vehicle_id, organisation_id, kind, level, time, received_at, latitude,
                                      longitude, speed, detail, params)
                   VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
                   ON CONFLICT (vehicle_id, kind, time) DO NOTHING RETURNING id""",
                (a.vehicle_id, organisation_of.get(a.vehicle_id, ""), a.kind, a.level, a.time, a.received_at,
                 a.latitude, a.longitude, a.speed, a.detail, params_value(a.params)),
            )  # fmt: skip
            found = await cur.fetchone()
            if found is not None:
                ids.append(found[0])
    # Pushed to live clients by whoever LISTENs (the API, the notifier); delivered on commit, never before. A
    # notification's payload must be under 8,000 bytes, and a batch may raise thousands of alerts: lists of at most
    # _IDS_PER_NOTIFY ids (19 digits and a separator each at most: under 4,200 bytes).
    for start in range(0, len(ids), _IDS_PER_NOTIFY):
        await conn.execute(
            "SELECT pg_notify(%s, %s)", (ALERT_CHANNEL, json.dumps(ids[start : start + _IDS_PER_NOTIFY]))
        )
    return ids


async def organisations_of_vehicles(conn: AsyncConnection) -> dict[str, str]:
    """Every registered vehicle's organisation."""
    cur = await conn.execute("SELECT id, organisation_id FROM vehicle")
    return dict(await cur.fetchall())


async def retired_vehicles(conn: AsyncConnection) -> set[str]:
    """The vehicles that left the fleet: their silence is no alert."""
    cur = await conn.execute("SELECT id FROM vehicle WHERE lifecycle = 'retired'")
    return {vehicle_id for (vehicle_id,) in await cur.fetchall()}


async def areas(conn: AsyncConnection, scope: Scope, row: type[Row]) -> list[Row]:
    """The city's areas and those of the organisations in scope, in id order."""
    async with conn.cursor(row_factory=class_row(row)) as cur:
        await cur.execute(
            sql.SQL(
                """SELECT {} FROM area a
                   WHERE a.organisation_id IS NULL OR {} ORDER BY id"""
            ).format(_AREA_COLUMNS, scope.condition("a.organisation_id"))
        )
        return await cur.fetchall()


async def all_areas(conn: AsyncConnection) -> list[Area]:
    """Every area, in id order, as the supervision rules judge them."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            """SELECT id, kind, organisation_id, geometry, radius_m, width_m, speed_limit_kmh, calendar_id, hours
               FROM area ORDER BY id"""
        )
        rows = await cur.fetchall()
    rules = ("radius_m", "width_m", "speed_limit_kmh", "calendar_id", "hours")
    return [
        Area.from_geojson(r["id"], r["kind"], r["organisation_id"], r["geometry"], **{k: r[k] for k in rules})
        for r in rows
    ]


async def area_version(conn: AsyncConnection) -> int:
    """How many times the areas have been changed (a statement counts once)."""
    cur = await conn.execute("SELECT version FROM area_version")
    found = await cur.fetchone()
    return int(found[0]) if found is not None else 0


async def insert_area(conn: AsyncConnection, row: type[Row], values: Mapping[str, Any]) -> Row:
    """A new area of these columns (those of AREA_COLUMNS but id and created_at; geometry GeoJSON); as stored."""
    columns = [c for c in AREA_COLUMNS if c not in ("id", "created_at")]
    params = [Jsonb(dict(values[c])) if c == "geometry" else values.get(c) for c in columns]
    if params[columns.index("hours")] is None:
        params[columns.index("hours")] = "always"
    async with conn.cursor(row_factory=class_row(row)) as cur:
        await cur.execute(
            sql.SQL("INSERT INTO area ({}) VALUES ({}) RETURNING {}").format(
                sql.SQL(", ").join(map(sql.Identifier, columns)),
                sql.SQL(", ").join(sql.Placeholder() * len(columns)),
                _AREA_COLUMNS,
            ),
            params,
        )
        found = await cur.fetchone()
    assert found is not None
    return found


async def area(conn: AsyncConnection, row: type[Row], area_id: int) -> Row | None:
    """An area (any unit's), locked until the caller's transaction ends; None when there is none of this id."""
    async with conn.cursor(row_factory=class_row(row)) as cur:
        await cur.execute(sql.SQL("SELECT {} FROM area WHERE id = %s FOR UPDATE").format(_AREA_COLUMNS), (area_id,))
        return await cur.fetchone()


async def update_area(conn: AsyncConnection, row: type[Row], area_id: int, values: Mapping[str, Any]) -> Row:
    """Replace these columns of an area (geometry GeoJSON); the area as stored."""
    names = list(values)
    params = [Jsonb(dict(values[c])) if c == "geometry" else values[c] for c in names]
    async with conn.cursor(row_factory=class_row(row)) as cur:
        await cur.execute(
            sql.SQL("UPDATE area SET {} WHERE id = %s RETURNING {}").format(
                sql.SQL(", ").join(sql.SQL("{} = %s").format(sql.Identifier(c)) for c in names), _AREA_COLUMNS
            ),
            [*params, area_id],
        )
        found = await cur.fetchone()
    assert found is not None
    return found


async def watches(conn: AsyncConnection) -> dict[str, dict[str, Any]]:
    """What the supervisor remembered of each vehicle (Watch.state), by vehicle."""
    cur = await conn.execute("SELECT vehicle_id, state FROM supervisor_watch")
    return dict(await cur.fetchall())


async def keep_watches(conn: AsyncConnection, states: Mapping[str, Mapping[str, Any]]) -> None:
    """Store what the supervisor remembers of these vehicles, replacing what was; in the caller's transaction (the
    one that stores the alerts the same judgement raised)."""
    if not states:
        return
    async with conn.cursor() as cur:
        await cur.executemany(
            """INSERT INTO supervisor_watch (vehicle_id, state) VALUES (%s, %s)
               ON CONFLICT (vehicle_id) DO UPDATE SET state = EXCLUDED.state, updated_at = now()""",
            [(vehicle_id, Jsonb(dict(state))) for vehicle_id, state in sorted(states.items())],
        )


async def delete_area(conn: AsyncConnection, area_id: int) -> bool:
    """Remove an area; whether there was one."""
    cur = await conn.execute("DELETE FROM area WHERE id = %s", (area_id,))
    return cur.rowcount > 0


async def vehicles_in(conn: AsyncConnection, scope: Scope, organisation_id: str | None) -> list[tuple[str, str, str]]:
    """The vehicles of the organisations in scope (of one, if given): id, plate, organisation; in unit, id order."""
    cur = await conn.execute(
        sql.SQL(
            """SELECT v.id, v.plate, v.organisation_id FROM vehicle v
               WHERE {} AND (%(organisation)s::text IS NULL OR v.organisation_id = %(organisation)s)
               ORDER BY v.organisation_id, v.id"""
        ).format(scope.condition("v.organisation_id")),
        {"organisation": organisation_id},
    )
    return [(str(i), str(p), str(o)) for i, p, o in await cur.fetchall()]
