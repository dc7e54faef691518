"""SQL of notifications: the rules admins keep (who is told of what, and how), the deliveries the notifier plans,
tries and records, and how far it has planned (docs/notifications.md)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final, TypeVar

from psycopg import AsyncConnection, sql
from psycopg.rows import class_row, dict_row

from db import table
from db.alerts import AREA_NAMES
from db.scope import Scope
from db.sealing import Sealer, Unsealable
from domain.notifications import Rule

Row = TypeVar("Row")

RULE_COLUMNS: Final = (
    "id", "name", "enabled", "organisation_id", "kinds", "levels", "event", "channel", "target", "role", "secret",
    "quiet_start", "quiet_end", "digest_minutes", "created_at", "created_by",
)  # fmt: skip
DELIVERY_COLUMNS: Final = (
    "id", "rule_id", "key", "alert_ids", "channel", "target", "status", "attempts", "last_error", "created_at",
    "due_at", "sent_at", "updated_at",
)  # fmt: skip
_RULES = sql.SQL(", ").join(map(sql.Identifier, RULE_COLUMNS))
_DELIVERIES = sql.SQL(", ").join(map(sql.Identifier, DELIVERY_COLUMNS))
_DELIVERY_TABLE = table.Table(sql.SQL("SELECT {} FROM notification_delivery").format(_DELIVERIES), "id", None)
# The cursor's rows: the newest alert id planned, and the newest when notifications began (older ones are history:
# neither notified nor escalated).
PLANNED: Final = "planned"
START: Final = "start"


async def rules(conn: AsyncConnection, row: type[Row]) -> list[Row]:
    """Every rule, in id order."""
    async with conn.cursor(row_factory=class_row(row)) as cur:
        await cur.execute(sql.SQL("SELECT {} FROM notification_rule ORDER BY id").format(_RULES))
        return await cur.fetchall()


async def insert_rule(conn: AsyncConnection, row: type[Row], values: Mapping[str, Any]) -> Row:
    """A new rule with these columns' values; the rule as stored."""
    names = list(values)
    async with conn.cursor(row_factory=class_row(row)) as cur:
        await cur.execute(
            sql.SQL("INSERT INTO notification_rule ({}) VALUES ({}) RETURNING {}").format(
                sql.SQL(", ").join(map(sql.Identifier, names)),
                sql.SQL(", ").join(sql.Placeholder() * len(names)),
                _RULES,
            ),
            [values[n] for n in names],
        )
        found = await cur.fetchone()
    assert found is not None
    return found


async def set_enabled(conn: AsyncConnection, row: type[Row], rule_id: int, *, enabled: bool) -> Row | None:
    """Switch a rule on or off; the rule as it is then, None when there is no such rule."""
    async with conn.cursor(row_factory=class_row(row)) as cur:
        await cur.execute(
            sql.SQL("UPDATE notification_rule SET enabled = %s WHERE id = %s RETURNING {}").format(_RULES),
            (enabled, rule_id),
        )
        return await cur.fetchone()


async def delete_rule(conn: AsyncConnection, rule_id: int) -> bool:
    """Remove a rule (and its deliveries' records); whether there was one."""
    cur = await conn.execute("DELETE FROM notification_rule WHERE id = %s", (rule_id,))
    return cur.rowcount > 0


async def deliveries(
    conn: AsyncConnection, row: type[Row], *, after: int | None, limit: int, filters: Mapping[str, Any]
) -> list[Row]:
    """Deliveries in id order (ids above `after`), with the columns of `filters` (not None) equal to their values."""
    # Every delivery: they are of rules, not of a unit (admins read them).
    return await table.page(conn, _DELIVERY_TABLE, Scope(None), row, after=after, limit=limit, filters=filters)


