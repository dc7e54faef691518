"""bench/gateway: JT/T 808 terminals through the gateway to the database, beside the direct MQTT path of the same run;
then the gateway's memory per idle connection.

    .venv/bin/python -m bench.gateway            # the full run: 20,000 idle terminals; 3 to 11 minutes on 2 cores
    .venv/bin/python -m bench.gateway --quick    # a small run, about a minute (figures are rough)

Starts its own TimescaleDB and Mosquitto (as bench.ingest does), registers the vehicles v0.. with terminal ids,
and runs `yiwang collect` and `yiwang gateway jt808` as their own processes, as the README's commands run them.

Throughput, for 0x0200 (one fix a frame) and for 0x0704 (a blind-zone batch of fixes a frame), each path with a
fresh collector and empty tables:

- direct MQTT: the same fixes as position payloads, published at QoS 1 by bench.loadgen (pre-built packets on a
  raw socket) while the collector runs: messages/s acknowledged by the broker, positions/s committed.
- gateway: terminals over TCP from one asyncio process (bench.terminals: register, authenticate, then each keeps a
  few reports unanswered) -> gateway -> broker -> collector -> database: frames/s answered (the gateway answers a
  report only after the broker's PUBACK), positions/s committed.

Both are timed from the first byte sent to the collector's last commit; the ratio is gateway / direct. Every
fix has its own time, so afterwards the rows must be exactly the fixes sent: none lost, none stored twice, none
published twice (the collector's duplicate count), no dead letter.

Memory: a fresh gateway, K terminals connected and authenticated (from several processes, a few thousand
connections each), then idle; the gateway's resident set (VmRSS) before and after, per connection. Then one
heartbeat on each shows that every connection is still open and authenticated.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import multiprocessing as mp
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import psycopg

from bench import loadgen, terminals
from bench.ingest import _load, _metrics, _session, _stop, _tail
from bench.terminals import Plan
from db.migrate import migrate
from db.registry import import_document
from domain.jt808.location import Location
from domain.registry import Organisation, RegistryDocument, Vehicle
from domain.topics import subscriptions, topic
from gateway import payload
from yiwang.stack import Stack, free_port, port_open

ROOT = "bench"
HOST = "127.0.0.1"
BATCH = 1000
STORED = "yiwang_collector_rows_stored_total"
DUPLICATES = "yiwang_collector_rows_duplicate_total"
LAST_COMMIT = "yiwang_collector_last_commit_timestamp"
POLL_SECONDS = 0.1
STALL_SECONDS = 60.0
# Why 20 KiB: a connection's own state in the gateway is a socket object, an asyncio transport and stream, the
# framer's buffer (empty between frames) and the terminal's session (phone, vehicle, serial): a few KiB in CPython.
# 20 KiB leaves room for a read buffer and still puts a city's 20,000 terminals under 400 MiB, a small share of a
# 2 GiB host that also runs the broker and the collector.
IDLE_BOUND_BYTES = 20 * 1024
# Why 2,000 frames/s: 20,000 vehicles all driving and reporting every 10 s (terminals' usual interval while moving
# is 10-30 s) send 2,000 0x0200 a second.
FRAMES_TARGET = 2000
PER_PROCESS = 5000  # idle terminals per client process (each holds one file per connection)
FILES_MARGIN = 64  # files the gateway needs beside its connections: listener, database, broker, logs, libraries


@dataclass
class Run:
    """One path's run of one kind of frame."""

    path: str  # "direct MQTT" or "gateway"
    kind: str  # "0x0200" or "0x0704"
    frames: int  # messages (direct) or frames (gateway)
    positions: int
    answered_seconds: float  # first byte to last PUBACK (direct) or last 0x8001 (gateway)
    stored_seconds: float  # first byte to the collector's last commit
    sender_cpu: float | None = None  # share of a core the terminals' process used
    problems: list[str] = field(default_factory=list)

    @property
    def frame_rate(self) -> float:
        return self.frames / self.answered_seconds

    @property
    def position_rate(self) -> float:
        return self.positions / self.stored_seconds


