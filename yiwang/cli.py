"""The `yiwang` command: one entry point for the stack, the database, the collector, the API and the simulators."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import logging
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from yiwang.progress import Progress
from yiwang.settings import PUBLISHED_SECRETS, Settings

if TYPE_CHECKING:
    from psycopg import AsyncConnection

    from db.roles import Login
    from simulators.city import City

log = logging.getLogger("yiwang")
_SQL_HINT = "try: SELECT count(*) FROM reading; SELECT * FROM live_position LIMIT 5;"


def _stack(settings: Settings, args: argparse.Namespace) -> int:
    from yiwang.stack import Stack  # noqa: PLC0415 - each subcommand imports only what it runs

    stack = Stack.from_settings(settings)
    if args.action == "up":
        stack.up()
    elif args.action == "down":
        stack.down()
    for name, state in stack.status().items():
        print(f"{name:12} {state}")
    return 0


def _db(settings: Settings, args: argparse.Namespace) -> int:
    return _roles(settings) if args.action == "roles" else _migrate(settings, args)


def _migrate(settings: Settings, _args: argparse.Namespace) -> int:
    """The migrations, as the owner, then each process's role gets its grants."""
    import psycopg  # noqa: PLC0415

    from db import roles  # noqa: PLC0415
    from db.migrate import migrate  # noqa: PLC0415

    applied = migrate(settings.database_url)
    print(f"applied {len(applied)} migration(s)" + "".join(f"\n  {m.version:04d} {m.name}" for m in applied))
    own = {service: login.name for service, login in _service_logins(settings, passwords=False).items()}
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        roles.grant(conn, own)
    print("granted: " + (", ".join(f"{s} to {r}" for s, r in own.items()) or "no process has a role of its own"))
    return 0


def _service_logins(settings: Settings, *, passwords: bool) -> dict[str, Login]:
    """The processes whose URLs name a role other than the owner's, with those roles (and their passwords)."""
    from psycopg.conninfo import conninfo_to_dict  # noqa: PLC0415

    from db.roles import SERVICES, Login  # noqa: PLC0415

    owner = conninfo_to_dict(settings.database_url).get("user")
    logins = {}
    for service in SERVICES:
        url = conninfo_to_dict(settings.database_url_of(service))  # type: ignore[arg-type]
        if url.get("user") and url.get("user") != owner:
            password = str(url.get("password") or "")
            if passwords and not password:
                raise SystemExit(f"YIWANG_{service.upper()}_DATABASE_URL has no password to give its role")
            logins[service] = Login(str(url["user"]), password)
    return logins


def _roles(settings: Settings) -> int:
    """As YIWANG_DATABASE_ADMIN_URL's superuser: the owner's and the processes' roles, with the passwords of their
    URLs, and the database (and an older installation's tables) given to the owner."""
    import psycopg  # noqa: PLC0415
    from psycopg.conninfo import conninfo_to_dict, make_conninfo  # noqa: PLC0415

    from db import roles  # noqa: PLC0415

    if not settings.database_admin_url:
        raise SystemExit("yiwang db roles: set YIWANG_DATABASE_ADMIN_URL to a superuser's URL")
    owner_url = conninfo_to_dict(settings.database_url)
    if not owner_url.get("user") or not owner_url.get("password"):
        raise SystemExit("yiwang db roles: YIWANG_DATABASE_URL must name the owner's role and its password")
    owner = roles.Login(str(owner_url["user"]), str(owner_url["password"]))
    database = str(owner_url.get("dbname") or "yiwang")
    services = _service_logins(settings, passwords=True)
    try:
        with psycopg.connect(settings.database_admin_url, autocommit=True) as admin:
            roles.ensure_roles(admin, database, owner, services.values())
        with psycopg.connect(make_conninfo(settings.database_admin_url, dbname=database), autocommit=True) as admin:
            given = roles.give_to_owner(admin, owner.name)
    except roles.RoleError as exc:
        raise SystemExit(f"yiwang db roles: {exc}") from exc
    print(f"roles: {owner.name} owns {database} ({given} object(s) given to it)")
    for service, login in services.items():
        print(f"  {service:10} {login.name}")
    return 0


