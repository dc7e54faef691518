"""SQL of the access tables: users, their organisations, sessions, refresh tokens, login counters, the audit log."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from psycopg import AsyncConnection, sql
from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from domain.login_limit import Counter, Kind


@dataclass(frozen=True, slots=True)
class UserRow:
    id: int
    name: str
    role: str
    organisations: list[str]
    disabled: bool
    created_at: datetime
    email: str | None = None


@dataclass(frozen=True, slots=True)
class Credentials:
    id: int
    name: str
    role: str
    password_hash: str
    disabled: bool


@dataclass(frozen=True, slots=True)
class SessionUser:
    """A session and its user, as checked on every request."""

    user_id: int
    name: str
    role: str
    disabled: bool
    organisations: list[str]
    active: bool  # neither revoked nor past its end


@dataclass(frozen=True, slots=True)
class RefreshRow:
    session_id: str
    user_id: int
    user_name: str
    role: str
    expired: bool
    used: bool
    session_active: bool
    disabled: bool


@dataclass(frozen=True, slots=True)
class AuditRecord:
    id: int
    at: datetime
    user_id: int | None
    user_name: str | None
    role: str | None
    action: str
    method: str
    endpoint: str
    resource_ids: list[str]
    params: dict[str, Any]
    address: str | None
    status: int
    outcome: str


_USER_COLUMNS = sql.SQL(
    """u.id, u.name, u.role,
       coalesce((SELECT array_agg(organisation_id ORDER BY organisation_id) FROM user_organisation
                 WHERE user_id = u.id), '{}') AS organisations,
       u.disabled, u.created_at, u.email"""
)


# ---- users ---------------------------------------------------------------------------------------


async def insert_user(
    conn: AsyncConnection, name: str, role: str, password_hash: str, organisations: Sequence[str]
) -> int:
    """Add a user with their organisations, in one transaction.

    Raises:
        psycopg.errors.UniqueViolation: the name is taken (whatever its case).
        psycopg.errors.ForeignKeyViolation: an organisation does not exist.
    """
    async with conn.transaction():
        cur = await conn.execute(
            "INSERT INTO app_user (name, role, password_hash) VALUES (%s, %s, %s) RETURNING id",
            (name, role, password_hash),
        )
        row = await cur.fetchone()
        assert row is not None
        user_id: int = row[0]
        await _set_organisations(conn, user_id, organisations)
    return user_id


async def _set_organisations(conn: AsyncConnection, user_id: int, organisations: Sequence[str]) -> None:
    await conn.execute("DELETE FROM user_organisation WHERE user_id = %s", (user_id,))
    if organisations:
        async with conn.cursor() as cur:
            await cur.executemany(
                "INSERT INTO user_organisation (user_id, organisation_id) VALUES (%s, %s)",
                [(user_id, org) for org in dict.fromkeys(organisations)],
            )


async def update_user(
    conn: AsyncConnection,
    user_id: int,
    *,
    role: str | None = None,
    organisations: Sequence[str] | None = None,
    disabled: bool | None = None,
    email: str | None = None,
) -> bool:
    """Change what is given (an email of "" removes the address); a user whose role, organisations, state or address
    change loses their sessions.

    Returns:
        Whether the user exists.
    """
    async with conn.transaction():
        cur = await conn.execute(
            """UPDATE app_user SET role = coalesce(%s, role), disabled = coalesce(%s, disabled),
                      email = CASE WHEN %s::text IS NULL THEN email ELSE nullif(%s, '') END, updated_at = now()
               WHERE id = %s RETURNING id""",
            (role, disabled, email, email, user_id),
        )
        if await cur.fetchone() is None:
            return False
        if organisations is not None:
            await _set_organisations(conn, user_id, organisations)
        await revoke_user_sessions(conn, user_id, "user_changed")
    return True


async def set_password_hash(conn: AsyncConnection, user_id: int, password_hash: str) -> None:
    await conn.execute(
        "UPDATE app_user SET password_hash = %s, updated_at = now() WHERE id = %s", (password_hash, user_id)
    )


async def credentials(conn: AsyncConnection, name: str) -> Credentials | None:
    """The user who logs in with this name (any case), with the password hash."""
    async with conn.cursor(row_factory=class_row(Credentials)) as cur:
        await cur.execute(
            "SELECT id, name, role, password_hash, disabled FROM app_user WHERE lower(name) = lower(%s)", (name,)
        )
        return await cur.fetchone()


async def user(conn: AsyncConnection, user_id: int) -> UserRow | None:
    async with conn.cursor(row_factory=class_row(UserRow)) as cur:
        await cur.execute(sql.SQL("SELECT {} FROM app_user u WHERE u.id = %s").format(_USER_COLUMNS), (user_id,))
        return await cur.fetchone()


async def users(conn: AsyncConnection, *, after: int | None, limit: int) -> list[UserRow]:
    """Users in id order, `limit` of them after the id `after`."""
    async with conn.cursor(row_factory=class_row(UserRow)) as cur:
        await cur.execute(
            sql.SQL("SELECT {} FROM app_user u WHERE u.id > %s ORDER BY u.id LIMIT %s").format(_USER_COLUMNS),
            (after or 0, limit),
        )
        return await cur.fetchall()


# ---- sessions and refresh tokens -----------------------------------------------------------------


async def start_session(
    conn: AsyncConnection, session_id: str, user_id: int, lifetime: timedelta, address: str | None
) -> None:
    await conn.execute(
        "INSERT INTO user_session (id, user_id, expires_at, address) VALUES (%s, %s, now() + %s, %s)",
        (session_id, user_id, lifetime, address),
    )


async def add_refresh_token(conn: AsyncConnection, digest: bytes, session_id: str, lifetime: timedelta) -> None:
    """Store a refresh token's digest; it expires after `lifetime` or at its session's end, whichever is first."""
    await conn.execute(
        """INSERT INTO refresh_token (digest, session_id, expires_at)
           SELECT %s, id, least(now() + %s, expires_at) FROM user_session WHERE id = %s""",
        (digest, lifetime, session_id),
    )


async def session_user(conn: AsyncConnection, session_id: str, user_id: int) -> SessionUser | None:
    """The user of a session, with whether the session still holds."""
    async with conn.cursor(row_factory=class_row(SessionUser)) as cur:
        await cur.execute(
            """SELECT u.id AS user_id, u.name, u.role, u.disabled,
                      coalesce((SELECT array_agg(organisation_id) FROM user_organisation WHERE user_id = u.id),
                               '{}') AS organisations,
                      (s.revoked_at IS NULL AND s.expires_at > now()) AS active
               FROM user_session s JOIN app_user u ON u.id = s.user_id
               WHERE s.id = %s AND s.user_id = %s""",
            (session_id, user_id),
        )
        return await cur.fetchone()


async def take_refresh_token(conn: AsyncConnection, digest: bytes) -> RefreshRow | None:
    """The refresh token with this digest, locked until the transaction ends (one use wins a race)."""
    async with conn.cursor(row_factory=class_row(RefreshRow)) as cur:
        await cur.execute(
            """SELECT r.session_id::text AS session_id, s.user_id, u.name AS user_name, u.role,
                      r.expires_at <= now() AS expired,
                      r.used_at IS NOT NULL AS used,
                      (s.revoked_at IS NULL AND s.expires_at > now()) AS session_active, u.disabled
               FROM refresh_token r
               JOIN user_session s ON s.id = r.session_id
               JOIN app_user u ON u.id = s.user_id
               WHERE r.digest = %s
               FOR UPDATE OF r""",
            (digest,),
        )
        return await cur.fetchone()


async def use_refresh_token(conn: AsyncConnection, digest: bytes) -> None:
    await conn.execute("UPDATE refresh_token SET used_at = now() WHERE digest = %s", (digest,))


async def revoke_session(conn: AsyncConnection, session_id: str, reason: str) -> None:
    """End a session: its access tokens and refresh tokens are refused from now on."""
    await conn.execute(
        "UPDATE user_session SET revoked_at = now(), revoked_reason = %s WHERE id = %s AND revoked_at IS NULL",
        (reason, session_id),
    )


async def revoke_user_sessions(conn: AsyncConnection, user_id: int, reason: str) -> None:
    await conn.execute(
        "UPDATE user_session SET revoked_at = now(), revoked_reason = %s WHERE user_id = %s AND revoked_at IS NULL",
        (reason, user_id),
    )


# ---- login counters (the login limit, domain/login_limit.py) ---------------------------------------

# One attempt's counters: (kind, name, address), the name lower-cased (one name whatever its case).
_ATTEMPT_KEYS = """(VALUES ('pair', lower(%(name)s), %(address)s), ('name', lower(%(name)s), ''),
                          ('address', '', %(address)s)) AS k (kind, name, address)"""


@dataclass(frozen=True, slots=True)
class LoginCounters:
    """An attempt's counters as locked, with the pair's last successful login and the time they were read."""

    counters: dict[Kind, Counter]
    succeeded_at: datetime | None
    now: datetime


async def lock_login_counters(conn: AsyncConnection, user_name: str, address: str) -> LoginCounters:
    """The counters of a login attempt, made if missing and locked until the transaction ends, so that
    concurrent attempts of the same name or address are judged one after the other.

    The rows are locked in one order (pair, name, address), so two attempts never wait for each other in a
    circle."""
    cur = await conn.execute(
        f"""INSERT INTO login_counter AS c (kind, name, address)
            SELECT kind, name, address FROM {_ATTEMPT_KEYS}
            ON CONFLICT (kind, name, address) DO UPDATE SET level = c.level
            RETURNING kind, level, at, succeeded_at, clock_timestamp()""",  # noqa: S608 - no input in the text
        {"name": user_name, "address": address},
    )
    rows = await cur.fetchall()
    counters = {cast(Kind, kind): Counter(level, at) for kind, level, at, _, _ in rows}
    succeeded_at = next((row[3] for row in rows if row[0] == "pair"), None)
    return LoginCounters(counters, succeeded_at, max(row[4] for row in rows))


async def store_login_counters(
    conn: AsyncConnection, user_name: str, address: str, counters: dict[Kind, Counter]
) -> None:
    """Write back counters that lock_login_counters locked, with an attempt counted."""
    await conn.execute(
        f"""UPDATE login_counter AS c SET level = v.level, at = v.at
            FROM {_ATTEMPT_KEYS}
            JOIN (VALUES ('pair', %(pair)s::double precision, %(pair_at)s::timestamptz),
                         ('name', %(name_level)s, %(name_at)s), ('address', %(address_level)s, %(address_at)s))
                 AS v (kind, level, at) ON v.kind = k.kind
            WHERE (c.kind, c.name, c.address) = (k.kind, k.name, k.address)""",  # noqa: S608 - no input in the text
        {
            "name": user_name,
            "address": address,
            "pair": counters["pair"].level,
            "pair_at": counters["pair"].at,
            "name_level": counters["name"].level,
            "name_at": counters["name"].at,
            "address_level": counters["address"].level,
            "address_at": counters["address"].at,
        },
    )


async def forgive_login_attempt(conn: AsyncConnection, user_name: str, address: str) -> None:
    """A successful login takes its attempt back from the name and the address, empties its pair and makes the
    pair known (its owner is judged there on the pair alone from now on).

    One row at a time, in lock_login_counters' order, so that it never waits in a circle with an attempt."""
    await conn.execute(
        """UPDATE login_counter SET level = 0, succeeded_at = now()
           WHERE kind = 'pair' AND name = lower(%s) AND address = %s""",
        (user_name, address),
    )
    for kind, name, counter_address in (("name", user_name, ""), ("address", "", address)):
        await conn.execute(
            """UPDATE login_counter SET level = greatest(level - 1, 0)
               WHERE kind = %s AND name = lower(%s) AND address = %s""",
            (kind, name, counter_address),
        )


