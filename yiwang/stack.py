"""A local TimescaleDB and Mosquitto run as real processes under one folder: for `yiwang stack` and the tests."""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
from psycopg.conninfo import conninfo_to_dict

from db import roles
from db.sealing import new_key
from yiwang.settings import SECRET_KEY_FILE


class StackError(RuntimeError):
    """A local service would not start or stop; the message says where its log is."""


def free_port() -> int:
    """A TCP port on loopback that nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex((host, port)) == 0


def _wait_for(predicate: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise StackError(f"{what} did not happen within {seconds:.0f} s")


def pg_bindir() -> Path:
    """The newest PostgreSQL whose lib folder holds the timescaledb extension."""
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name), reverse=True):
        if list((candidate.parent / "lib").glob("timescaledb*.so")):
            return candidate
    raise StackError("no PostgreSQL with TimescaleDB under /usr/lib/postgresql: run scripts/setup.sh")


def _service_user() -> str | None:
    """PostgreSQL refuses to run as root, so as root we run it as the `postgres` user."""
    return "postgres" if os.geteuid() == 0 else None


def _as_user(argv: list[str], user: str | None) -> list[str]:
    return ["runuser", "-u", user, "--", *argv] if user else argv


def _give_to(path: Path, user: str | None) -> None:
    if user is None:
        return
    entry = pwd.getpwnam(user)
    for folder, _dirs, files in os.walk(path):
        os.chown(folder, entry.pw_uid, entry.pw_gid)
        for name in files:
            os.chown(Path(folder) / name, entry.pw_uid, entry.pw_gid)
    # The server must reach its folder through every parent (a private tmp dir would stop it).
    for parent in path.resolve().parents:
        mode = parent.stat().st_mode
        if not mode & 0o001:
            raise StackError(f"{parent} is not traversable by {user}; choose YIWANG_HOME elsewhere")


# The local stack's superuser: it makes the roles below and nothing else connects as it.
SUPERUSER = "postgres"
# The role each process connects as in the local stack (db/roles.py); the owner of the tables is the database URL's.
SERVICE_ROLES: dict[str, str] = {
    "api": "yiwang_api",
    "collector": "yiwang_collector",
    "supervisor": "yiwang_supervisor",
    "gateway": "yiwang_gateway",
    "notifier": "yiwang_notifier",
    "worker": "yiwang_worker",
    "emqx": "yiwang_emqx",  # EMQX's authenticator and authorizer, where EMQX is the broker (broker/emqx/emqx.conf)
}


@dataclass
class Postgres:
    """A PostgreSQL cluster with TimescaleDB preloaded, listening on loopback only.

    Every role logs in with a password (SCRAM): the cluster trusts no connection, not even a local one. The
    passwords are made on first start and kept in libpq's password file `passfile` (mode 600), which the URLs
    name; no URL carries a password.

    Args:
        home: folder of the cluster (created on first start).
        port: TCP port on 127.0.0.1.
        database: the database created for Yiwang, owned by `owner` (not a superuser).
        roles: each process's role (SERVICE_ROLES).
        shared_buffers: PostgreSQL's cache; size it together with the active chunks.
    """

    home: Path
    port: int
    database: str = "yiwang"
    owner: str = "yiwang"
    roles: dict[str, str] = field(default_factory=lambda: dict(SERVICE_ROLES))
    shared_buffers: str = "1GB"
    extra_conf: dict[str, str] = field(default_factory=dict)

    @property
    def data(self) -> Path:
        return self.home / "data"

    @property
    def log(self) -> Path:
        return self.home / "postgres.log"

    @property
    def passfile(self) -> Path:
        return self.home / "pgpass"

    def url_of(self, role: str, database: str | None = None) -> str:
        """A role's URL; its password is in `passfile`."""
        passfile = quote(str(self.passfile.resolve()))
        return f"postgresql://{role}@127.0.0.1:{self.port}/{database or self.database}?passfile={passfile}"

    @property
    def url(self) -> str:
        """The owner's URL: migrations, imports, test fixtures."""
        return self.url_of(self.owner)

    @property
    def admin_url(self) -> str:
        """The superuser's URL: only for making roles and databases (the stack, test fixtures)."""
        return self.url_of(SUPERUSER, "postgres")

    def service_url(self, service: str) -> str:
        """The URL of a process's own role (`api`, `collector`, `supervisor`)."""
        return self.url_of(self.roles[service])

    def _ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        argv = [str(pg_bindir() / "pg_ctl"), "-D", str(self.data), *args]
        return subprocess.run(_as_user(argv, _service_user()), capture_output=True, text=True, check=check)

    def initialised(self) -> bool:
        return (self.data / "PG_VERSION").exists()

    def running(self) -> bool:
        return self.initialised() and self._ctl("status", check=False).returncode == 0

    def passwords(self) -> dict[str, str]:
        """Every role's password, made (and written to `passfile`) for any role that has none yet."""
        known: dict[str, str] = {}
        if self.passfile.exists():
            for line in self.passfile.read_text(encoding="utf-8").splitlines():
                _host, _port, _db, role, password = line.split(":", 4)
                known[role] = password
        wanted = [SUPERUSER, self.owner, *self.roles.values()]
        if not all(role in known for role in wanted):
            # URL-safe base64 holds no colon or backslash, which the file's format would need escaped.
            known |= {role: secrets.token_urlsafe(24) for role in wanted if role not in known}
            self.home.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.passfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.writelines(f"127.0.0.1:{self.port}:*:{role}:{password}\n" for role, password in known.items())
        return known

    def init(self) -> None:
        user = _service_user()
        self.home.mkdir(parents=True, exist_ok=True)
        _give_to(self.home, user)
        # initdb reads the superuser's password from a file (as the server's user), removed once it is set.
        pwfile = self.home / "initdb-password"
        fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(self.passwords()[SUPERUSER] + "\n")
        if user is not None:
            entry = pwd.getpwnam(user)
            os.chown(pwfile, entry.pw_uid, entry.pw_gid)
        argv = [
            str(pg_bindir() / "initdb"),
            "-D", str(self.data),
            "-U", SUPERUSER,
            f"--pwfile={pwfile}",
            # Every connection, local ones too, logs in with a password: no trust line in pg_hba.conf.
            "--auth=scram-sha-256",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
        ]  # fmt: skip
        try:
            result = subprocess.run(_as_user(argv, user), capture_output=True, text=True, check=False)
        finally:
            pwfile.unlink(missing_ok=True)
        if result.returncode != 0:
            raise StackError(f"initdb failed: {result.stderr.strip()}")
        conf = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.home.resolve()}'",
            "shared_preload_libraries": "'timescaledb'",
            "timescaledb.telemetry_level": "off",
            "shared_buffers": f"'{self.shared_buffers}'",
            "max_connections": "200",
            "max_wal_size": "'4GB'",
            "checkpoint_timeout": "'15min'",
            "max_locks_per_transaction": "256",
            "log_min_messages": "warning",
            "password_encryption": "'scram-sha-256'",
            **self.extra_conf,
        }
        with (self.data / "postgresql.conf").open("a") as f:
            f.write("\n# yiwang local stack\n")
            f.writelines(f"{key} = {value}\n" for key, value in conf.items())

    def start(self) -> None:
        """Start the cluster (initialising it the first time) and make sure its roles and database exist."""
        if not self.initialised():
            self.init()
        elif not self.passfile.exists():
            raise StackError(
                f"the cluster in {self.data} trusts local connections (made by an older Yiwang) and has no password "
                f"file: stop it (`yiwang stack down`) and remove {self.home} to start one that asks for passwords"
            )
        if not self.running():
            result = self._ctl("start", "-w", "-t", "60", "-l", str(self.log), check=False)
            if result.returncode != 0:
                raise StackError(f"PostgreSQL did not start: {result.stderr.strip()} (log: {self.log})")
        self._provision()

    def stop(self, mode: str = "fast") -> None:
        """Stop the cluster; mode `immediate` is a crash as far as the data is concerned."""
        if self.running():
            self._ctl("stop", "-w", "-m", mode, check=False)

    def _provision(self) -> None:
        passwords = self.passwords()
        services = [roles.Login(role, passwords[role]) for role in self.roles.values()]
        with psycopg.connect(self.admin_url, autocommit=True) as admin:
            roles.ensure_roles(admin, self.database, roles.Login(self.owner, passwords[self.owner]), services)

    def grant(self) -> None:
        """After the migrations: each process's role gets its grants (db/roles.py)."""
        with psycopg.connect(self.url, autocommit=True) as owner:
            roles.grant(owner, self.roles)