def _registry_import(settings: Settings, args: argparse.Namespace) -> int:
    from db.registry import Unfit  # noqa: PLC0415
    from domain.registry import RegistryDocument  # noqa: PLC0415

    document = RegistryDocument.model_validate_json(Path(args.file).read_bytes())
    # A city's registry is tens of thousands of rows: say how far the import is, as the roll-ups' rebuilds do.
    progress = Progress("registry import", "rows", every=settings.progress_seconds)
    try:
        counts = asyncio.run(
            _import(settings, document, only_new=getattr(args, "keep_existing", False), told=progress.update)
        )
    except Unfit as exc:
        raise SystemExit(f"nothing imported: {exc}") from None
    progress.finish()
    print("imported " + ", ".join(f"{n} {kind}" for kind, n in counts.items()))
    return 0


async def _import(
    settings: Settings, document: object, *, only_new: bool = False, told: Callable[[int, int], None] | None = None
) -> dict[str, int]:
    import psycopg  # noqa: PLC0415

    from db import registry  # noqa: PLC0415
    from domain.registry import RegistryDocument  # noqa: PLC0415

    assert isinstance(document, RegistryDocument)
    async with await psycopg.AsyncConnection.connect(settings.database_url) as conn:
        if only_new:
            document = await registry.only_new(conn, document)
        assert isinstance(document, RegistryDocument)
        return await registry.import_document(conn, document, told=told)


def _energy(settings: Settings, args: argparse.Namespace) -> int:
    count: int = asyncio.run(_energy_async(settings, args.action))
    print(f"consumption roll-up: {count} meter(s) recounted in {settings.time_zone}")
    return 0


def _told(settings: Settings, label: str, unit: str) -> tuple[Progress, Callable[[int, int], None]]:
    """A progress line for a roll-up's turns, and what its turns tell it (done, left)."""
    progress = Progress(label, unit, every=settings.progress_seconds)
    return progress, lambda done, left: progress.update(done, done + left)


async def _energy_async(settings: Settings, action: str) -> int:
    from db.pool import open_pool  # noqa: PLC0415
    from worker import rollup  # noqa: PLC0415

    progress, told = _told(settings, f"energy {action}", "meters")
    async with open_pool(settings.database_url, max_size=1, name="yiwang-energy") as pool:
        if action == "rebuild":
            done = await rollup.rebuild(pool, settings.zone, max_gap=settings.energy_max_gap, told=told)
        else:
            done = await rollup.catch_up(pool, settings.zone, max_gap=settings.energy_max_gap, told=told)
    progress.finish()
    return done


def _mileage(settings: Settings, args: argparse.Namespace) -> int:
    count: int = asyncio.run(_mileage_async(settings, args.action))
    print(f"mileage roll-up: {count} vehicle(s) recounted in {settings.time_zone}")
    return 0


async def _mileage_async(settings: Settings, action: str) -> int:
    from db.pool import open_pool  # noqa: PLC0415
    from worker import mileage  # noqa: PLC0415

    basis = mileage.Basis.of(settings)
    progress, told = _told(settings, f"mileage {action}", "vehicles")
    async with open_pool(settings.database_url, max_size=1, name="yiwang-mileage") as pool:
        if action == "rebuild":
            done = await mileage.rebuild(pool, basis, told=told)
        else:
            done = await mileage.catch_up(pool, basis, told=told)
    progress.finish()
    return done


def _broker(settings: Settings, args: argparse.Namespace) -> int:
    result: int = asyncio.run(_broker_async(settings, args))
    return result


async def _broker_async(settings: Settings, args: argparse.Namespace) -> int:
    import psycopg  # noqa: PLC0415

    from broker import access  # noqa: PLC0415

    async with await psycopg.AsyncConnection.connect(settings.database_url) as conn:
        if args.action == "account":
            if args.password_env:
                password = os.environ.get(args.password_env, "")
                if not password:
                    raise SystemExit(f"${args.password_env} is empty: no password for {args.name}")
            elif args.password_stdin:
                password = sys.stdin.readline().strip()
            else:
                password = access.new_secret()
                print(f"{args.name} {password}")
            if password in PUBLISHED_SECRETS:
                raise SystemExit(f"{args.name}: that password was a published default: choose your own")
            await access.add_service_account(conn, args.name, args.role, password)
        elif args.action == "devices":
            # Opened first: a refused file costs no device its secret.
            out = _create_private(Path(args.out)) if args.out else None
            issued = await access.issue_device_credentials(conn, args.renew)
            lines = ["kind,device_id,username,password", *(f"{k},{d},{d},{p}" for k, d, p in issued)]
            if out is not None:
                with out:
                    out.write("\n".join(lines) + "\n")
                print(f"{len(issued)} device credential(s) in {args.out}: provision them, then delete the file")
            else:
                print("\n".join(lines))
        await conn.commit()
        # Every action ends with the broker's files up to date.
        given = [Path(p) if p else None for p in (args.passwords, args.device_passwords, args.acl)]
        await _sync_broker(conn, settings, given, int(args.file_mode, 8))
    return 0