@dataclass
class Memory:
    terminals: int
    wanted: int
    limit: int  # the gateway's open-files limit
    before_kib: int
    after_kib: int
    gateway_files: int
    log_in_seconds: float
    heartbeats: int
    idle_cpu: float  # share of a core the gateway used while every terminal was idle
    idle_seconds: float  # over this window
    resends: int  # log-in messages the terminals sent again for want of an answer
    problems: list[str] = field(default_factory=list)

    @property
    def per_connection(self) -> float:
        return (self.after_kib - self.before_kib) * 1024 / self.terminals


def published(vehicle: str, fixes: list[Location], *, blind: bool) -> bytes:
    """The payload the gateway publishes for these fixes (gateway/payload.py), so both paths carry the same bytes."""
    items = [payload.item(vehicle, fix, blind=blind) for fix in fixes]
    (one,) = payload.payloads(items, max_bytes=1 << 24, max_items=len(items))
    return one


def direct_messages(vehicles: int, plan: Plan) -> list[loadgen.Message]:
    """The plan's fixes as MQTT messages, a frame's fixes in one message; vehicles interleaved, each in order."""
    per_vehicle = [plan.fixes(v) for v in range(vehicles)]
    out: list[loadgen.Message] = []
    for n in range(plan.frames):
        for v in range(vehicles):
            fixes = per_vehicle[v][n]
            name = topic(ROOT, "vehicle", f"v{v}", "position")
            if n < plan.reports:
                out.append((name, published(f"v{v}", fixes[:1], blind=False)))
            else:
                out.append((name, published(f"v{v}", fixes, blind=True)))
    return out


async def _register(url: str, vehicles: int) -> None:
    document = RegistryDocument(
        organisations=[Organisation(id="bench", name="benchmark unit")],
        vehicles=[
            Vehicle(
                id=f"v{i}",
                organisation_id="bench",
                plate=f"B{i:05d}",
                energy="gasoline",
                terminal_id=terminals.phone(i),
            )
            for i in range(vehicles)
        ],
    )
    async with await psycopg.AsyncConnection.connect(url) as conn:
        await import_document(conn, document)


def _vm_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