MOSQUITTO_CONF = """\
# Written by yiwang/stack.py.
# Each listener has its own accounts: devices never log in where services do (docs/access.md).
per_listener_settings true
persistence true
persistence_location {home}/
# Sessions and queued messages reach disk every {autosave} s and on shutdown: a kill -9 of the broker
# can lose what arrived since (see README, "What survives what").
autosave_interval {autosave}
# Acks after commit: the window must hold at least two batches (Mosquitto 2.0.11 bug #2301).
max_inflight_messages {inflight}
# A collector that is away (or a database that is down) must not cost us messages ...
max_queued_messages {queued}
# ... but one device sending large messages must not fill the broker's memory and disk either: a
# session's queue also stops at this many bytes (docs/device-protocol.md, "Sizes").
max_queued_bytes {queued_bytes}
# A device that sends a larger packet is disconnected without a PUBACK (at MQTT 3.1.1 too, unlike
# message_size_limit, whose PUBACK says "taken" of a message it drops) and the log names it; a
# smaller payload that the collector refuses (max_payload_bytes, well below) becomes a dead letter.
max_packet_size {max_packet}
log_dest file {home}/mosquitto.log
log_type error
log_type warning
# Who connected from where, takeovers, and "disconnected due to oversize packet".
log_type notice
pid_file {home}/mosquitto.pid
{user}

# Services (collectors, the supervisor, simulators, gateways): loopback only, service accounts only.
listener {port} 127.0.0.1
max_connections {max_connections}
{service_access}
{device_listeners}"""


