"""Apply db/migrations/NNNN_name.sql in order, once each, recorded with a checksum."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources

import psycopg

# Any fixed number: migrators of several processes (compose starts a few) queue on it.
_LOCK_ID = 7_240_001


class MigrationError(RuntimeError):
    """A migration that was applied has since been edited, or a file name is out of order."""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def available() -> list[Migration]:
    """The migrations shipped in the package, in order."""
    found = []
    for entry in resources.files("db.migrations").iterdir():
        if entry.name.endswith(".sql"):
            number, _, rest = entry.name.partition("_")
            if not number.isdigit():
                raise MigrationError(f"migration {entry.name} must start with its number, like 0003_name.sql")
            found.append(Migration(int(number), rest.removesuffix(".sql"), entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"two migrations share a number: {versions}")
    return found


def migrate(url: str, migrations: Sequence[Migration] | None = None) -> list[Migration]:
    """Bring the database at `url` up to date; safe to run again and from several processes at once.

    Args:
        url: the database.
        migrations: what to apply (default: those shipped in db/migrations).

    Returns:
        The migrations applied by this call (empty when already up to date).

    Raises:
        MigrationError: an applied migration's file has changed since.
    """
    applied_now: list[Migration] = []
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_ID,))
        try:
            conn.execute(
                """CREATE TABLE IF NOT EXISTS schema_migration (
                       version     integer PRIMARY KEY,
                       name        text NOT NULL,
                       checksum    text NOT NULL,
                       applied_at  timestamptz NOT NULL DEFAULT now())"""
            )
            done = {v: c for v, c in conn.execute("SELECT version, checksum FROM schema_migration").fetchall()}
            for migration in available() if migrations is None else migrations:
                if migration.version in done:
                    if done[migration.version] != migration.checksum:
                        raise MigrationError(
                            f"migration {migration.version}_{migration.name} was edited after it was applied; "
                            "add a new migration instead"
                        )
                    continue
                with conn.transaction():
                    conn.execute(migration.sql.encode())
                    conn.execute(
                        "INSERT INTO schema_migration (version, name, checksum) VALUES (%s, %s, %s)",
                        (migration.version, migration.name, migration.checksum),
                    )
                applied_now.append(migration)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_ID,))
    return applied_now
