"""Migrations against a real TimescaleDB: applied once, in order, recorded, and guarded against edits."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest

from db.migrate import Migration, MigrationError, available, migrate
from yiwang.stack import Stack


@pytest.fixture
def empty_db(stack: Stack) -> Iterator[str]:
    """A fresh database in the session's cluster, owned by the owner role that migrates it (not a superuser: the
    migrations create TimescaleDB, a trusted extension, as it), dropped afterwards."""
    name = f"m{uuid.uuid4().hex[:10]}"
    with psycopg.connect(stack.postgres.admin_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name} OWNER {stack.postgres.owner}")
    try:
        yield stack.postgres.url_of(stack.postgres.owner, name)
    finally:
        with psycopg.connect(stack.postgres.admin_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE {name} WITH (FORCE)")


def test_shipped_migrations_are_numbered_without_gaps() -> None:
    versions = [m.version for m in available()]
    assert versions == list(range(1, len(versions) + 1))


def test_migrate_builds_the_schema_once_and_then_does_nothing(empty_db: str) -> None:
    first = migrate(empty_db)
    assert [m.version for m in first] == [m.version for m in available()]
    assert migrate(empty_db) == []
    with psycopg.connect(empty_db) as conn:
        recorded = conn.execute("SELECT version, checksum FROM schema_migration ORDER BY version").fetchall()
        hypertables = {
            r[0] for r in conn.execute("SELECT hypertable_name FROM timescaledb_information.hypertables").fetchall()
        }
    assert recorded == [(m.version, m.checksum) for m in available()]
    assert {"reading", "position"} <= hypertables


def test_an_applied_migration_that_was_edited_is_refused(empty_db: str) -> None:
    one = Migration(1, "first", "CREATE TABLE thing (id int PRIMARY KEY);")
    migrate(empty_db, [one])
    edited = Migration(1, "first", "CREATE TABLE thing (id bigint PRIMARY KEY);")
    with pytest.raises(MigrationError, match="edited after it was applied"):
        migrate(empty_db, [edited])


def test_a_failing_migration_leaves_nothing_half_done(empty_db: str) -> None:
    good = Migration(1, "good", "CREATE TABLE good (id int);")
    bad = Migration(2, "bad", "CREATE TABLE half (id int); SELECT no_such_function();")
    with pytest.raises(psycopg.errors.UndefinedFunction):
        migrate(empty_db, [good, bad])
    with psycopg.connect(empty_db) as conn:
        versions = [r[0] for r in conn.execute("SELECT version FROM schema_migration").fetchall()]
        half = conn.execute("SELECT to_regclass('half')").fetchone()
    assert versions == [1]
    assert half == (None,)
    # Fixed, it applies where it stopped.
    fixed = migrate(empty_db, [good, Migration(2, "bad", "CREATE TABLE half (id int);")])
    assert [m.version for m in fixed] == [2]


def test_migrators_started_together_apply_each_migration_once(empty_db: str) -> None:
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: migrate(empty_db), range(4)))
    applied = sorted(m.version for result in results for m in result)
    assert applied == [m.version for m in available()]