_SERVICE_ACCESS = """\
# Every service has an account; `yiwang broker sync` writes the files and reloads.
allow_anonymous false
password_file {home}/passwords
acl_file {home}/acl"""
# The client id is the user name (the device id): no device can take another client's session,
# and a service's password never works here.
_DEVICE_ACCESS = """\
allow_anonymous false
password_file {home}/device-passwords
acl_file {home}/acl
use_username_as_clientid true"""
_ANONYMOUS = "# A private benchmark broker: no accounts, no ACL.\nallow_anonymous true"


@dataclass
class Mosquitto:
    """A Mosquitto broker with persistence on, listening on loopback only."""

    home: Path
    port: int
    inflight: int = 4000
    queued: int = 2_000_000
    # Mosquitto keeps queued messages in memory: 2,000,000 positions of ~250 B fit, while 2,000,000 messages
    # of 256 KiB from one device (500 GB) would take the broker down with every session in it.
    queued_bytes: int = 512 * 1024 * 1024
    # Whole packets (payload, topic, header): above the collector's max_payload_bytes (64 KiB), so that an
    # oversize message up to this size still reaches the collector and leaves a dead letter.
    max_packet: int = 262144
    autosave: int = 5
    # Only for a private benchmark broker: everything else logs in (broker/access.py).
    anonymous: bool = False
    # Devices, collectors and simulators of a city: thousands, not unbounded.
    max_connections: int = 50_000
    # The devices' listener on loopback (None: services only); the client id is the user name there.
    device_port: int | None = None
    # A devices' listener speaking TLS (devices outside the machine use it), with this PEM pair.
    tls_port: int | None = None
    certfile: Path | None = None
    keyfile: Path | None = None

    @property
    def conf(self) -> Path:
        return self.home / "mosquitto.conf"

    @property
    def pid_file(self) -> Path:
        return self.home / "mosquitto.pid"

    @property
    def passwords_file(self) -> Path:
        return self.home / "passwords"

    @property
    def device_passwords_file(self) -> Path:
        return self.home / "device-passwords"

    @property
    def acl_file(self) -> Path:
        return self.home / "acl"

    def reload(self) -> None:
        """Read the password and ACL files again, keeping every connection (SIGHUP)."""
        pid = self.pid()
        if pid is not None:
            os.kill(pid, signal.SIGHUP)

    def pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        return pid

    def running(self) -> bool:
        return self.pid() is not None

    def write_conf(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        for path in (self.passwords_file, self.device_passwords_file, self.acl_file):
            if not path.exists():
                path.touch(mode=0o600)
        self.conf.write_text(
            MOSQUITTO_CONF.format(
                port=self.port,
                home=self.home.resolve(),
                inflight=self.inflight,
                queued=self.queued,
                queued_bytes=self.queued_bytes,
                max_packet=self.max_packet,
                autosave=self.autosave,
                service_access=_ANONYMOUS if self.anonymous else _SERVICE_ACCESS.format(home=self.home.resolve()),
                max_connections=self.max_connections,
                device_listeners=self._device_listeners(),
                # As root Mosquitto would switch to the `mosquitto` user, who cannot write our folder.
                user="user root" if os.geteuid() == 0 else "",
            )
        )

    def _device_listeners(self) -> str:
        access = _ANONYMOUS if self.anonymous else _DEVICE_ACCESS.format(home=self.home.resolve())
        listeners = []
        if self.device_port is not None:
            listeners.append(
                f"# Devices: device accounts only.\nlistener {self.device_port} 127.0.0.1\n"
                f"max_connections {self.max_connections}\n{access}"
            )
        if self.tls_port is not None:
            if self.certfile is None or self.keyfile is None:
                raise StackError("a TLS listener needs a certfile and a keyfile")
            listeners.append(
                f"# Devices outside the machine, over TLS: device accounts only.\nlistener {self.tls_port}\n"
                f"max_connections {self.max_connections}\n"
                f"certfile {self.certfile.resolve()}\nkeyfile {self.keyfile.resolve()}\ntls_version tlsv1.2\n{access}"
            )
        return "\n\n".join(listeners) + "\n"

    def start(self) -> None:
        if self.running():
            return
        self.write_conf()
        mosquitto = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        with (self.home / "mosquitto.stderr").open("ab") as stderr:
            # -d: Mosquitto daemonises itself and writes its pid file; nothing of ours waits on it.
            subprocess.run(
                [mosquitto, "-c", str(self.conf), "-d"], stdout=subprocess.DEVNULL, stderr=stderr, check=False
            )
        try:
            _wait_for(lambda: port_open(self.port), 15, f"Mosquitto listening on {self.port}")
        except StackError as exc:
            raise StackError(f"{exc} (log: {self.home / 'mosquitto.log'})") from None

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> None:
        """Stop the broker; SIGTERM saves its persistence file, SIGKILL is a crash."""
        pid = self.pid()
        if pid is None:
            return
        os.kill(pid, sig)
        _wait_for(lambda: self.pid() is None and not port_open(self.port), 30, "Mosquitto stopping")
        if sig == signal.SIGKILL:
            self.pid_file.unlink(missing_ok=True)


def keep_secret_key(path: Path) -> None:
    """A key for the secrets the database keeps (YIWANG_SECRET_KEY_FILE's default), made once, readable by its owner
    only: the local stack's; a deployment sets its own (docs/notifications.md)."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as file:
        file.write(new_key() + "\n")


@dataclass
class Stack:
    """The local stack: one database and one broker under one home folder."""

    postgres: Postgres
    mosquitto: Mosquitto

    @classmethod
    def at(
        cls,
        home: Path,
        db_port: int,
        mqtt_port: int,
        *,
        shared_buffers: str = "1GB",
        inflight: int = 4000,
        anonymous: bool = False,
        device_port: int | None = None,
    ) -> Stack:
        return cls(
            Postgres(home / "postgres", db_port, shared_buffers=shared_buffers),
            Mosquitto(home / "mosquitto", mqtt_port, inflight=inflight, anonymous=anonymous, device_port=device_port),
        )

    @classmethod
    def from_settings(cls, settings: Any) -> Stack:
        """The stack that the settings' database URL and broker port point at."""
        db = conninfo_to_dict(settings.database_url)
        # A process's role is the one its own URL names, if it has one.
        named = {s: conninfo_to_dict(settings.database_url_of(s)).get("user") for s in SERVICE_ROLES}
        own = {s: str(named[s] or r) if named[s] != db.get("user") else r for s, r in SERVICE_ROLES.items()}
        return cls(
            Postgres(
                settings.home / "postgres",
                int(db.get("port") or 5432),
                database=str(db.get("dbname") or "yiwang"),
                owner=str(db.get("user") or "yiwang"),
                roles=own,
                shared_buffers=settings.db_shared_buffers,
            ),
            Mosquitto(
                settings.home / "mosquitto",
                settings.mqtt_port,
                inflight=settings.mqtt_receive_maximum,
                device_port=settings.mqtt_device_port,
                tls_port=settings.mqtt_tls_listener_port,
                certfile=settings.mqtt_tls_certfile,
                keyfile=settings.mqtt_tls_keyfile,
            ),
        )

    def up(self) -> None:
        self.postgres.start()
        self.mosquitto.start()
        keep_secret_key(self.postgres.home.parent / SECRET_KEY_FILE)

    def down(self) -> None:
        self.mosquitto.stop()
        self.postgres.stop()

    def status(self) -> dict[str, str]:
        return {
            "timescaledb": f"running at {self.postgres.url}" if self.postgres.running() else "stopped",
            "mosquitto": f"running at mqtt://127.0.0.1:{self.mosquitto.port}"
            if self.mosquitto.running()
            else "stopped",
        }