async def _sync_broker(
    conn: AsyncConnection, settings: Settings, given: list[Path | None] | None = None, mode: int = 0o600
) -> None:
    """Write the broker's password and ACL files from the database (default: the local stack's) and reload it."""
    from broker import access  # noqa: PLC0415
    from yiwang.stack import Stack  # noqa: PLC0415

    broker = Stack.from_settings(settings).mosquitto
    local = (broker.passwords_file, broker.device_passwords_file, broker.acl_file)
    files = access.Files(*(path or default for path, default in zip(given or [None] * 3, local, strict=True)))
    synced = await access.sync(conn, settings.topic_root, files, mode)
    broker.reload()  # a local broker reads them at once; another is told by its operator (SIGHUP)
    for reason in synced.skipped:
        print(f"broker access: left out {reason}", file=sys.stderr)
    print(
        f"broker access: {synced.services} service account(s) in {files.passwords}, {synced.devices} device(s) in "
        f"{files.device_passwords}, ACL in {files.acl}"
    )


def _create_private(path: Path) -> TextIO:
    """A new file only this user reads: never an existing file (whose mode would stay) nor a symlink's target."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        raise SystemExit(f"{path} exists (or is a link): name a new file; secrets are never written over one") from None
    return os.fdopen(fd, "w", encoding="utf-8")


def _city(settings: Settings) -> City:
    from simulators.city import build_city  # noqa: PLC0415

    return build_city(settings.sim_seed, settings.sim_institutions, settings.sim_vehicles)


def _simulate(settings: Settings, args: argparse.Namespace) -> int:
    from simulators import publisher  # noqa: PLC0415

    city = _city(settings)
    if args.what == "city":
        text = json.dumps(city.registry_document(), ensure_ascii=False, indent=1)
        if args.out:
            Path(args.out).write_text(text, encoding="utf-8")
        else:
            print(text)
        return 0
    if args.what == "backfill":
        end = datetime.now(UTC)
        progress = Progress("backfill", "hours of history", every=settings.progress_seconds)
        tally = asyncio.run(
            publisher.backfill(
                settings, city, end - timedelta(days=args.days), end, kinds=tuple(args.kinds), told=progress.update
            )
        )
        progress.finish()
        print(json.dumps(tally.summary(), ensure_ascii=False))
        return 0
    start = datetime.fromisoformat(args.start) if args.start else None
    if start is not None and start.tzinfo is None:
        raise SystemExit("--start needs an offset, e.g. 2026-01-01T00:00+08:00")
    if start is None and settings.sim_acceleration > 1:
        log.warning("YIWANG_SIM_ACCELERATION > 1 from now runs ahead of the clock: the collector refuses the future")
    runner = publisher.run_meters if args.what == "meters" else publisher.run_vehicles
    tally = publisher.Tally()
    asyncio.run(_until_signal(runner(settings, city, start=start, tally=tally)))
    print(json.dumps(tally.summary(), ensure_ascii=False))
    return 0


async def _until_signal(work: Coroutine[object, object, object]) -> None:
    """Run a coroutine until SIGTERM or SIGINT, then cancel it cleanly."""
    task = asyncio.ensure_future(work)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await task


def _collect(settings: Settings, _args: argparse.Namespace) -> int:
    from collector.run import run  # noqa: PLC0415

    asyncio.run(run(settings))
    return 0


def _supervise_stream(settings: Settings, _args: argparse.Namespace) -> int:
    from collector.supervisor import run  # noqa: PLC0415

    asyncio.run(run(settings))
    return 0


def _gateway(settings: Settings, _args: argparse.Namespace) -> int:
    from gateway.server import run  # noqa: PLC0415

    asyncio.run(run(settings))
    return 0


def _notify(settings: Settings, _args: argparse.Namespace) -> int:
    from notifier.run import run  # noqa: PLC0415

    asyncio.run(run(settings))
    return 0


def _work(settings: Settings, _args: argparse.Namespace) -> int:
    from worker.run import run  # noqa: PLC0415

    asyncio.run(run(settings))
    return 0


def _gateway_forget(settings: Settings, args: argparse.Namespace) -> int:
    """Void JT/T 808 terminals' codes, as the tables' owner: a terminal that lost its code registers again."""
    voided = asyncio.run(_forget(settings, args.phones))
    for phone in args.phones:
        print(f"{phone}: {'code voided, may register again' if phone in voided else 'no code held, nothing to void'}")
    return 0


async def _forget(settings: Settings, phones: list[str]) -> list[str]:
    import psycopg  # noqa: PLC0415

    from db.terminals import forget  # noqa: PLC0415

    async with await psycopg.AsyncConnection.connect(settings.database_url) as conn:
        return await forget(conn, phones)


def _api(settings: Settings, _args: argparse.Namespace) -> int:
    import uvicorn  # noqa: PLC0415

    from api.app import create_app  # noqa: PLC0415
    from api.server import server_options  # noqa: PLC0415

    # A full collection walks every object of the process, the live map's tens of thousands included, and the
    # default thresholds start one every 70,000 allocations: about once per one-day track or whole-network map
    # asked for, tens of milliseconds each. Cyclic garbage is rare here (reference counting frees the rest), so
    # the youngest generation is collected after 20,000 allocations and the oldest after some 50 million.
    gc.set_threshold(20_000, 50, 50)
    from api.basemap.package import PackageError  # noqa: PLC0415

    try:
        app = create_app(settings)
    except PackageError as exc:
        raise SystemExit(f"yiwang api: {exc}") from None
    uvicorn.run(app, **server_options(settings))
    return 0


def _user(settings: Settings, args: argparse.Namespace) -> int:
    """Add a user of the API; the password comes from a prompt (typed twice) or one line of stdin, never argv."""
    from api.access.users import UserRefused  # noqa: PLC0415

    role = "admin" if args.action == "create-admin" else args.role
    password = _new_password()
    try:
        user_id = asyncio.run(_add_user(settings, args, role, password))
    except UserRefused as exc:
        raise SystemExit(f"yiwang user {args.action}: {exc}") from exc
    print(f"added {role} {args.name} (id {user_id})" + "".join(f"\n  sees {o}" for o in args.organisation))
    return 0


def _new_password() -> str:
    import getpass  # noqa: PLC0415

    if not sys.stdin.isatty():
        return sys.stdin.readline().removesuffix("\n").removesuffix("\r")
    password = getpass.getpass("password: ")
    if getpass.getpass("again: ") != password:
        raise SystemExit("the two passwords differ; nothing was changed")
    return password


async def _add_user(settings: Settings, args: argparse.Namespace, role: str, password: str) -> int:
    import getpass  # noqa: PLC0415

    import psycopg  # noqa: PLC0415

    from api.access.users import create_user  # noqa: PLC0415
    from db.access import append_audit  # noqa: PLC0415

    async with await psycopg.AsyncConnection.connect(settings.database_url) as conn, conn.transaction():
        user_id = await create_user(conn, args.name, password, role, args.organisation)  # type: ignore[arg-type]
        # Written with the user, in one transaction: the audit log says who made the first admin, and when.
        await append_audit(
            conn,
            user_id=None,
            user_name=f"os:{getpass.getuser()}",
            role=None,
            action="users:write",
            method="CLI",
            endpoint=f"yiwang user {args.action}",
            resource_ids=[str(user_id)],
            params={"name": args.name, "role": role, "organisations": args.organisation},
            address=None,
            status=201,
            outcome="ok",
        )
    return user_id


def _run(settings: Settings, args: argparse.Namespace) -> int:
    """Everything together: the stack, the schema, the simulated city, collector, supervisor, API, JT/T 808 gateway,
    notifier, worker and simulators."""
    from yiwang import processes  # noqa: PLC0415
    from yiwang.stack import Stack  # noqa: PLC0415

    _stack(settings, argparse.Namespace(action="up"))
    _local_passwords(settings)
    # Each process connects as its own role of the local stack (unless its URL names another); grants follow.
    postgres = Stack.from_settings(settings).postgres
    own_urls = {f"{s}_database_url": settings.database_url_of(s) for s in postgres.roles}  # type: ignore[arg-type]
    own_urls = {
        name: url if url != settings.database_url else postgres.service_url(name.removesuffix("_database_url"))
        for name, url in own_urls.items()
    }
    settings = settings.model_copy(update=own_urls)
    _migrate(settings, args)
    city_file = settings.home / "city.json"
    _simulate(settings, argparse.Namespace(what="city", out=str(city_file)))
    # Only what is not there yet: running again keeps what users changed in the registry since the first run.
    _registry_import(settings, argparse.Namespace(file=str(city_file), keep_existing=True))
    # Fresh passwords for this run's service accounts; anonymous access is off.
    passwords = asyncio.run(_run_accounts(settings, _RUN_ACCOUNTS))
    token_secret = _local_secret(settings.home / "api_token_secret", 48)
    admin_password = _local_admin(settings)
    me = [sys.executable, "-m", "yiwang.cli"]
    logs = settings.home / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    children: dict[str, subprocess.Popen[bytes]] = {}
    restart: dict[str, Callable[[], subprocess.Popen[bytes]]] = {}

    database = {f"YIWANG_{name.upper()}": url for name, url in own_urls.items()}

    def as_account(username: str | None) -> dict[str, str]:
        if username is None:
            return {**os.environ, **database, "YIWANG_API_TOKEN_SECRET": token_secret}
        return {
            **os.environ,
            **database,
            "YIWANG_MQTT_USERNAME": username,
            "YIWANG_MQTT_PASSWORD": passwords[username],
        }

    def start(name: str, account: str | None, *argv: str) -> subprocess.Popen[bytes]:
        with (logs / f"{name}.log").open("ab") as log_file:
            children[name] = subprocess.Popen(
                [*me, *argv], stdout=log_file, stderr=subprocess.STDOUT, env=as_account(account)
            )
        # Other commands find it by name (`yiwang drill` kills it in the middle of a stream).
        processes.write_pid(settings, name, children[name].pid)
        restart[name] = lambda: start(name, account, *argv)
        return children[name]

    # Whatever ends the run (Ctrl-C, SIGTERM, a service that fails its health check, a failed backfill, --seconds),
    # every child started is stopped: none outlives it. A child that exits once running is started again
    # (_supervise), as compose's `restart: unless-stopped` does; it does not end the run.
    try:
        start("collector", "collector", "collect")
        start("supervisor", "supervisor", "supervise")
        start("api", None, "api")
        start("gateway", "gateway", "gateway", "jt808")
        start("notifier", None, "notify")
        start("worker", None, "worker")
        _wait_until_healthy(children, processes.health_urls(settings), logs)
        if args.history_days > 0:
            # Meters report every 15 minutes: without some history an energy view would start empty.
            print(f"putting {args.history_days:g} days of meter history in through MQTT ...", flush=True)
            history = [*me, "simulate", "backfill", "--days", str(args.history_days), "--kinds", "meters"]
            with (logs / "backfill.log").open("ab") as log_file:
                subprocess.run(
                    history, stdout=log_file, stderr=subprocess.STDOUT, check=True, env=as_account("simulator")
                )
        # After the gateway is healthy: a share of the vehicles report through it (sim_jt808_share).
        start("meters", "simulator", "simulate", "meters")
        start("vehicles", "simulator", "simulate", "vehicles")
        print(
            f"""