async def prune_login_counters(conn: AsyncConnection, *, idle: timedelta, known_for: timedelta) -> None:
    """Forget counters idle this long (leaked empty) that remember no login still making their pair known."""
    await conn.execute(
        """DELETE FROM login_counter
           WHERE (kind, name, address) IN (
               SELECT kind, name, address FROM login_counter
               WHERE (at IS NULL OR at < now() - %s) AND (succeeded_at IS NULL OR succeeded_at < now() - %s)
               FOR UPDATE SKIP LOCKED)""",  # an attempt holding a counter keeps it, and nobody waits for anybody
        (idle, known_for),
    )


# ---- audit log --------------------------------------------------------------------------------------


async def append_audit(
    conn: AsyncConnection,
    *,
    user_id: int | None,
    user_name: str | None,
    role: str | None,
    action: str,
    method: str,
    endpoint: str,
    resource_ids: Sequence[str],
    params: dict[str, Any],
    address: str | None,
    status: int,
    outcome: str,
) -> None:
    await conn.execute(
        """INSERT INTO audit_log (user_id, user_name, role, action, method, endpoint, resource_ids, params,
                                  address, status, outcome)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)""",
        (
            user_id,
            user_name,
            role,
            action,
            method,
            endpoint,
            list(resource_ids),
            Jsonb(params),
            address,
            status,
            outcome,
        ),
    )


