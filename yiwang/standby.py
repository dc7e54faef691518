"""A streaming hot standby of the local cluster, run as a real process: a read replica for the API's reports and
exports (docs/operating.md, "A read replica"), made as an operator makes one.

`pg_basebackup -R` copies the primary's data folder while it runs and writes `primary_conninfo` and
`standby.signal`, so the copy starts as a standby and streams the primary's WAL from where the copy ended. It is a
physical copy: the same roles with the same passwords and grants, the same TimescaleDB, read-only.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import psycopg
from psycopg import sql

from yiwang.stack import SUPERUSER, Postgres, StackError, _as_user, _give_to, _service_user, pg_bindir

# The role the standby streams as on the primary: REPLICATION and LOGIN, nothing else (no table, no superuser).
SENDER = "yiwang_replication"


@dataclass
class Standby:
    """A hot standby of `primary` in `home`, on loopback at `port`.

    Args:
        primary: the running cluster it copies and follows.
        home: its folder (created by `create`).
        port: its TCP port on 127.0.0.1.
        shared_buffers: its cache; a replica serving reports wants the primary's.
    """

    primary: Postgres
    home: Path
    port: int
    shared_buffers: str = "128MB"

    @property
    def data(self) -> Path:
        return self.home / "data"

    @property
    def log(self) -> Path:
        return self.home / "postgres.log"

    @property
    def passfile(self) -> Path:
        """The primary's passwords for this port: libpq matches a password file's lines by host and port."""
        return self.home / "pgpass"

    def url_of(self, role: str, database: str | None = None) -> str:
        """A role's URL on the standby; its password is in `passfile`."""
        passfile = quote(str(self.passfile.resolve()))
        return f"postgresql://{role}@127.0.0.1:{self.port}/{database or self.primary.database}?passfile={passfile}"

    @property
    def admin_url(self) -> str:
        """The superuser's URL on the standby: pausing and resuming replay, reading its activity."""
        return self.url_of(SUPERUSER, "postgres")

    def _ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        argv = [str(pg_bindir() / "pg_ctl"), "-D", str(self.data), *args]
        return subprocess.run(_as_user(argv, _service_user()), capture_output=True, text=True, check=check)

    def running(self) -> bool:
        return (self.data / "PG_VERSION").exists() and self._ctl("status", check=False).returncode == 0

    def create(self) -> None:
        """Copy the running primary into `home` as a standby that streams from it (not started).

        Raises:
            StackError: the copy failed (its message is pg_basebackup's).
        """
        password = self._sender_password()
        self.home.mkdir(parents=True, exist_ok=True)
        passwords = self.primary.passwords()
        fd = os.open(self.passfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.writelines(f"127.0.0.1:{self.port}:*:{role}:{secret}\n" for role, secret in passwords.items())
        # The sender's password goes into the conninfo itself: -R writes it into the standby's own
        # postgresql.auto.conf (mode 600, the server's user's), which the WAL receiver reads.
        conninfo = psycopg.conninfo.make_conninfo(
            host="127.0.0.1", port=self.primary.port, user=SENDER, password=password, application_name="yiwang-standby"
        )
        argv = [
            str(pg_bindir() / "pg_basebackup"),
            "--pgdata", str(self.data),
            "--dbname", conninfo,
            "--write-recovery-conf",
            "--wal-method=stream",
            "--checkpoint=fast",
            "--no-sync",  # a test's copy; an operator's copy drops this (docs/operating.md)
        ]  # fmt: skip
        result = subprocess.run(argv, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise StackError(f"pg_basebackup failed: {result.stderr.strip()}")
        # The copy holds the primary's postgresql.conf: its own port and socket folder come after (the last wins).
        # hot_standby_feedback keeps the primary from vacuuming rows a long report on the standby still reads.
        conf = {
            "port": str(self.port),
            "unix_socket_directories": f"'{self.home.resolve()}'",
            "shared_buffers": f"'{self.shared_buffers}'",
            "hot_standby": "on",
            "hot_standby_feedback": "on",
        }
        with (self.data / "postgresql.conf").open("a") as f:
            f.write("\n# yiwang standby\n")
            f.writelines(f"{key} = {value}\n" for key, value in conf.items())
        # The primary's log and pid file are not the standby's.
        (self.data / "postmaster.pid").unlink(missing_ok=True)
        self.data.chmod(0o700)
        _give_to(self.home, _service_user())

    def _sender_password(self) -> str:
        """Make the replication role on the primary, or take its password kept beside the primary's data: a new
        password would lock out every standby made before, at its next reconnect."""
        kept = self.primary.home / "replication.password"
        if kept.exists():
            password = kept.read_text(encoding="utf-8").strip()
        else:
            password = secrets.token_urlsafe(24)
            fd = os.open(kept, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(password)
        with psycopg.connect(self.primary.admin_url, autocommit=True) as admin:
            exists = admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (SENDER,)).fetchone()
            verb = sql.SQL("ALTER") if exists else sql.SQL("CREATE")
            admin.execute(
                sql.SQL("{} ROLE {} WITH LOGIN REPLICATION PASSWORD {}").format(
                    verb, sql.Identifier(SENDER), sql.Literal(password)
                )
            )
        return password

    def start(self) -> None:
        """Start the standby; it answers read-only queries once it has reached a consistent state."""
        if not self.running():
            result = self._ctl("start", "-w", "-t", "60", "-l", str(self.log), check=False)
            if result.returncode != 0:
                raise StackError(f"the standby did not start: {result.stderr.strip()} (log: {self.log})")

    def stop(self, mode: str = "fast") -> None:
        if self.running():
            self._ctl("stop", "-w", "-m", mode, check=False)

    def promote(self) -> None:
        """Make it a primary of its own (a failover): it stops following the primary and takes writes."""
        self._ctl("promote", "-w", "-t", "60")

    def remove(self) -> None:
        """Stop it and delete its folder."""
        self.stop("immediate")
        shutil.rmtree(self.home, ignore_errors=True)