Yiwang is running with {settings.sim_institutions} simulated institutions and {settings.sim_vehicles} vehicles \
({settings.sim_jt808_share:.0%} of them over JT/T 808).
  API and its docs    http://{settings.api_host}:{settings.api_port}/docs
                      log in as admin / {admin_password} (in {settings.home}/admin_password)
                      metrics http://{settings.metrics_host}:{settings.api_metrics_port}/metrics
  collector metrics   http://{settings.metrics_host}:{settings.metrics_port}/metrics  (health: /health)
  supervisor metrics  http://{settings.metrics_host}:{settings.supervisor_metrics_port}/metrics  (health: /health)
  JT/T 808 gateway    terminals connect to {settings.jt808_host}:{settings.jt808_port}
                      metrics http://{settings.metrics_host}:{settings.gateway_metrics_port}/metrics  (health: /health)
  notifier metrics    http://{settings.metrics_host}:{settings.notifier_metrics_port}/metrics  (health: /health)
                      rules: POST /notification-rules (docs/notifications.md)
  worker metrics      http://{settings.metrics_host}:{settings.worker_metrics_port}/metrics  (health: /health)
  database            psql '{postgres.url}'  (the owner; passwords in {postgres.passfile})
                      {_SQL_HINT}
  broker              mosquitto_sub -h {settings.mqtt_host} -p {settings.mqtt_port} -t '{settings.topic_root}/#' -v \\
                        -u observer -P {passwords["observer"]}
  logs                {logs}/
  fault drills        yiwang drill  (with this environment: kills and restarts mid-stream, docs/failures.md)
