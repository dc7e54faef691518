"""The `yiwang` command: one entry point for the stack, the database, the collector, the API and the simulators."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Coroutine
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from yiwang.settings import Settings

if TYPE_CHECKING:
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


def _migrate(settings: Settings, _args: argparse.Namespace) -> int:
    from db.migrate import migrate  # noqa: PLC0415

    applied = migrate(settings.database_url)
    print(f"applied {len(applied)} migration(s)" + "".join(f"\n  {m.version:04d} {m.name}" for m in applied))
    return 0


def _registry_import(settings: Settings, args: argparse.Namespace) -> int:
    from db.registry import RegistryDocument  # noqa: PLC0415

    document = RegistryDocument.model_validate_json(Path(args.file).read_bytes())
    counts = asyncio.run(_import(settings, document))
    print("imported " + ", ".join(f"{n} {kind}" for kind, n in counts.items()))
    return 0


async def _import(settings: Settings, document: object) -> dict[str, int]:
    import psycopg  # noqa: PLC0415

    from db.registry import RegistryDocument, import_document  # noqa: PLC0415

    assert isinstance(document, RegistryDocument)
    async with await psycopg.AsyncConnection.connect(settings.database_url) as conn:
        return await import_document(conn, document)


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
        tally = asyncio.run(
            publisher.backfill(settings, city, end - timedelta(days=args.days), end, kinds=tuple(args.kinds))
        )
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


def _api(settings: Settings, _args: argparse.Namespace) -> int:
    import uvicorn  # noqa: PLC0415

    from api.app import create_app  # noqa: PLC0415

    uvicorn.run(
        create_app(settings), host=settings.api_host, port=settings.api_port, log_level=settings.log_level.lower()
    )
    return 0


def _run(settings: Settings, args: argparse.Namespace) -> int:
    """Everything together: the stack, the schema, the simulated city, collector, API and simulators."""
    _stack(settings, argparse.Namespace(action="up"))
    _migrate(settings, args)
    city_file = settings.home / "city.json"
    _simulate(settings, argparse.Namespace(what="city", out=str(city_file)))
    _registry_import(settings, argparse.Namespace(file=str(city_file)))
    me = [sys.executable, "-m", "yiwang.cli"]
    logs = settings.home / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    children: dict[str, subprocess.Popen[bytes]] = {}

    def start(name: str, *argv: str) -> subprocess.Popen[bytes]:
        with (logs / f"{name}.log").open("ab") as log_file:
            children[name] = subprocess.Popen([*me, *argv], stdout=log_file, stderr=subprocess.STDOUT)
        return children[name]

    start("collector", "collect")
    start("api", "api")
    _wait_for_health(f"http://{settings.metrics_host}:{settings.metrics_port}/health", children["collector"])
    if args.history_days > 0:
        # Meters report every 15 minutes: without some history an energy view would start empty.
        print(f"putting {args.history_days:g} days of meter history in through MQTT ...", flush=True)
        history = [*me, "simulate", "backfill", "--days", str(args.history_days), "--kinds", "meters"]
        with (logs / "backfill.log").open("ab") as log_file:
            subprocess.run(history, stdout=log_file, stderr=subprocess.STDOUT, check=True)
    start("meters", "simulate", "meters")
    start("vehicles", "simulate", "vehicles")
    print(
        f"""
Yiwang is running with {settings.sim_institutions} simulated institutions and {settings.sim_vehicles} vehicles.
  API and its docs    http://{settings.api_host}:{settings.api_port}/docs
  collector metrics   http://{settings.metrics_host}:{settings.metrics_port}/metrics  (health: /health)
  database            psql {settings.database_url}
                      {_SQL_HINT}
  broker              mosquitto_sub -h {settings.mqtt_host} -p {settings.mqtt_port} -t '{settings.topic_root}/#' -v
  logs                {logs}/
Stop with Ctrl-C (the stack keeps running: `yiwang stack down` stops it).""",
        flush=True,
    )
    stopping = False

    def _stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    if args.seconds:
        deadline = time.monotonic() + args.seconds
    try:
        while not stopping and (not args.seconds or time.monotonic() < deadline):
            for name, child in children.items():
                if child.poll() is not None:
                    print(f"{name} exited with {child.returncode}; see {logs}/{name}.log", file=sys.stderr)
                    stopping = True
            time.sleep(0.5)
    finally:
        for child in children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children.values():
            try:
                child.wait(20)
            except subprocess.TimeoutExpired:
                child.kill()
    return 0


def _wait_for_health(url: str, child: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise SystemExit(f"the collector exited with {child.returncode} before it was healthy")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own loopback endpoint
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"the collector was not healthy within {seconds:.0f} s ({url})")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="yiwang", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    stack = sub.add_parser("stack", help="local TimescaleDB and Mosquitto as real processes under YIWANG_HOME")
    stack.add_argument("action", choices=["up", "down", "status"])
    stack.set_defaults(func=_stack)

    db = sub.add_parser("db", help="database schema")
    db.add_argument("action", choices=["migrate"])
    db.set_defaults(func=_migrate)

    registry = sub.add_parser("registry", help="the registry of organisations, institutions, meters, vehicles")
    registry.add_argument("action", choices=["import"])
    registry.add_argument("file", help="a registry document (JSON), e.g. from `yiwang simulate city`")
    registry.set_defaults(func=_registry_import)

    sub.add_parser("collect", help="run a collector (MQTT to TimescaleDB)").set_defaults(func=_collect)
    sub.add_parser("api", help="run the HTTP API").set_defaults(func=_api)

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
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    settings = Settings()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for name in Settings.unknown_environment():
        log.warning("%s is not a setting (yiwang/settings.py) and is ignored", name)
    result: int = args.func(settings, args)
    return result


if __name__ == "__main__":
    sys.exit(main())