async def reseal(conn: AsyncConnection, sealer: Sealer) -> tuple[int, list[str]]:
    """Seal robots' webhook URLs and signing secrets with the newest key, those stored in plain text before sealing
    began included; how many rules were, and why others could not be (each names its rule)."""
    done, problems = 0, []
    async with conn.transaction():
        cur = await conn.execute(
            """SELECT id, channel, target, secret FROM notification_rule
               WHERE (channel <> 'email' AND target IS NOT NULL) OR secret IS NOT NULL ORDER BY id FOR UPDATE"""
        )
        for rule_id, channel, target, secret in await cur.fetchall():
            try:
                values = (
                    target if channel == "email" or target is None else sealer.reseal(target),
                    None if secret is None else sealer.reseal(secret),
                )
            except Unsealable as e:
                problems.append(f"notification rule {rule_id}: {e}")
                continue
            await conn.execute(
                "UPDATE notification_rule SET target = %s, secret = %s WHERE id = %s", (*values, rule_id)
            )
            done += 1
    return done, problems


# The notifier's side.


async def enabled_rules(conn: AsyncConnection) -> list[tuple[Rule, str | None]]:
    """The enabled rules as the notifier applies them, each with its signing secret (both as stored: a robot's
    target and a secret sealed, db/sealing.py)."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            """SELECT id, organisation_id, kinds, levels, event, channel, target, role, secret, quiet_start,
                      quiet_end, digest_minutes FROM notification_rule WHERE enabled ORDER BY id"""
        )
        found = await cur.fetchall()
    return [
        (
            Rule(
                id=r["id"],
                organisation_id=r["organisation_id"],
                kinds=None if r["kinds"] is None else frozenset(r["kinds"]),
                levels=None if r["levels"] is None else frozenset(r["levels"]),
                event=r["event"],
                channel=r["channel"],
                target=r["target"],
                role=r["role"],
                quiet_start=r["quiet_start"],
                quiet_end=r["quiet_end"],
                digest_minutes=r["digest_minutes"],
            ),
            r["secret"],
        )
        for r in found
    ]


async def cursor(conn: AsyncConnection) -> tuple[int, int]:
    """Where planning stands (the newest alert id planned) and where notifications began; on the first call both
    are the newest alert id now, so history is never notified."""
    await conn.execute(
        """INSERT INTO notification_cursor (name, last_id)
           SELECT n, coalesce((SELECT max(id) FROM alert), 0) FROM unnest(ARRAY[%s, %s]) AS n
           ON CONFLICT (name) DO NOTHING""",
        (PLANNED, START),
    )
    cur = await conn.execute("SELECT name, last_id FROM notification_cursor WHERE name IN (%s, %s)", (PLANNED, START))
    found: dict[str, int] = dict(await cur.fetchall())
    return found[PLANNED], found[START]


async def alerts_after(conn: AsyncConnection, last_id: int, limit: int) -> list[dict[str, Any]]:
    """Alerts above an id, in id order (id, organisation_id, kind, level)."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT id, organisation_id, kind, level FROM alert WHERE id > %s ORDER BY id LIMIT %s", (last_id, limit)
        )
        return await cur.fetchall()


async def move_cursor(conn: AsyncConnection, last_id: int) -> None:
    await conn.execute("UPDATE notification_cursor SET last_id = %s WHERE name = %s", (last_id, PLANNED))


async def plan(conn: AsyncConnection, rule: Rule, key: str, alert_id: int, due_at: datetime, *, digest: bool) -> None:
    """A delivery of a rule about an alert, due then; a digest's key gathers its alerts into one pending delivery."""
    if digest:
        await conn.execute(
            """INSERT INTO notification_delivery (rule_id, key, alert_ids, channel, target, due_at)
               VALUES (%s, %s, ARRAY[%s]::bigint[], %s, %s, %s)
               ON CONFLICT (rule_id, key) DO UPDATE
               SET alert_ids = notification_delivery.alert_ids || EXCLUDED.alert_ids, updated_at = now()
               WHERE NOT EXCLUDED.alert_ids <@ notification_delivery.alert_ids""",
            (rule.id, key, alert_id, rule.channel, rule.recipients, due_at),
        )
    else:
        await conn.execute(
            """INSERT INTO notification_delivery (rule_id, key, alert_ids, channel, target, due_at)
               VALUES (%s, %s, ARRAY[%s]::bigint[], %s, %s, %s) ON CONFLICT (rule_id, key) DO NOTHING""",
            (rule.id, key, alert_id, rule.channel, rule.recipients, due_at),
        )