Stop with Ctrl-C (the stack keeps running: `yiwang stack down` stops it).""",
            flush=True,
        )
        _supervise(children, restart, args.seconds, logs)
    finally:
        _stop(children)
        for name in children:
            processes.remove_pid(settings, name)
    return 0


def _drill(settings: Settings, args: argparse.Namespace) -> int:
    """Faults against the running stack, each mid-stream; exits 1 on any loss (yiwang/drill.py)."""
    from yiwang import drill  # noqa: PLC0415

    names = args.drills or list(drill.DRILLS)
    unknown = sorted(set(names) - set(drill.DRILLS))
    if unknown:
        raise SystemExit(f"no drill {', '.join(unknown)}: the drills are {', '.join(drill.DRILLS)}")
    # An account of its own at the broker, with a fresh password, as `yiwang run` gives each of its processes.
    password = asyncio.run(_run_accounts(settings, {"drill": ["gateway"]}))["drill"]
    publisher = settings.model_copy(update={"mqtt_username": "drill", "mqtt_password": password})
    try:
        drills = drill.Drills(
            settings, publisher, messages=args.messages, rate=args.rate, recovery_seconds=args.recovery_seconds
        )
        print(f"{len(names)} drill(s), {args.messages} messages each at {args.rate:g}/s:", flush=True)
        outcomes = asyncio.run(drill.run(drills, names, lambda o: print(o.line(), flush=True)))
    except drill.DrillError as exc:
        raise SystemExit(f"yiwang drill: {exc}") from exc
    failed = [o.drill for o in outcomes if not o.ok]
    print(f"failed: {', '.join(failed)}" if failed else "every drill lost nothing")
    return 1 if failed else 0


def _local_passwords(settings: Settings) -> None:
    """URLs without a password find theirs in the local stack's password file, unless PGPASSFILE names another."""
    from yiwang.stack import Stack  # noqa: PLC0415

    passfile = Stack.from_settings(settings).postgres.passfile
    if passfile.exists():
        os.environ.setdefault("PGPASSFILE", str(passfile.resolve()))