async def audit_records(
    conn: AsyncConnection,
    *,
    user_id: int | None = None,
    user_name: str | None = None,
    action: str | None = None,
    outcome: str | None = None,
    resource_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    before: int | None = None,
    limit: int = 100,
) -> list[AuditRecord]:
    """Audit records matching every filter given, newest first, `limit` of them with ids below `before`."""
    conditions: list[sql.Composable] = []
    params: list[Any] = []
    for column, value in (
        ("user_id", user_id),
        ("action", action),
        ("outcome", outcome),
    ):
        if value is not None:
            conditions.append(sql.SQL("{} = %s").format(sql.Identifier(column)))
            params.append(value)
    if user_name is not None:
        conditions.append(sql.SQL("lower(user_name) = lower(%s)"))
        params.append(user_name)
    if resource_id is not None:
        conditions.append(sql.SQL("resource_ids @> ARRAY[%s]::text[]"))
        params.append(resource_id)
    if since is not None:
        conditions.append(sql.SQL("at >= %s"))
        params.append(since)
    if until is not None:
        conditions.append(sql.SQL("at < %s"))
        params.append(until)
    if before is not None:
        conditions.append(sql.SQL("id < %s"))
        params.append(before)
    where = sql.SQL(" AND ").join(conditions) if conditions else sql.SQL("TRUE")
    async with conn.cursor(row_factory=class_row(AuditRecord)) as cur:
        await cur.execute(
            sql.SQL(
                """SELECT id, at, user_id, user_name, role, action, method, endpoint, resource_ids, params,
                          address, status, outcome
                   FROM audit_log WHERE {} ORDER BY id DESC LIMIT %s"""
            ).format(where),
            [*params, limit],
        )
        return await cur.fetchall()