async def claim(conn: AsyncConnection, limit: int, lease_seconds: float, *, now: datetime) -> list[dict[str, Any]]:
    """Pending deliveries due at `now` (the notifier's clock, which planned their due times), oldest first, leased
    for `lease_seconds` (their due time moved on, so that another notifier leaves them alone meanwhile), with their
    rule's target and secret as stored (sealed)."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            """WITH due AS (
                   SELECT id FROM notification_delivery
                   WHERE status = 'pending' AND due_at <= %s ORDER BY due_at LIMIT %s FOR UPDATE SKIP LOCKED)
               UPDATE notification_delivery d SET due_at = %s + make_interval(secs => %s)
               FROM due, notification_rule r WHERE d.id = due.id AND r.id = d.rule_id
               RETURNING d.id, d.rule_id, d.key, d.alert_ids, d.channel, d.target, d.attempts, r.secret,
                         r.target AS rule_target, r.role, r.organisation_id""",
            (now, limit, now, lease_seconds),
        )
        return await cur.fetchall()


async def alerts_of(conn: AsyncConnection, ids: Sequence[int]) -> list[dict[str, Any]]:
    """What a message says of these alerts, in id order: an energy event's institution (institution_id,
    institution_name) and meter (meter_id, energy_type) beside a vehicle's columns (null for the other subject); the
    unit's name (organisation_name), the detail's parameters (params) and the names of the areas they name
    (area_names)."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            sql.SQL(
                """SELECT a.id, a.vehicle_id, a.institution_id, i.name AS institution_name, a.meter_id, m.energy_type,
                          a.organisation_id, o.name AS organisation_name, a.kind, a.level, a.time, a.latitude,
                          a.longitude, a.speed, a.detail, a.params, {} AS area_names
                   FROM alert a LEFT JOIN institution i ON i.id = a.institution_id
                        LEFT JOIN meter m ON m.id = a.meter_id LEFT JOIN organisation o ON o.id = a.organisation_id
                   WHERE a.id = ANY(%s) ORDER BY a.id"""
            ).format(AREA_NAMES),
            (list(ids),),
        )
        return await cur.fetchall()


async def role_addresses(conn: AsyncConnection, role: str, organisation_id: str | None) -> list[str]:
    """The addresses of the enabled users of a role; unit users only those of the organisation."""
    cur = await conn.execute(
        """SELECT DISTINCT u.email FROM app_user u
           WHERE u.role = %s AND NOT u.disabled AND u.email IS NOT NULL
             AND (u.role <> 'unit_user' OR EXISTS (SELECT 1 FROM user_organisation o
                                                   WHERE o.user_id = u.id AND o.organisation_id = %s))
           ORDER BY u.email""",
        (role, organisation_id),
    )
    return [email for (email,) in await cur.fetchall()]


async def sent(conn: AsyncConnection, delivery_id: int, target: str, *, now: datetime) -> None:
    """A delivery sent at `now` (the notifier's clock), to whom."""
    await conn.execute(
        """UPDATE notification_delivery SET status = 'sent', attempts = attempts + 1, sent_at = %s, target = %s,
                  updated_at = now(), last_error = NULL WHERE id = %s""",
        (now, target, delivery_id),
    )


async def failed(conn: AsyncConnection, delivery_id: int, error: str, *, retry_in: float | None, now: datetime) -> None:
    """A failed attempt at `now` (the notifier's clock, which claim() compares due times with): tried again
    `retry_in` seconds later, or dead (None)."""
    await conn.execute(
        """UPDATE notification_delivery
           SET attempts = attempts + 1, last_error = %s, updated_at = now(),
               status = CASE WHEN %s::float8 IS NULL THEN 'dead' ELSE 'pending' END,
               due_at = CASE WHEN %s::float8 IS NULL THEN due_at ELSE %s + make_interval(secs => %s) END
           WHERE id = %s""",
        (error[:2000], retry_in, retry_in, now, retry_in, delivery_id),
    )