def _local_secret(path: Path, size: int) -> str:
    """A secret kept under the local home (mode 600), made on first use."""
    import secrets  # noqa: PLC0415

    if not path.exists():
        with _create_private(path) as f:
            f.write(secrets.token_urlsafe(size))
    return path.read_text(encoding="utf-8").strip()


def _local_admin(settings: Settings) -> str:
    """The local API's first admin, `admin`, with a password kept under the local home."""
    from api.access.users import UserRefused  # noqa: PLC0415

    path = settings.home / "admin_password"
    fresh = not path.exists()
    password = _local_secret(path, 12)
    if fresh:
        args = argparse.Namespace(name="admin", action="create-admin", organisation=[])
        with contextlib.suppress(UserRefused):  # made by an earlier run whose home was reset
            asyncio.run(_add_user(settings, args, "admin", password))
    return password


# One account per service: none shares another's password (the supervisor reads what the collector reads).
_RUN_ACCOUNTS = {
    "collector": ["collector"],
    "supervisor": ["collector"],
    "simulator": ["gateway"],
    "gateway": ["gateway"],
    "observer": ["observer"],
}


async def _run_accounts(settings: Settings, roles: dict[str, list[str]]) -> dict[str, str]:
    import psycopg  # noqa: PLC0415

    from broker import access  # noqa: PLC0415

    passwords = {name: access.new_secret() for name in roles}
    async with await psycopg.AsyncConnection.connect(settings.database_url) as conn:
        for name, granted in roles.items():
            await access.add_service_account(conn, name, granted, passwords[name])
        await conn.commit()
        await _sync_broker(conn, settings)
    return passwords


def _supervise(
    children: dict[str, subprocess.Popen[bytes]],
    restart: dict[str, Callable[[], subprocess.Popen[bytes]]],
    seconds: float,
    logs: Path,
) -> None:
    """Until Ctrl-C, SIGTERM or `seconds` (the caller stops the children). A child that exits is started again, as
    compose's `restart: unless-stopped` does: after a second, or after up to 30 s while it keeps exiting within a
    minute of its start (a crash loop does not spin)."""
    stopping = False

    def request_stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    deadline = time.monotonic() + seconds if seconds else None
    started = dict.fromkeys(children, time.monotonic())
    delay = dict.fromkeys(children, 1.0)
    due: dict[str, float] = {}
    while not stopping and (deadline is None or time.monotonic() < deadline):
        now = time.monotonic()
        for name, child in children.items():
            if name in due or child.poll() is None:
                continue
            delay[name] = 1.0 if now - started[name] > 60 else min(delay[name] * 2, 30.0)
            due[name] = now + delay[name]
            print(
                f"{name} exited with {child.returncode}; starting it again in {delay[name]:.0f} s "
                f"(see {logs}/{name}.log)",
                file=sys.stderr,
                flush=True,
            )
        for name, when in list(due.items()):
            if now >= when:
                del due[name]
                restart[name]()
                started[name] = time.monotonic()
        time.sleep(0.2)


