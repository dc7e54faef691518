"""The database's roles against someone who reaches the database: a local user without a password, or a process's
own connection turned against the server (a SQL injection, a stolen connection string).

Each process connects as its own role (db/roles.py); these attacks worked while every process connected as the
superuser of a cluster that trusted every local connection.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from api.app import create_app
from collector.metrics import Metrics, SupervisorMetrics
from collector.supervisor import run as run_supervisor
from db import roles
from db.migrate import migrate
from tests.support.registry import Devices
from tests.support.waiting import eventually
from yiwang.cli import main
from yiwang.settings import Settings
from yiwang.stack import Postgres, Stack, StackError, free_port

SERVICES = ("api", "collector", "supervisor", "gateway", "notifier", "worker")
Denied = psycopg.errors.InsufficientPrivilege


def _connect(settings: Settings, service: str) -> psycopg.Connection:
    return psycopg.connect(settings.database_url_of(service), autocommit=True)  # type: ignore[arg-type]


def test_no_role_logs_in_without_its_password(stack: Stack, db: psycopg.Connection, tmp_path: Path) -> None:
    """Over TCP and over the Unix socket, whoever runs on the machine: no trust line in pg_hba.conf."""
    empty = tmp_path / "pgpass"
    empty.touch(mode=0o600)
    logins = [name for (name,) in db.execute("SELECT rolname FROM pg_roles WHERE rolcanlogin").fetchall()]
    assert logins
    for role in logins:
        for host in ("127.0.0.1", str(stack.postgres.home.resolve())):
            for password in (None, "guess"):
                with pytest.raises(psycopg.OperationalError, match="password"):
                    psycopg.connect(
                        host=host,
                        port=stack.postgres.port,
                        user=role,
                        dbname=stack.postgres.database,
                        passfile=str(empty),
                        password=password,
                        connect_timeout=5,
                    ).close()


@pytest.mark.parametrize("service", [*SERVICES, "owner"])
def test_no_role_of_ours_runs_programs_reads_files_or_switches_triggers_off(settings: Settings, service: str) -> None:
    url = settings.database_url if service == "owner" else settings.database_url_of(service)  # type: ignore[arg-type]
    with psycopg.connect(url, autocommit=True) as conn:
        for attack in (
            "COPY (SELECT 1) TO PROGRAM 'true'",
            "COPY (SELECT 1) TO '/tmp/yiwang-attack'",
            "SELECT pg_read_file('/etc/hostname')",
            "SET session_replication_role = replica",
            "SELECT set_config('session_replication_role', 'replica', false)",
        ):
            with pytest.raises(Denied):
                conn.execute(attack)
        powers = conn.execute(
            "SELECT rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls FROM pg_roles "
            "WHERE rolname = current_user"
        ).fetchone()
        assert powers == (False, False, False, False, False)


@pytest.mark.parametrize("table", ["audit_log", "trip_request_event"])
def test_the_api_adds_to_an_append_only_log_and_cannot_change_or_empty_it(
    settings: Settings, db: psycopg.Connection, table: str, tag: str
) -> None:
    with _connect(settings, "api") as conn:
        if table == "audit_log":
            written = conn.execute(
                "INSERT INTO audit_log (action, method, endpoint, status, outcome) "
                "VALUES ('test:roles', 'TEST', %s, 200, 'ok') RETURNING id",
                (tag,),
            ).fetchone()
            assert written is not None
            assert conn.execute("SELECT endpoint FROM audit_log WHERE id = %s", written).fetchone() == (tag,)
        for attack in (
            f"UPDATE {table} SET at = now() WHERE true",
            f"DELETE FROM {table} WHERE true",
            f"TRUNCATE {table}",
        ):
            # The role's grants refuse it, not only the trigger, which a superuser could switch off.
            with pytest.raises(Denied, match=f"permission denied for table {table}"):
                conn.execute(attack)
        with pytest.raises(Denied):  # which would let a superuser's DELETE past the trigger
            conn.execute("SET session_replication_role = replica")
        for attack in (f"ALTER TABLE {table} DISABLE TRIGGER USER", f"DROP TRIGGER {table}_no_truncate ON {table}"):
            with pytest.raises(Denied, match="must be owner"):
                conn.execute(attack)
    if table == "audit_log":
        assert db.execute("SELECT count(*) FROM audit_log WHERE endpoint = %s", (tag,)).fetchone() == (1,)


PLANTED_VEHICLE_ALERT = """INSERT INTO alert (vehicle_id, organisation_id, kind, level, time, received_at, detail)
    SELECT 'v-planted', 'org-planted', 'speeding', 'red', now(), now(), 'planted' WHERE false"""
# What a process has no need of (`WHERE false`: the check is the grant, whatever the rows).
REFUSED = [
    ("collector", "SELECT * FROM app_user"),
    ("collector", "SELECT * FROM audit_log"),
    ("collector", "SELECT * FROM user_session"),
    ("collector", "SELECT * FROM refresh_token"),
    ("collector", "SELECT * FROM device_credential"),
    ("collector", "UPDATE vehicle SET plate = plate WHERE false"),
    ("collector", "DELETE FROM reading WHERE false"),
    ("collector", "UPDATE position SET speed = 0 WHERE false"),
    ("supervisor", "SELECT * FROM app_user"),
    ("supervisor", "SELECT * FROM audit_log"),
    ("supervisor", "SELECT * FROM reading"),
    ("supervisor", "DELETE FROM alert WHERE false"),
    ("supervisor", "UPDATE vehicle SET plate = plate WHERE false"),
    ("api", "SELECT * FROM device_credential"),
    ("api", "SELECT * FROM service_account"),
    ("api", "SELECT password_hash FROM service_account"),
    ("api", "DELETE FROM position WHERE false"),
    ("api", "UPDATE reading SET register = 0 WHERE false"),
    ("api", "DELETE FROM app_user WHERE false"),
    ("api", "DELETE FROM vehicle WHERE false"),
    ("api", "DELETE FROM schema_migration WHERE false"),
    ("api", "CREATE TABLE public.planted (id int)"),
    # The roll-ups and packed tracks are the worker's to write.
    ("api", "DELETE FROM mileage_trip WHERE false"),
    ("api", "UPDATE track_packed SET until = until WHERE false"),
    ("api", "DELETE FROM consumption_day WHERE false"),
    ("worker", "SELECT * FROM app_user"),
    ("worker", "DELETE FROM reading WHERE false"),
    ("worker", "UPDATE position SET speed = 0 WHERE false"),
    ("worker", "UPDATE audit_log SET action = action WHERE false"),
    ("worker", "DELETE FROM audit_log_archive WHERE false"),
    ("worker", "UPDATE vehicle SET plate = plate WHERE false"),
    # Energy events only: an institution's alert, never a vehicle's (db/roles.py).
    *((service, PLANTED_VEHICLE_ALERT) for service in ("api", "notifier")),
]


@pytest.mark.parametrize(("service", "statement"), REFUSED)
def test_a_process_is_refused_what_it_has_no_need_of(settings: Settings, service: str, statement: str) -> None:
    with _connect(settings, service) as conn, pytest.raises(Denied):
        conn.execute(statement)  # type: ignore[arg-type]


def test_every_table_is_granted_where_it_is_used_or_kept_for_the_owner(db: psycopg.Connection) -> None:
    """A new table or view in a migration needs its line in db/roles.py GRANTS (or OWNER_ONLY): else no process
    reaches it."""
    tables = {
        name
        for (name,) in db.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
            "UNION SELECT viewname FROM pg_views WHERE schemaname = 'public'"
        )
    }
    listed = set(roles.OWNER_ONLY).union(*(grants.keys() for grants in roles.GRANTS.values()))
    assert tables == listed


def _roles_of(db: psycopg.Connection, application: str) -> set[tuple[str, bool]]:
    rows = db.execute(
        """SELECT r.rolname, r.rolsuper FROM pg_stat_activity a JOIN pg_roles r ON r.oid = a.usesysid
           WHERE a.application_name = %s""",
        (application,),
    ).fetchall()
    return {(name, superuser) for name, superuser in rows}


async def test_the_collector_connects_as_its_own_role(
    collector: Metrics, settings: Settings, db: psycopg.Connection
) -> None:
    own = str(conninfo_to_dict(settings.database_url_of("collector"))["user"])
    assert _roles_of(db, "yiwang-collector") == {(own, False)}


async def test_the_supervisor_connects_as_its_own_role(
    settings: Settings, devices: Devices, db: psycopg.Connection
) -> None:
    stop = asyncio.Event()
    metrics = SupervisorMetrics()
    own = settings.model_copy(update={"supervisor_client_id": f"supervisor-{settings.mqtt_client_id}"})
    task = asyncio.create_task(run_supervisor(own, stop=stop, metrics=metrics))
    try:
        await eventually(lambda: bool(_roles_of(db, "yiwang-supervisor")) or task.done(), 15)
        name = str(conninfo_to_dict(settings.database_url_of("supervisor"))["user"])
        assert _roles_of(db, "yiwang-supervisor") == {(name, False)}
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


async def test_the_api_connects_as_its_own_role(settings: Settings, db: psycopg.Connection) -> None:
    app = create_app(settings.model_copy(update={"api_token_secret": secrets.token_urlsafe(48)}))
    async with app.router.lifespan_context(app):
        name = str(conninfo_to_dict(settings.database_url_of("api"))["user"])
        assert _roles_of(db, "yiwang-api") == {(name, False)}


@pytest.fixture
def new_database(stack: Stack, tag: str) -> Iterator[dict[str, str]]:
    """A database of an older installation: made and migrated by a superuser, which owns its tables. Yields the
    environment of `yiwang db roles` for it, with roles of its own (dropped afterwards)."""
    database = f"old{tag}"
    names = {"owner": f"own{tag}", **{s: f"{s}{tag}" for s in SERVICES}}
    passwords = {k: secrets.token_urlsafe(18) for k in names}
    with psycopg.connect(stack.postgres.admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    migrate(make_conninfo(stack.postgres.admin_url, dbname=database))

    def url(kind: str) -> str:
        return f"postgresql://{names[kind]}:{passwords[kind]}@127.0.0.1:{stack.postgres.port}/{database}"

    yield {
        "YIWANG_DATABASE_ADMIN_URL": stack.postgres.admin_url,
        "YIWANG_DATABASE_URL": url("owner"),
        **{f"YIWANG_{s.upper()}_DATABASE_URL": url(s) for s in SERVICES},
    }
    with psycopg.connect(stack.postgres.admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(database)))
        for name in names.values():
            admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))


def test_yiwang_db_roles_then_migrate_give_each_process_its_role(
    new_database: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """What compose's migrate service runs: the roles from the URLs' names and passwords, then the schema as the
    owner, who takes over the tables of the older installation's superuser."""
    for name, value in new_database.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("PGPASSFILE", "/dev/null")  # the URLs' own passwords, nothing else
    assert main(["db", "roles"]) == 0
    assert main(["db", "migrate"]) == 0
    assert main(["db", "roles"]) == 0  # again: nothing changes, nothing fails
    owner = str(conninfo_to_dict(new_database["YIWANG_DATABASE_URL"])["user"])
    with psycopg.connect(new_database["YIWANG_DATABASE_URL"]) as conn:
        owners = conn.execute("SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'").fetchall()
        assert owners == [(owner,)]
    with psycopg.connect(new_database["YIWANG_API_DATABASE_URL"], autocommit=True) as api:
        assert api.execute("SELECT count(*) FROM audit_log").fetchone() == (0,)
        with pytest.raises(Denied):
            api.execute("DELETE FROM audit_log WHERE false")
    with (
        psycopg.connect(new_database["YIWANG_COLLECTOR_DATABASE_URL"], autocommit=True) as collector,
        pytest.raises(Denied),
    ):
        collector.execute("SELECT * FROM app_user")


def test_a_local_cluster_that_trusts_local_connections_is_refused(tmp_path: Path) -> None:
    """A `.yiwang/postgres` made by an older Yiwang (initdb --auth=trust, no password file) is not started as it
    is: the message says how to start one that asks for passwords."""
    home = tmp_path / "postgres"
    (home / "data").mkdir(parents=True)
    (home / "data" / "PG_VERSION").write_text("15\n")
    with pytest.raises(StackError, match="trusts local connections"):
        Postgres(home, free_port()).start()
