"""The database roles of Yiwang and what each may do.

No process connects as a superuser: a superuser runs programs on the server (`COPY ... TO PROGRAM`), reads its
files, and switches triggers off (`SET session_replication_role = replica`), the audit log's append-only trigger
included. The tables belong to an owner role that migrations, imports and the `yiwang` administration commands use;
each process (API, collector, supervisor, gateway, notifier, worker) connects as a role of its own that holds only
the grants below, taken from the statements each one runs. A superuser is needed once per database, to make the roles
(`ensure_roles`); the owner grants (`grant`) after every migration, so a new table is granted where it is listed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from psycopg import Connection, sql

# The processes that connect with roles of their own.
SERVICES = ("api", "collector", "supervisor", "gateway", "notifier", "worker", "emqx")

# What each process may do to each table; a table not named is closed to it. Hypertables pass their grants on to
# their chunks. Functions keep PostgreSQL's default (any role may call them), temporary tables too (the collector
# stages rows in its own).
# The columns an energy event is inserted with (db/energy_events.py raise_events): no vehicle_id, so a role granted only
# these cannot write a vehicle's alert (the alert_subject CHECK then requires the institution).
_ENERGY_EVENT_COLUMNS: Final = (
    "institution_id, meter_id, organisation_id, kind, level, time, received_at, detail, params"
)
GRANTS: Mapping[str, Mapping[str, str]] = {
    "api": {
        # The registry: edited through the API and its spreadsheet imports (upserts), never deleted there.
        "organisation": "SELECT, INSERT, UPDATE",
        "institution": "SELECT, INSERT, UPDATE",
        "institution_year": "SELECT, INSERT, UPDATE, DELETE",
        "department": "SELECT, INSERT, UPDATE",  # supervising departments (主管部门)
        "data_centre_room": "SELECT, INSERT, UPDATE, DELETE",
        "meter": "SELECT, INSERT, UPDATE",
        "vehicle": "SELECT, INSERT, UPDATE",
        "vehicle_quota": "SELECT, INSERT, UPDATE, DELETE",
        "driver": "SELECT, INSERT, UPDATE",
        # What devices sent is the collector's to write: the API reads it.
        "reading": "SELECT",
        "position": "SELECT",
        "live_position": "SELECT",
        "reading_conflict": "SELECT",
        "reading_span": "SELECT",
        # Energy: factors and quotas, and the consumption roll-up the worker keeps up to date: the API marks meters
        # to recount (a recorded swap, a gap decided) and applies staff's corrections to counted days and months.
        "factor_version": "SELECT, INSERT",
        "coal_factor": "SELECT, INSERT",
        "carbon_factor": "SELECT, INSERT",
        "quota": "SELECT, INSERT, UPDATE",
        "consumption_zone": "SELECT",
        "consumption_stale": "SELECT, INSERT, UPDATE",
        "consumption_day": "SELECT, UPDATE",  # UPDATE: staff's corrections applied to a day
        "consumption_month": "SELECT, INSERT, DELETE",
        "consumption_event": "SELECT",
        "consumption_gap_decision": "SELECT, INSERT, UPDATE",  # staff's decisions on held gaps
        "consumption_correction": "SELECT, INSERT, UPDATE",  # staff's corrections of days: withdrawn, never deleted
        "meter_replacement": "SELECT, INSERT, DELETE",  # recorded swaps of meters
        "meter_multiplier": "SELECT, INSERT, UPDATE",  # meters' multiplier history
        # Consumption from bills, delivery notes and manual entries: corrected by superseding, withdrawn, never
        # deleted; and the declared source of each institution's type and year, set again by staff.
        "consumption_entry": "SELECT, INSERT, UPDATE",
        "declared_source": "SELECT, INSERT, UPDATE",
        # Fleet: the mileage roll-up and packed tracks the worker keeps (read), requests and their history.
        "mileage_basis": "SELECT",
        "mileage_stale": "SELECT",
        "mileage_trip": "SELECT",
        "mileage_day": "SELECT",
        "track_hour": "SELECT",
        "track_packed": "SELECT",
        "trip_request": "SELECT, INSERT, UPDATE",
        "trip_request_event": "SELECT, INSERT",  # append-only: a request's history
        # Fuel-card and charging statements, imported (db/fuel.py); withdrawn, never deleted: only the marks change.
        "fuel_purchase": "SELECT, INSERT, UPDATE (withdrawn_at, withdrawn_by, withdrawn_reason, reversed_at)",
        # Supervision: areas are drawn, changed and removed, alerts acknowledged (the supervisor raises them).
        "area": "SELECT, INSERT, UPDATE, DELETE",
        "area_version": "SELECT, UPDATE",  # bumped by area's trigger, as the writer
        # INSERT: quota_near events (api/energy/quota_watch.py), an institution's columns only: no vehicle alert.
        "alert": f"SELECT, INSERT ({_ENERGY_EVENT_COLUMNS}), UPDATE",
        "alert_note": "SELECT, INSERT",  # append-only: notes on alerts
        # Notification rules, kept by admins; the notifier's deliveries, read.
        "notification_rule": "SELECT, INSERT, UPDATE, DELETE",
        "notification_delivery": "SELECT",
        # The working calendar's holidays and make-up workdays, kept by admins; its trigger counts the changes.
        "calendar_day": "SELECT, INSERT, UPDATE, DELETE",
        "calendar_version": "SELECT, UPDATE",
        # Named working calendars (hours, workdays of the week), kept by admins.
        "work_calendar": "SELECT, INSERT, UPDATE, DELETE",
        # Access: users, sessions, the login limit, and the audit log, which is only ever added to and read.
        "app_user": "SELECT, INSERT, UPDATE",
        "user_organisation": "SELECT, INSERT, DELETE",
        "user_session": "SELECT, INSERT, UPDATE",
        "refresh_token": "SELECT, INSERT, UPDATE",
        "login_counter": "SELECT, INSERT, UPDATE, DELETE",
        "audit_log": "SELECT, INSERT",
        # A device id may not be a service account's name (db/registry.py): the names, never the password hashes.
        "service_account": "SELECT (username)",
        # Refused messages and frames, read by admins (GET /dead-letters); the collector and gateway write them.
        "dead_letter": "SELECT",
    },
    "collector": {
        # Which devices are registered.
        "meter": "SELECT",
        "vehicle": "SELECT",
        # SELECT as well: the staging tables of a redelivered batch are made LIKE these (db/ingest.py).
        "reading": "SELECT, INSERT",
        "position": "SELECT, INSERT",
        "live_position": "SELECT, INSERT, UPDATE",
        # A resend's other register, recorded and counted up (db/ingest.py).
        "reading_conflict": "SELECT, INSERT, UPDATE",
        # Each meter's first and last reading, widened with the readings stored (db/ingest.py).
        "reading_span": "SELECT, INSERT, UPDATE",
        # The roll-ups' marks, written with the rows that made them stale (db/marks.py).
        "consumption_stale": "SELECT, INSERT, UPDATE",
        "mileage_stale": "SELECT, INSERT, UPDATE",
        # Refusals kept as traces; a device's rate_limited row counts up; the collector prunes them (collector/run.py).
        "dead_letter": "SELECT, INSERT, UPDATE, DELETE",
    },
    "supervisor": {
        "vehicle": "SELECT",
        "area": "SELECT",
        "area_version": "SELECT",  # the areas, read again when their change count moves
        "trip_request": "SELECT",
        "alert": "SELECT, INSERT",
        # The working calendar, read again when its change count moves.
        "calendar_day": "SELECT",
        "calendar_version": "SELECT",
        "work_calendar": "SELECT",
        # What the rules remember of each vehicle, written with each batch's alerts (survives a restart).
        "supervisor_watch": "SELECT, INSERT, UPDATE",
    },
    "gateway": {
        # Which vehicle a terminal's phone number is (its terminal id), and whether it is retired.
        "vehicle": "SELECT",
        # Registrations and their codes' hashes: made, replaced, voided at logout (db/terminals.py).
        "terminal_registration": "SELECT, INSERT, UPDATE",
        # Refused frames and messages; the collector prunes them.
        "dead_letter": "INSERT",
    },
    "notifier": {
        # Alerts followed, cleared when their cause ends and escalated (the columns it sets, nothing else).
        "alert": f"SELECT, INSERT ({_ENERGY_EVENT_COLUMNS}), UPDATE (cleared_at, cleared_reason, escalated_at)",
        # Energy events it raises (notifier/energy_watch.py), judged on meters, their readings and the roll-up's days.
        "meter": "SELECT",
        "institution": "SELECT",
        "reading": "SELECT",
        "consumption_day": "SELECT",
        # What clears an alert: the vehicle's newest fix and the areas.
        "live_position": "SELECT",
        "area": "SELECT",
        # When an area applies (its calendar's hours), as the supervisor judges it; read again when its change count
        # moves.
        "calendar_day": "SELECT",
        "calendar_version": "SELECT",
        "work_calendar": "SELECT",
        # The rules it applies, the deliveries it plans, tries and records, and how far it has planned.
        "notification_rule": "SELECT",
        "notification_delivery": "SELECT, INSERT, UPDATE",
        "notification_cursor": "SELECT, INSERT, UPDATE",
        # Where e-mail rules by role reach people: users' roles, states, addresses and units (never a password).
        "app_user": "SELECT (id, role, disabled, email)",
        "user_organisation": "SELECT",
        # A message names an alert's unit by its name.
        "organisation": "SELECT (id, name)",
    },
    "worker": {
        # The consumption roll-up (worker/rollup.py): the marks it claims, the meters' facts and readings it
        # recounts, and the days, months and events it writes with staff's corrections and gap decisions applied.
        "meter": "SELECT",
        "meter_replacement": "SELECT",
        "meter_multiplier": "SELECT",
        "reading": "SELECT",
        "consumption_zone": "SELECT, INSERT, UPDATE",
        "consumption_stale": "SELECT, INSERT, UPDATE, DELETE",
        "consumption_day": "SELECT, INSERT, UPDATE, DELETE",
        "consumption_month": "SELECT, INSERT, DELETE",
        "consumption_event": "SELECT, INSERT, DELETE",
        "consumption_gap_decision": "SELECT",
        "consumption_correction": "SELECT",
        # The mileage roll-up (worker/mileage.py) and the packed track hours (worker/packed.py).
        "vehicle": "SELECT",
        "position": "SELECT",
        "mileage_basis": "SELECT, INSERT, UPDATE",
        "mileage_stale": "SELECT, INSERT, UPDATE, DELETE",
        "mileage_trip": "SELECT, INSERT, DELETE",
        "mileage_day": "SELECT, INSERT, DELETE",
        "track_hour": "SELECT, INSERT, UPDATE",
        "track_packed": "SELECT, INSERT, UPDATE",
        # Retention (worker/retention.py): audit rows moved to the archive (the log's trigger lets a row go only
        # once it is there); raw chunks are dropped and compressed through the owner's apply_retention and
        # apply_compression (FUNCTIONS).
        "audit_log": "SELECT, DELETE",
        "audit_log_archive": "SELECT, INSERT",
        "raw_horizon": "SELECT",
    },
    # Not a process of ours: EMQX's PostgreSQL authenticator and authorizer (broker/emqx/emqx.conf), which read the
    # accounts' hashes and grants through two views (migration 0041) and no table.
    "emqx": {
        "mqtt_user": "SELECT",
        "mqtt_acl": "SELECT",
    },
}

# Functions closed to PUBLIC (they run as the owner) and the processes that may call them.
FUNCTIONS: Mapping[str, tuple[str, ...]] = {
    "worker": ("apply_retention(regclass, interval)", "apply_compression(regclass, interval)")
}

# Tables (and views) only the owner touches (migrations, `yiwang broker`): no process is granted anything on them.
OWNER_ONLY = frozenset({"schema_migration", "device_credential", "broker_device"})


@dataclass(frozen=True)
class Login:
    """A role that logs in with a password."""

    name: str
    password: str


# Every role of ours lacks these; the owner owns the tables and the database, nothing more.
_NO_POWERS = sql.SQL("NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS")


class RoleError(RuntimeError):
    """A role cannot be made as asked (e.g. it exists and is a superuser)."""


def ensure_roles(admin: Connection, database: str, owner: Login, services: Iterable[Login]) -> None:
    """As a superuser: make (or update) the owner and the services' roles, none of them a superuser, with these
    passwords, and give the database and every table, view and function of its schema `public` to the owner.

    Passwords reach the server as SCRAM verifiers, never in plain text. Safe to run again.

    Raises:
        RoleError: a role named exists and is a superuser (e.g. the first user of an older installation): name
            another one; this one keeps its power, and its tables are given to the new owner.
    """
    for login in (owner, *services):
        row = admin.execute("SELECT rolsuper FROM pg_roles WHERE rolname = %s", (login.name,)).fetchone()
        if row is not None and row[0]:
            raise RoleError(f"role {login.name} is a superuser: name another role for it (e.g. {login.name}_owner)")
        verifier = admin.pgconn.encrypt_password(login.password.encode(), login.name.encode(), b"scram-sha-256")
        verb = "CREATE" if row is None else "ALTER"
        admin.execute(
            sql.SQL("{} ROLE {} LOGIN PASSWORD {} {}").format(
                sql.SQL(verb), sql.Identifier(login.name), sql.Literal(verifier.decode()), _NO_POWERS
            )
        )
    if admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone() is None:
        admin.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(database), sql.Identifier(owner.name))
        )
    else:
        admin.execute(
            sql.SQL("ALTER DATABASE {} OWNER TO {}").format(sql.Identifier(database), sql.Identifier(owner.name))
        )


def give_to_owner(admin_in_database: Connection, owner: str) -> int:
    """As a superuser connected to the database: give the owner every table, view, sequence and function of schema
    `public` that another role owns (an older installation's superuser); returns how many. Extensions keep theirs.
    A hypertable passes its new owner on to its chunks."""
    objects = admin_in_database.execute(
        """SELECT 'TABLE', c.oid::regclass::text FROM pg_class c
           WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
             AND c.relowner <> %(owner)s::regrole
             AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype IN ('e', 'i', 'a'))
           UNION ALL
           SELECT 'FUNCTION', p.oid::regprocedure::text FROM pg_proc p
           WHERE p.pronamespace = 'public'::regnamespace AND p.proowner <> %(owner)s::regrole
             AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')""",
        {"owner": owner},
    ).fetchall()
    for kind, name in objects:
        admin_in_database.execute(
            sql.SQL("ALTER {} {} OWNER TO {}").format(sql.SQL(kind), sql.SQL(name), sql.Identifier(owner))
        )
    return len(objects)


def grant(owner: Connection, roles: Mapping[str, str]) -> None:
    """As the owner, after the migrations: each service's role (`roles`: service -> role name) gets exactly its
    grants of GRANTS on the tables of schema `public`, whatever it held before. Safe to run again."""
    # Views too: a role granted a view reads what the view shows, as the view's owner, and none of its tables.
    tables = {
        name
        for (name,) in owner.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
            "UNION SELECT viewname FROM pg_views WHERE schemaname = 'public'"
        )
    }
    for service, role in roles.items():
        grants = GRANTS[service]
        missing = set(grants) - tables
        if missing:
            raise RoleError(f"{service}: no table {', '.join(sorted(missing))} (migrate first)")
        for table in sorted(tables):
            names = sql.Identifier(table), sql.Identifier(role)
            owner.execute(sql.SQL("REVOKE ALL ON TABLE {} FROM {}").format(*names))
            if table in grants:
                owner.execute(sql.SQL("GRANT {} ON TABLE {} TO {}").format(sql.SQL(grants[table]), *names))
        for function in FUNCTIONS.get(service, ()):
            owner.execute(sql.SQL("GRANT EXECUTE ON FUNCTION {} TO {}").format(sql.SQL(function), sql.Identifier(role)))