def _wait_until_healthy(
    children: dict[str, subprocess.Popen[bytes]], health: dict[str, str], logs: Path, seconds: float = 120
) -> None:
    """Until every service answers its health check with 200; names the first that exits and those not healthy in
    time (a loaded machine starts them slowly: saying "running" before the API listens would be a lie)."""
    waiting = dict(health)
    deadline = time.monotonic() + seconds
    while waiting and time.monotonic() < deadline:
        for name, url in list(waiting.items()):
            child = children[name]
            if child.poll() is not None:
                raise SystemExit(
                    f"the {name} exited with {child.returncode} before it was healthy: see {logs}/{name}.log"
                )
            try:
                with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own loopback endpoint
                    if response.status == 200:
                        del waiting[name]
            except OSError:
                pass
        if waiting:
            time.sleep(0.3)
    if waiting:
        names = ", ".join(f"the {name} ({url})" for name, url in waiting.items())
        raise SystemExit(f"not healthy within {seconds:.0f} s: {names}; see {logs}/")


def _stop(children: dict[str, subprocess.Popen[bytes]]) -> None:
    """SIGTERM every child still running, then wait for each (killing one that hangs)."""
    for child in children.values():
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    for child in children.values():
        try:
            child.wait(20)
        except subprocess.TimeoutExpired:
            child.kill()


def _roll_up(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    what: str,
    rebuild: str,
    func: Callable[[Settings, argparse.Namespace], int],
) -> None:
    roll_up = sub.add_parser(name, help=f"{what} (`yiwang worker` keeps it up to date by itself)")
    roll_up.add_argument(
        "action", choices=["refresh", "rebuild"], help=f"refresh: count what is pending; rebuild: {rebuild}"
    )
    roll_up.set_defaults(func=func)


def _gateway_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    gateway = sub.add_parser("gateway", help="run a gateway: devices' own protocols to the MQTT contract")
    protocol = gateway.add_subparsers(dest="protocol", required=True)
    protocol.add_parser("jt808", help="JT/T 808 vehicle terminals over TCP").set_defaults(func=_gateway)
    forget = protocol.add_parser(
        "forget", help="void JT/T 808 terminals' codes: a terminal that lost its own (replaced, reset) registers again"
    )
    forget.add_argument("phones", nargs="+", metavar="PHONE", help="a terminal's phone number (its terminal id)")
    forget.set_defaults(func=_gateway_forget)