class Bench:
    def __init__(self, stack: Stack, home: Path, vehicles: int) -> None:
        self.stack = stack
        self.home = home
        self.vehicles = vehicles
        self.url = stack.postgres.url
        self.port = stack.mosquitto.port
        self.jt808_port = free_port()

    def _env(self, **extra: str) -> dict[str, str]:
        return {
            **os.environ,
            "YIWANG_DATABASE_URL": self.url,
            "YIWANG_MQTT_PORT": str(self.port),
            "YIWANG_MQTT_TOPIC_ROOT": ROOT,
            "YIWANG_LOG_LEVEL": "WARNING",
            **extra,
        }

    def reset_tables(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute("TRUNCATE position, live_position, dead_letter")
        self.forget_terminals()

    def forget_terminals(self) -> None:
        """Void every terminal's code, as `yiwang gateway forget` does: the bench's terminals are new devices each
        run (they keep no code), and the gateway refuses a registration for a phone that holds one."""
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute("UPDATE terminal_registration SET code_sha256 = NULL")

    @contextlib.contextmanager
    def _process(self, name: str, argv: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
        log = self.home / f"{name}.log"
        with log.open("ab") as out:
            proc = subprocess.Popen([sys.executable, "-m", "yiwang.cli", *argv], env=env, stdout=out, stderr=out)
        try:
            yield proc
        finally:
            _stop(proc)

    @contextlib.contextmanager
    def collector(self) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
        """A fresh collector whose session exists before it starts (so nothing published meanwhile is missed)."""
        client_id = "yiwang-collector-bench-gateway"
        filters = subscriptions(ROOT)
        _session(self.port, client_id, filters, v5=False, keep=True)
        metrics_port = free_port()
        env = self._env(
            YIWANG_MQTT_CLIENT_ID=client_id,
            YIWANG_METRICS_PORT=str(metrics_port),
            YIWANG_BATCH_SIZE=str(BATCH),
            YIWANG_MQTT_RECEIVE_MAXIMUM=str(4 * BATCH),
        )
        with self._process("collector", ["collect"], env) as proc:
            _until(lambda: _metrics(metrics_port).get("yiwang_collector_mqtt_connected") == 1, proc, "collector")
            yield metrics_port, proc
        _session(self.port, client_id, filters, v5=False, keep=False)

    @contextlib.contextmanager
    def gateway(self, **settings: str) -> Iterator[subprocess.Popen[bytes]]:
        metrics_port = free_port()
        env = self._env(
            **settings,
            YIWANG_JT808_HOST=HOST,
            YIWANG_JT808_PORT=str(self.jt808_port),
            YIWANG_GATEWAY_METRICS_PORT=str(metrics_port),
            YIWANG_GATEWAY_CLIENT_ID="yiwang-gateway-bench",
        )
        with self._process("gateway", ["gateway", "jt808"], env) as proc:
            _until(lambda: port_open(self.jt808_port, HOST) and port_open(metrics_port, HOST), proc, "gateway")
            yield proc

    def _stored(self, metrics_port: int, positions: int, proc: subprocess.Popen[bytes]) -> float:
        """Wait until the collector has committed `positions` new rows: the time of its last commit."""
        last, changed = -1.0, time.monotonic()
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"collector exited with {proc.returncode}: {_tail(self.home / 'collector.log')}")
            metrics = _metrics(metrics_port)
            stored = metrics.get(STORED, 0.0)
            if stored >= positions:
                return metrics[LAST_COMMIT]
            if stored != last:
                last, changed = stored, time.monotonic()
            elif time.monotonic() - changed > STALL_SECONDS:
                raise RuntimeError(f"collector stalled at {stored:,.0f} of {positions:,} positions")
            time.sleep(POLL_SECONDS)

    def direct(self, kind: str, plan: Plan) -> Run:
        messages = direct_messages(self.vehicles, plan)
        self.reset_tables()
        with self.collector() as (metrics_port, proc):
            published = loadgen.publish(self.port, messages, broker_pid=self.stack.mosquitto.pid())
            started = time.time() - published.seconds
            committed = self._stored(metrics_port, self.vehicles * plan.positions, proc)
            duplicates = _metrics(metrics_port).get(DUPLICATES, 0.0)
        positions = self.vehicles * plan.positions
        run = Run("direct MQTT", kind, len(messages), positions, published.seconds, committed - started)
        run.problems = self.check(plan, duplicates)
        return run

    def through_gateway(self, kind: str, plan: Plan, window: int) -> Run:
        self.reset_tables()
        ctx = mp.get_context("fork")
        with self.gateway(), self.collector() as (metrics_port, proc):
            ours, theirs = ctx.Pipe()
            vehicles = range(self.vehicles)
            worker = ctx.Process(
                target=terminals.run_reports,
                args=((HOST, self.jt808_port), vehicles, plan, window, theirs),
                daemon=True,
            )
            worker.start()
            _expect(ours, "ready", worker)
            ours.send("go")
            sent = _expect(ours, terminals.Sent, worker)
            worker.join(30)
            problems = [f"refused or unanswered: {r}" for r in sent.refused]
            if sent.answered != sent.frames:
                problems.insert(0, f"{sent.frames - sent.answered:,} of {sent.frames:,} frames not answered success")
                committed = time.time()
            else:
                committed = self._stored(metrics_port, self.vehicles * plan.positions, proc)
            duplicates = _metrics(metrics_port).get(DUPLICATES, 0.0)
        run = Run(
            "gateway",
            kind,
            sent.frames,
            self.vehicles * plan.positions,
            sent.seconds,
            committed - sent.started,
            sender_cpu=sent.cpu_seconds / sent.seconds,
        )
        run.problems = problems + self.check(plan, duplicates)
        return run

    def check(self, plan: Plan, duplicates: float) -> list[str]:
        """The rows are exactly the fixes sent, each once; nothing published twice; no dead letter."""
        expected = {(f"v{v}", f.time) for v in range(self.vehicles) for fixes in plan.fixes(v) for f in fixes}
        with psycopg.connect(self.url) as conn:
            rows = conn.execute("SELECT vehicle_id, time FROM position").fetchall()
            dead = conn.execute("SELECT count(*) FROM dead_letter").fetchone()
        stored = {(vehicle, at.astimezone(UTC)) for vehicle, at in rows}
        problems = []
        if lost := len(expected - stored):
            problems.append(f"{lost:,} of {len(expected):,} fixes not stored")
        if extra := len(stored - expected):
            problems.append(f"{extra:,} rows that were never sent")
        if len(rows) != len(stored):
            problems.append(f"{len(rows) - len(stored):,} rows stored twice")
        if duplicates:
            problems.append(f"{duplicates:,.0f} positions published twice (the collector's duplicates)")
        if dead and dead[0]:
            problems.append(f"{dead[0]:,} dead letters")
        return problems

    def memory(self, wanted: int, idle_seconds: float) -> Memory:
        """Connect and authenticate `wanted` terminals to a fresh gateway (as many as its open-files limit allows),
        read its resident set before and after, and its CPU over `idle_seconds` while they are idle."""
        ctx = mp.get_context("fork")
        # Logging in 20,000 terminals takes longer than a silent terminal is kept (jt808_idle_seconds): the bench's
        # terminals send nothing until the heartbeat that ends the run, where real ones send one every minute.
        with self.gateway(YIWANG_JT808_IDLE_SECONDS="3600", YIWANG_JT808_MAX_CONNECTIONS=str(wanted + 1000)) as gw:
            limit = terminals.open_files_limit(gw.pid)
            # Warm up: the code paths, the database pool and the broker connection, before the baseline is read.
            self._hold(ctx, range(min(100, wanted)), lambda _: None)
            count = min(wanted, limit - terminals.open_files(gw.pid) - FILES_MARGIN)
            before = _vm_rss_kib(gw.pid)
            seen: dict[str, Any] = {}

            def measure(held: list[terminals.Held]) -> None:
                seen["after"] = _vm_rss_kib(gw.pid)
                seen["files"] = terminals.open_files(gw.pid)
                seen["seconds"] = max(h.seconds for h in held)
                seen["resends"] = sum(h.resends for h in held)
                cpu = loadgen.cpu_seconds(gw.pid)
                time.sleep(idle_seconds)  # a window to measure over, not a wait for a condition
                seen["cpu"] = (loadgen.cpu_seconds(gw.pid) - cpu) / idle_seconds

            held = self._hold(ctx, range(count), measure)
        problems = [e for h in held for e in h.errors][:5]
        heartbeats = sum(h.heartbeats for h in held)
        if heartbeats != count:
            problems.insert(0, f"{count - heartbeats:,} of {count:,} idle terminals did not answer a heartbeat")
        return Memory(
            count,
            wanted,
            limit,
            before,
            seen["after"],
            seen["files"],
            seen["seconds"],
            heartbeats,
            seen["cpu"],
            idle_seconds,
            seen["resends"],
            problems,
        )

    def _hold(self, ctx: Any, vehicles: Sequence[int], measure: Any) -> list[terminals.Held]:
        """Hold `vehicles`' terminals connected and authenticated, `measure` them idle, heartbeat each, close."""
        self.forget_terminals()
        shares = max(1, math.ceil(len(vehicles) / PER_PROCESS))
        size = math.ceil(len(vehicles) / shares)
        workers: list[tuple[Connection, Any]] = []
        for i in range(shares):
            ours, theirs = ctx.Pipe()
            part = vehicles[i * size : (i + 1) * size]
            worker = ctx.Process(target=terminals.hold, args=(HOST, self.jt808_port, part, 25, theirs), daemon=True)
            worker.start()
            workers.append((ours, worker))
        try:
            held = [_expect(ours, terminals.Held, worker) for ours, worker in workers]
            measure(held)
            for ours, _ in workers:
                ours.send("heartbeat")
            held = [_expect(ours, terminals.Held, worker) for ours, worker in workers]
            for ours, _ in workers:
                ours.send("close")
        finally:
            for _, worker in workers:
                worker.join(60)
                if worker.is_alive():
                    worker.kill()
        return held


def _expect(pipe: Connection, what: Any, worker: Any) -> Any:
    """The next thing a worker sends, which must be `what` (a value or a type); its exception is raised here. No
    deadline: a worker gives up on its own (a terminal's unanswered message), and logging 20,000 terminals in takes
    many minutes on a busy machine."""
    while not pipe.poll(1):
        if not worker.is_alive():
            raise RuntimeError(f"terminal process exited with {worker.exitcode}")
    got = pipe.recv()
    if isinstance(got, BaseException):
        raise RuntimeError(f"terminal process failed: {got!r}") from got
    if (isinstance(what, type) and not isinstance(got, what)) or (not isinstance(what, type) and got != what):
        raise RuntimeError(f"terminal process sent {got!r}")
    return got


def _until(ready: Any, proc: subprocess.Popen[bytes], name: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not ready():
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{name} not ready in {seconds:.0f} s")
        time.sleep(0.1)


QUICK = {"vehicles": 20, "reports": 20, "batches": 5, "items": 20, "idle": 500, "idle_seconds": 5, "rounds": 1}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--vehicles", type=int, default=200, help="terminals (and vehicles) of the throughput runs")
    p.add_argument("--reports", type=int, default=250, help="0x0200 frames per terminal")
    p.add_argument("--batches", type=int, default=25, help="0x0704 frames per terminal")
    p.add_argument("--items", type=int, default=20, help="fixes per 0x0704 frame (one packet holds about 25)")
    p.add_argument("--window", type=int, default=8, help="reports a terminal keeps unanswered")
    p.add_argument("--idle", type=int, default=20_000, help="idle terminals of the memory run")
    p.add_argument("--idle-seconds", type=float, default=20, help="window of the idle gateway's CPU")
    p.add_argument("--rounds", type=int, default=2, help="runs of each path, interleaved; the best counts")
    p.add_argument("--quick", action="store_true", help=f"a small run for a smoke test: {QUICK}")
    args = p.parse_args(argv)
    if args.quick:
        for key, value in QUICK.items():
            setattr(args, key, value)
    limit = terminals.raise_open_files()

    home = Path(tempfile.mkdtemp(prefix="yiwang-bench-gateway-"))
    home.chmod(0o755)
    # A private loopback broker: anonymous, so that logging in is not part of any figure.
    stack = Stack.at(home, free_port(), free_port(), inflight=4 * BATCH, anonymous=True)
    print(
        f"bench/gateway on {os.cpu_count()} cores, load average {_load()}, open files limit {limit:,}: stack in {home}",
        flush=True,
    )
    began = time.monotonic()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    stack.up()
    try:
        migrate(stack.postgres.url)
        vehicles = max(args.vehicles, args.idle)
        asyncio.run(_register(stack.postgres.url, vehicles))
        bench = Bench(stack, home, args.vehicles)
        plans = {"0x0200": Plan(reports=args.reports), "0x0704": Plan(batches=args.batches, items=args.items)}
        runs: list[Run] = []
        for round_ in range(args.rounds):
            for kind, plan in plans.items():
                print(f"  {kind} direct MQTT (round {round_ + 1} of {args.rounds})", flush=True)
                runs.append(bench.direct(kind, plan))
                print(f"    {_run(runs[-1])}", flush=True)
                print(f"  {kind} gateway (round {round_ + 1} of {args.rounds})", flush=True)
                runs.append(bench.through_gateway(kind, plan, args.window))
                print(f"    {_run(runs[-1])}", flush=True)
        print(f"  memory: {args.idle:,} idle terminals", flush=True)
        memory = bench.memory(args.idle, args.idle_seconds)
    finally:
        stack.down()
        shutil.rmtree(home, ignore_errors=True)

    ok = report(runs, memory, args)
    print(f"\n(whole run {time.monotonic() - began:.0f} s; load average now {_load()})")
    return 0 if ok else 1


def _run(r: Run) -> str:
    problems = f"  PROBLEMS: {'; '.join(r.problems)}" if r.problems else ""
    return (
        f"{r.frames:,} frames, {r.positions:,} positions: {r.frame_rate:,.0f} frames/s answered,"
        f" {r.position_rate:,.0f} positions/s stored{problems}"
    )


def _best(runs: list[Run], path: str, kind: str) -> tuple[Run, list[float]]:
    group = [r for r in runs if r.path == path and r.kind == kind]
    return max(group, key=lambda r: r.position_rate), [r.position_rate for r in group]


def report(runs: list[Run], memory: Memory, args: argparse.Namespace) -> bool:
    """Print the figures and the PASS/FAIL lines; False when a result is broken (a fix lost, stored or published
    twice, a frame unanswered, an idle terminal dropped)."""
    print()
    print(
        f"{args.vehicles} terminals (vehicles), QoS 1 throughout; each path with a fresh collector and empty tables,"
        f" timed from the first byte sent to the collector's last commit; best of {args.rounds} interleaved round(s)"
        f" (spread = (best - worst) / best). Gateway terminals keep {args.window} reports unanswered."
    )
    print()
    head = f"{'path':34} {'frames':>9} {'positions':>10} {'frames/s':>9} {'positions/s':>12}"
    print(f"{head} {'÷ direct':>9} {'spread':>7}")
    for kind in ("0x0200", "0x0704"):
        direct, direct_rates = _best(runs, "direct MQTT", kind)
        gateway, gateway_rates = _best(runs, "gateway", kind)
        for r, rates in ((direct, direct_rates), (gateway, gateway_rates)):
            spread = (max(rates) - min(rates)) / max(rates) if len(rates) > 1 else 0.0
            label = f"{kind} {r.path}"
            ratio = r.position_rate / direct.position_rate
            print(
                f"{label:34} {r.frames:9,} {r.positions:10,} {r.frame_rate:9,.0f} {r.position_rate:12,.0f}"
                f" {ratio:9.2f} {spread:7.0%}"
            )
        cpu = f"{gateway.sender_cpu:.0%}" if gateway.sender_cpu is not None else "-"
        print(f"  {kind}: the terminals' process used {cpu} of a core (the rest is the gateway, broker, collector, db)")
    print("  direct frames/s: messages acknowledged by the broker (PUBACK); gateway frames/s: frames answered 0x8001")

    print()
    print(
        f"memory: {memory.terminals:,} idle terminals connected and authenticated in {memory.log_in_seconds:.1f} s"
        f" ({memory.terminals / memory.log_in_seconds:,.0f}/s; {memory.resends:,} log-in messages sent again for"
        f" want of an answer; the gateway held {memory.gateway_files:,} open files, limit {memory.limit:,})"
    )
    print(
        f"  gateway VmRSS {memory.before_kib / 1024:,.1f} MiB -> {memory.after_kib / 1024:,.1f} MiB:"
        f" {memory.per_connection / 1024:,.1f} KiB per idle connection"
        " (the kernel's socket buffers come on top: they are not in a process's resident set)"
    )
    print(f"  idle, the gateway used {memory.idle_cpu:.1%} of a core (over {memory.idle_seconds:.0f} s)")
    if memory.terminals < memory.wanted:
        print(
            f"  capped at {memory.terminals:,} of {memory.wanted:,}: this machine's hard limit on open files is"
            f" {memory.limit:,}; a gateway for N terminals needs a limit of N + {FILES_MARGIN} at least"
            " (systemd LimitNOFILE, Docker --ulimit nofile)"
        )

    print()
    broken = [f"{r.kind} {r.path}: {p}" for r in runs for p in r.problems] + [f"memory: {p}" for p in memory.problems]
    gateway = _best(runs, "gateway", "0x0200")[0]
    slowest = min(gateway.frame_rate, gateway.position_rate)
    # (text, passed, whether a failure is a broken result rather than a missed target)
    checks = [
        ("every fix stored exactly once, nothing published twice, every frame answered success", not broken, True),
        (f"every idle terminal answered a heartbeat ({memory.heartbeats:,})", not memory.problems, True),
        (
            f"gateway 0x0200 >= {FRAMES_TARGET:,} frames/s answered and positions/s stored ({slowest:,.0f})",
            slowest >= FRAMES_TARGET,
            False,
        ),
        (
            f"< {IDLE_BOUND_BYTES // 1024} KiB of gateway memory per idle connection"
            f" ({memory.per_connection / 1024:.1f} KiB)",
            memory.per_connection < IDLE_BOUND_BYTES,
            False,
        ),
    ]
    for problem in broken[:10]:
        print(f"  BROKEN  {problem}")
    for text, passed, _ in checks:
        print(f"  {'PASS' if passed else 'FAIL'}  {text}")
    return all(passed for _, passed, must in checks if must)


if __name__ == "__main__":
    sys.exit(main())