def parser() -> argparse.ArgumentParser:  # noqa: PLR0915 (a statement or two per command, all in one place)
    p = argparse.ArgumentParser(prog="yiwang", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    stack = sub.add_parser("stack", help="local TimescaleDB and Mosquitto as real processes under YIWANG_HOME")
    stack.add_argument("action", choices=["up", "down", "status"])
    stack.set_defaults(func=_stack)

    db = sub.add_parser("db", help="database schema and roles")
    db.add_argument(
        "action",
        choices=["migrate", "roles"],
        help="migrate: the schema, as the owner, then the processes' grants; "
        "roles: as YIWANG_DATABASE_ADMIN_URL's superuser, the roles of the URLs, with their passwords",
    )
    db.set_defaults(func=_db)

    registry = sub.add_parser("registry", help="the registry of organisations, institutions, meters, vehicles")
    registry.add_argument("action", choices=["import"])
    registry.add_argument("file", help="a registry document (JSON), e.g. from `yiwang simulate city`")
    registry.add_argument(
        "--keep-existing",
        action="store_true",
        help="add only the rows the registry does not hold; leave those it holds as they are",
    )
    registry.set_defaults(func=_registry_import)

    broker = sub.add_parser("broker", help="who may speak to the broker: accounts, device credentials, ACL")
    broker.add_argument("action", choices=["account", "devices", "sync"])
    broker.add_argument("name", nargs="?", help="account: the service account's username")
    broker.add_argument(
        "--role", action="append", default=[], help="account: collector, gateway, api, observer or emqx_gateway"
    )
    broker.add_argument("--password-stdin", action="store_true", help="account: read the password (else generated)")
    broker.add_argument("--password-env", metavar="VAR", help="account: take the password from this variable")
    broker.add_argument(
        "--file-mode", default="600", help="mode of the files written (644 for a broker of another user)"
    )
    broker.add_argument("--renew", nargs="*", default=[], help="devices: new secrets for these ids too")
    broker.add_argument("--out", help="devices: write the new credentials (CSV) here instead of stdout")
    broker.add_argument("--passwords", help="service accounts' password file to write (default: the local stack's)")
    broker.add_argument("--device-passwords", help="devices' password file to write (default: the local stack's)")
    broker.add_argument("--acl", help="ACL file to write (default: the local stack's)")
    broker.set_defaults(func=_broker)

    _roll_up(sub, "energy", "the consumption roll-up", "recount everything", _energy)
    _roll_up(sub, "mileage", "the mileage roll-up of trips", "recount every vehicle (a zone or rule change)", _mileage)

    from api.access.rules import ROLES  # noqa: PLC0415

    user = sub.add_parser("user", help="people who use the API; passwords come from a prompt or stdin, never argv")
    user_actions = user.add_subparsers(dest="action", required=True)
    user_actions.add_parser("create-admin", help="add an administrator (the first one, or another)").add_argument(
        "name", help="login name"
    )
    add_user = user_actions.add_parser("add", help="add a user of any role")
    add_user.add_argument("name", help="login name")
    add_user.add_argument("--role", required=True, choices=ROLES)
    add_user.add_argument(
        "--organisation", action="append", default=[], help="unit_user: an organisation they see (repeatable)"
    )
    user.set_defaults(func=_user, organisation=[])

    sub.add_parser("collect", help="run a collector (MQTT to TimescaleDB)").set_defaults(func=_collect)
    sub.add_parser("supervise", help="run the supervisor (positions to alerts)").set_defaults(func=_supervise_stream)
    sub.add_parser("api", help="run the HTTP API").set_defaults(func=_api)
    sub.add_parser("notify", help="run the notifier (alerts to people, by rules)").set_defaults(func=_notify)
    sub.add_parser(
        "worker", help="run a worker (roll-ups, packed track hours, retention; several may run)"
    ).set_defaults(func=_work)
    _gateway_parser(sub)

    simulate = sub.add_parser("simulate", help="simulated city, meters and vehicles")
    simulate.add_argument("what", choices=["city", "meters", "vehicles", "backfill"])
    simulate.add_argument("--out", help="city: write the registry document here instead of stdout")
    simulate.add_argument("--days", type=float, default=30, help="backfill: how many days of history")
    simulate.add_argument("--kinds", nargs="+", default=["meters", "vehicles"], choices=["meters", "vehicles"])
    simulate.add_argument("--start", help="meters|vehicles: sim time to start at (RFC 3339; default now)")
    simulate.set_defaults(func=_simulate)

    run = sub.add_parser("run", help="everything together with simulators (the README's first command)")
    run.add_argument("--seconds", type=float, default=0, help="stop after this long (0: until Ctrl-C)")
    run.add_argument("--history-days", type=float, default=7, help="days of meter history to backfill first")
    run.set_defaults(func=_run)

    drill = sub.add_parser(
        "drill", help="faults against a running `yiwang run` mid-stream: what was sent, stored, doubled, recovery"
    )
    drill.add_argument(
        "drills", nargs="*", metavar="DRILL", help="collector, database, broker, supervisor, worker (default: all)"
    )
    drill.add_argument("--messages", type=int, default=2000, help="readings and positions in each drill's stream")
    drill.add_argument("--rate", type=float, default=200, help="messages a second")
    drill.add_argument(
        "--recovery-seconds", type=float, default=120, help="the most a recovery may take before it counts as failed"
    )
    drill.set_defaults(func=_drill)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    settings = Settings()
    from yiwang import logs  # noqa: PLC0415

    # First: every line of the process is in the chosen format, the warnings of finding the local passwords included.
    logs.configure(settings.log_level, settings.log_format, f"yiwang {args.command}")
    _local_passwords(settings)
    for name in Settings.unknown_environment():
        log.warning("%s is not a setting (yiwang/settings.py) and is ignored", name)
    result: int = args.func(settings, args)
    return result


if __name__ == "__main__":
    sys.exit(main())
