"""bench/ingest: messages/s and rows/s from broker to committed rows, beside baselines of the same run.

    .venv/bin/python -m bench.ingest            # the full run, a few minutes on 2 cores
    .venv/bin/python -m bench.ingest --quick    # a small run, under a minute (figures are rough)

Starts its own TimescaleDB and Mosquitto (as the tests do). For each consumer it registers the
consumer's persistent session, fills the broker with pre-built QoS 1 messages (bench.loadgen, whose
rate is printed: it must exceed every consumer's), then starts the consumer and lets it drain the
session. The publisher never runs beside the consumer it measures, so no figure measures the
publisher. Every consumer is timed over the same window: from the moment it has 10 % of the messages
to the moment it has all of them. The baselines note these moments themselves; for the collector,
each scrape of its metrics gives the count of committed messages together with the time of the
commit that made it, so its window runs exactly from its first commit past 10 % to its last. Then
the latency from publish to commit at a fixed rate, with the publisher live.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import orjson
import paho.mqtt.client as paho
import psycopg
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from bench import loadgen
from bench.baselines import WINDOW_START, peak_rss_mb, window_start
from collector.contract import Limits
from collector.families import PARSERS, route
from db import ingest
from db.migrate import migrate
from db.registry import import_document
from domain.registry import Institution, Meter, Organisation, RegistryDocument, Vehicle
from domain.topics import POSITION, READING, Family, subscriptions, topic
from yiwang.stack import Stack, free_port

ROOT = "bench"
VEHICLES = 2000
METERS = 2000
BATCH = 1000
# Both set together after each commit (collector/writer.py, Writer._observe).
COMMITTED = "yiwang_collector_messages_received_total"
LAST_COMMIT = "yiwang_collector_last_commit_timestamp"
# Each scrape costs the collector CPU (4.5 % of its samples at 0.1 s, py-spy on a busy machine), which no baseline
# pays; the timing does not depend on it (the window's ends are commits, each with its own time).
POLL_SECONDS = 0.5
SHORT_SECONDS = 1.0  # a timed window shorter than this is flagged as too short to trust
STALL_SECONDS = 60.0  # a collector that commits nothing new for this long has failed
# The ingest margin: the collector's msg/s at least this share of the paho count-only ceiling, in every round.
MARGIN = {"3.1.1": 0.6, "5": 0.5}


@dataclass
class Result:
    name: str
    messages: int  # in the timed window
    seconds: float
    rows: int  # in the timed window; 0 for count-only consumers
    peak_rss_mb: float | None = None
    fill: loadgen.Published | None = None  # how its session was filled
    rates: list[float] = field(default_factory=list)  # msg/s of every round, when best of several
    slow_fill: bool = False  # in some round, the fill was not faster than the drain

    @property
    def spread(self) -> float:
        """(best - worst) / best over the rounds."""
        return (max(self.rates) - min(self.rates)) / max(self.rates) if len(self.rates) > 1 else 0.0

    @property
    def rate(self) -> float:
        return self.messages / self.seconds

    @property
    def row_rate(self) -> float:
        return self.rows / self.seconds


@dataclass
class Latency:
    rate: float
    p50: float
    p99: float
    worst: float
    samples: int
    peak_rss_mb: float | None


@dataclass
class Generator:
    """What the load generator achieved."""

    fills: list[loadgen.Published] = field(default_factory=list)  # into offline persistent sessions
    no_subscriber: loadgen.Published | None = None
    live: loadgen.Published | None = None  # into a live paho counting subscriber...
    live_consumer: Result | None = None  # ...and what that subscriber counted meanwhile


def _position(i: int, vehicle: int, *, time_ms: int | str) -> dict[str, object]:
    return {
        "time": time_ms,
        "latitude": 29.25 + (vehicle % 100) * 1e-3 + i * 1e-6,
        "longitude": 117.15 + (vehicle // 100) * 1e-3,
        "speed": 36.5,
        "heading": 90.0,
        "odometer": 10000.0 + i * 0.1,
        "ignition": True,
        "satellites": 11,
    }


def single_messages(count: int) -> list[loadgen.Message]:
    """Half readings, half positions, one per message, spread over many devices."""
    start_ms = 1_767_225_600_000  # 2026-01-01
    out: list[loadgen.Message] = []
    for i in range(count):
        if i % 2:
            v = i % VEHICLES
            body = _position(i, v, time_ms=start_ms + (i // VEHICLES) * 10_000)
            out.append((topic(ROOT, "vehicle", f"v{v}", "position"), orjson.dumps(body)))
        else:
            m = i % METERS
            body = {"time": start_ms + (i // METERS) * 900_000, "register": 1000.0 + i}
            out.append((topic(ROOT, "meter", f"m{m}", "reading"), orjson.dumps(body)))
    return out


def resent_messages(messages: list[loadgen.Message], *, changed: bool) -> list[loadgen.Message]:
    """The same messages sent again (a QoS 1 redelivery, a blind-zone resend): as they were or, `changed`, each
    reading with another register (a conflict the collector records, db/ingest.py)."""
    if not changed:
        return list(messages)
    out: list[loadgen.Message] = []
    for name, payload in messages:
        body = orjson.loads(payload)
        if isinstance(body, dict) and "register" in body:
            body["register"] += 0.5
        out.append((name, orjson.dumps(body)))
    return out


def batched_messages(count: int, items: int) -> list[loadgen.Message]:
    """Blind-zone uploads: `items` positions of one vehicle per message."""
    start_ms = 1_767_225_600_000
    out: list[loadgen.Message] = []
    for i in range(count):
        v = i % VEHICLES
        base = (i // VEHICLES) * items
        body = [{**_position(base + k, v, time_ms=start_ms + (base + k) * 10_000), "blind": True} for k in range(items)]
        out.append((topic(ROOT, "vehicle", f"v{v}", "position"), orjson.dumps(body)))
    return out


def _session(port: int, client_id: str, filters: list[str], *, v5: bool, keep: bool) -> None:
    """Connect once as `client_id`: with `keep`, create its persistent session and subscriptions (so
    that the broker queues what is published next); without, end the session and all it queued."""
    connected, subscribed = threading.Event(), threading.Event()
    if v5:
        client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=paho.MQTTv5)
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = 0xFFFFFFFF if keep else 0
        client.connect("127.0.0.1", port, clean_start=not keep, properties=props)
    else:
        client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=not keep)
        client.connect("127.0.0.1", port)
    client.on_connect = lambda *_: connected.set()
    client.on_subscribe = lambda *_: subscribed.set()
    client.loop_start()
    try:
        if not connected.wait(10):
            raise TimeoutError(f"{client_id}: no CONNACK")
        if keep:
            client.subscribe([(f, 1) for f in filters])
            if not subscribed.wait(10):
                raise TimeoutError(f"{client_id}: no SUBACK")
    finally:
        client.disconnect()
        client.loop_stop()


class Bench:
    def __init__(self, stack: Stack, log: Path) -> None:
        self.stack = stack
        self.url = stack.postgres.url
        self.port = stack.mosquitto.port
        self.log = log
        self.filters = subscriptions(ROOT)
        self.generator = Generator()

    @property
    def broker_pid(self) -> int | None:
        return self.stack.mosquitto.pid()

    def reset_tables(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute("TRUNCATE reading, position, live_position, dead_letter, reading_conflict")

    def fill(self, client_id: str, messages: list[loadgen.Message], *, v5: bool = False) -> loadgen.Published:
        """Register the consumer's session and queue every message in it while it is away."""
        _session(self.port, client_id, self.filters, v5=v5, keep=True)
        done = loadgen.publish(self.port, messages, broker_pid=self.broker_pid)
        print(f"    fill: {_published(done)}", flush=True)
        self.generator.fills.append(done)
        return done

    def drop(self, client_id: str, *, v5: bool = False) -> None:
        """End a consumer's session, so that later fills do not queue into it too."""
        _session(self.port, client_id, self.filters, v5=v5, keep=False)

    def probe_generator(self, messages: list[loadgen.Message]) -> None:
        """The generator into nobody (the broker drops each message) and into a live paho subscriber."""
        done = loadgen.publish(self.port, messages, broker_pid=self.broker_pid)
        self.generator.no_subscriber = done
        print(f"    into no subscriber: {_published(done)}", flush=True)
        client_id = "live-paho"
        _session(self.port, client_id, self.filters, v5=False, keep=True)
        with self._baseline_process("paho", client_id, len(messages)) as proc:
            self.generator.live = loadgen.publish(self.port, messages, broker_pid=self.broker_pid)
            self.generator.live_consumer = self._baseline_result("paho live", proc, stores_rows=False)
        self.drop(client_id)
        print(
            f"    into a live paho counting subscriber: {_published(self.generator.live)};"
            f" the subscriber counted {self.generator.live_consumer.rate:,.0f} msg/s",
            flush=True,
        )

    def baseline(self, kind: str, messages: list[loadgen.Message]) -> Result:
        client_id = f"baseline-{kind}"
        fill = self.fill(client_id, messages)
        with self._baseline_process(kind, client_id, len(messages)) as proc:
            result = self._baseline_result(kind, proc, stores_rows=kind == "insert")
        result.fill = fill
        self.drop(client_id)
        print(f"    {_result(result)}", flush=True)
        return result

    def _baseline_process(self, kind: str, client_id: str, count: int) -> _Child:
        argv = [sys.executable, "-m", "bench.baselines", kind, "--port", str(self.port), "--count", str(count)]
        argv += ["--client-id", client_id, "--db", self.url, "--topics", *self.filters]
        return _Child(argv, self.log / f"{client_id}.log")

    @staticmethod
    def _baseline_result(name: str, child: _Child, *, stores_rows: bool) -> Result:
        """The baseline's figures; the INSERT baseline stores one row per message."""
        data = orjson.loads(child.last_line(timeout=900))
        rows = data["messages"] if stores_rows else 0
        return Result(name, data["messages"], data["seconds"], rows, data["peak_rss_mb"])

    def collector(
        self,
        name: str,
        messages: list[loadgen.Message],
        rows: int,
        *,
        protocol: str = "3.1.1",
        preloaded: list[loadgen.Message] | None = None,
    ) -> Result:
        """Drain `messages` with the collector; `preloaded`: messages whose rows are in the tables beforehand, so
        that every batch meets rows already there (the path of resends)."""
        self.reset_tables()
        if preloaded is not None:
            asyncio.run(_store(self.url, preloaded))
        client_id = "yiwang-collector-" + "".join(c if c.isalnum() else "-" for c in name)
        v5 = protocol == "5"
        fill = self.fill(client_id, messages, v5=v5)
        metrics_port = free_port()
        env = self._env(client_id, metrics_port, protocol)
        with (self.log / f"{client_id}.log").open("ab") as log:
            proc = subprocess.Popen([sys.executable, "-m", "yiwang.cli", "collect"], env=env, stdout=log, stderr=log)
        try:
            first, started, ended = _watch(metrics_port, len(messages), proc, self.log / f"{client_id}.log")
            peak = peak_rss_mb(proc.pid)
        finally:
            _stop(proc)
        self.drop(client_id, v5=v5)
        with psycopg.connect(self.url) as conn:
            stored = conn.execute("SELECT (SELECT count(*) FROM reading) + (SELECT count(*) FROM position)").fetchone()
        if stored is None or stored[0] != rows:
            raise RuntimeError(f"{name}: {stored} rows stored, expected {rows}")
        counted = len(messages) - first
        result = Result(name, counted, ended - started, round(rows * counted / len(messages)), peak, fill)
        print(f"    {_result(result)}", flush=True)
        return result

    def latency(self, rate: float, seconds: float) -> Latency:
        self.reset_tables()
        client_id = "yiwang-collector-latency"
        metrics_port = free_port()
        out = self.log / "latency.json"
        env = self._env(client_id, metrics_port, "3.1.1")
        with (self.log / f"{client_id}.log").open("ab") as log:
            proc = subprocess.Popen([sys.executable, "-m", "bench.probe", str(out)], env=env, stdout=log, stderr=log)
        try:
            _wait(lambda: _metric(metrics_port, "yiwang_collector_mqtt_connected") == 1, 30)
            body = orjson.dumps(_position(0, 0, time_ms="TIME")).replace(b'"TIME"', b"TIME")
            topics = [topic(ROOT, "vehicle", f"v{v}", "position") for v in range(VEHICLES)]
            loadgen.publish_timed(self.port, topics, body, rate=rate, seconds=seconds)
            total = int(rate * seconds)
            _wait(lambda: (_metric(metrics_port, COMMITTED) or 0) >= total, 60)
            peak = peak_rss_mb(proc.pid)
        finally:
            _stop(proc)
        self.drop(client_id)
        samples = sorted(orjson.loads(out.read_bytes()))
        quantiles = statistics.quantiles(samples, n=100)
        return Latency(rate, quantiles[49], quantiles[98], samples[-1], len(samples), peak)

    def _env(self, client_id: str, metrics_port: int, protocol: str) -> dict[str, str]:
        return {
            **os.environ,
            "YIWANG_DATABASE_URL": self.url,
            "YIWANG_MQTT_PORT": str(self.port),
            "YIWANG_MQTT_TOPIC_ROOT": ROOT,
            "YIWANG_MQTT_CLIENT_ID": client_id,
            "YIWANG_MQTT_PROTOCOL": protocol,
            "YIWANG_METRICS_PORT": str(metrics_port),
            "YIWANG_BATCH_SIZE": str(BATCH),
            "YIWANG_MQTT_RECEIVE_MAXIMUM": str(4 * BATCH),
            "YIWANG_LOG_LEVEL": "WARNING",
        }


class _Child:
    """A baseline process: started on entry, ready once it has subscribed, killed on exit if still running."""

    def __init__(self, argv: list[str], log: Path) -> None:
        self.argv = argv
        self.log = log

    def __enter__(self) -> _Child:
        with self.log.open("ab") as err:
            self.proc = subprocess.Popen(self.argv, stdout=subprocess.PIPE, stderr=err)
        line = self._line(timeout=60)
        if orjson.loads(line) != {"ready": True}:
            raise RuntimeError(f"{self.argv[3]}: unexpected {line!r}")
        return self

    def _line(self, timeout: float) -> bytes:
        stdout = self.proc.stdout
        assert stdout is not None
        box: list[bytes] = []
        reader = threading.Thread(target=lambda: box.append(stdout.readline()), daemon=True)
        reader.start()
        reader.join(timeout)
        if not box or not box[0]:
            raise RuntimeError(f"{self.argv[3]} gave no result (exit {self.proc.poll()}; log {self.log})")
        return box[0]

    def last_line(self, timeout: float) -> bytes:
        line = self._line(timeout)
        if self.proc.wait(30) != 0:
            raise RuntimeError(f"{self.argv[3]} failed with {self.proc.returncode} (log {self.log})")
        return line

    def __exit__(self, *_: object) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def _watch(
    metrics_port: int, expected: int, proc: subprocess.Popen[bytes], log: Path, *, every: float = POLL_SECONDS
) -> tuple[int, float, float]:
    """Poll the collector's metrics until it has committed `expected` messages.

    Each scrape gives the count of committed messages and the time of the commit that made it (both
    are set in one step after each commit, and a scrape runs on the same event loop), so the window
    needs no interpolation: it starts at the first commit seen that reaches 10 % of the messages.

    Returns:
        The count at the window's start, and the wall-clock times of its first and last commit.

    Raises:
        RuntimeError: the collector exited, or committed nothing new for STALL_SECONDS.

    `every`: the scrapes' interval; a batch that the collector commits within one interval is too short to time.
    """
    mark = window_start(expected)
    first: tuple[int, float] | None = None
    last_count, last_change = -1, time.monotonic()
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"collector exited with {proc.returncode}: {_tail(log)}")
        metrics = _metrics(metrics_port)
        count = int(metrics.get(COMMITTED, 0))
        if count != last_count:
            last_count, last_change = count, time.monotonic()
        elif time.monotonic() - last_change > STALL_SECONDS:
            raise RuntimeError(f"collector stalled at {count:,} of {expected:,} committed: {_tail(log)}")
        if count >= mark:
            at = metrics[LAST_COMMIT]
            if first is None:
                first = (count, at)
            if count >= expected:
                if count == first[0]:
                    raise RuntimeError("the collector committed 10 % to 100 % at once: use more messages")
                return first[0], first[1], at
        time.sleep(every)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM (the collector then writes and acknowledges what it holds), SIGKILL if that hangs."""
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _tail(log: Path, lines: int = 5) -> str:
    try:
        return " | ".join(log.read_text(errors="replace").strip().splitlines()[-lines:]) or "(log empty)"
    except FileNotFoundError:
        return "(no log)"


def _metric(port: int, name: str) -> float | None:
    return _metrics(port).get(name)


def _metrics(port: int) -> dict[str, float]:
    """The collector's metrics, each summed over its labels; empty while it does not answer."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as response:
            text = response.read().decode()
    except OSError:
        return {}
    totals: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            name = name.split("{", 1)[0]
            totals[name] = totals.get(name, 0.0) + float(value)
    return totals


def _wait(predicate: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("benchmark step did not finish")
        time.sleep(0.05)


def _load() -> str:
    """The 1-minute load average: work of others on the machine slows every figure."""
    return f"{os.getloadavg()[0]:.2f}"


def _best(group: list[Result]) -> Result:
    """The fastest of a consumer's rounds (interference from the rest of the machine only slows a
    run down), with the rates of all of them."""
    best = max(group, key=lambda r: r.rate)
    slow = any(r.fill is not None and r.fill.rate <= r.rate for r in group)
    return replace(best, rates=[r.rate for r in group], slow_fill=slow)


def _published(p: loadgen.Published) -> str:
    cpu = f", Mosquitto at {p.broker_cpu:.0%} of a core" if p.broker_cpu is not None else ""
    return f"{p.messages:,} messages at {p.rate:,.0f} msg/s{cpu}"


def _result(r: Result) -> str:
    rows = f", {r.row_rate:,.0f} rows/s" if r.rows else ""
    short = "  (window under 1 s: too short to trust)" if r.seconds < SHORT_SECONDS else ""
    return f"{r.rate:,.0f} msg/s{rows} over {r.messages:,} messages in {r.seconds:.2f} s{short}"


async def _store(url: str, messages: list[loadgen.Message]) -> None:
    """Store the rows of `messages` as the collector would, without it (parsed by the collector's parsers)."""
    received_at = datetime.now(UTC)
    rows: dict[Family, list[Any]] = {READING: [], POSITION: []}
    for name, payload in messages:
        family, device_id = route(ROOT, name)
        parsed, _ = PARSERS[family](device_id, payload, received_at, Limits())
        rows[family].extend(parsed)
    async with await psycopg.AsyncConnection.connect(url) as conn:
        await ingest.insert_readings(conn, rows[READING])
        await ingest.insert_positions(conn, rows[POSITION])
        await conn.commit()


async def _register_devices(url: str) -> None:
    document = RegistryDocument(
        organisations=[Organisation(id="bench", name="benchmark unit")],
        institutions=[Institution(id="bench", organisation_id="bench", name="benchmark", category="agency")],
        meters=[
            Meter(id=f"m{i}", institution_id="bench", energy_type="electricity", unit="kWh") for i in range(METERS)
        ],
        vehicles=[
            Vehicle(id=f"v{i}", organisation_id="bench", plate=f"B{i:05d}", energy="gasoline") for i in range(VEHICLES)
        ],
    )
    async with await psycopg.AsyncConnection.connect(url) as conn:
        await import_document(conn, document)


QUICK = {
    "rounds": 1,
    "messages": 60_000,
    "insert_messages": 3_000,
    "batched_messages": 20_000,
    "items": 10,
    "latency_seconds": 3.0,
}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--messages", type=int, default=200_000, help="messages per single-item throughput run")
    p.add_argument("--insert-messages", type=int, default=20_000, help="messages for the per-message INSERT run")
    p.add_argument("--batched-messages", type=int, default=20_000, help="messages of the batched run")
    p.add_argument("--items", type=int, default=50, help="positions per message in the batched run")
    p.add_argument("--latency-rate", type=float, default=5000, help="msg/s of the latency run")
    p.add_argument("--latency-seconds", type=float, default=10)
    p.add_argument("--rounds", type=int, default=2, help="runs of each consumer, interleaved; the best counts")
    p.add_argument("--quick", action="store_true", help=f"a small run for a smoke test: {QUICK}")
    args = p.parse_args(argv)
    if args.quick:
        for key, value in QUICK.items():
            setattr(args, key, value)

    home = Path(tempfile.mkdtemp(prefix="yiwang-bench-"))
    home.chmod(0o755)
    stack = Stack.at(
        # A private loopback broker: anonymous, so that logging in is not part of any figure.
        home,
        free_port(),
        free_port(),
        shared_buffers="2GB",
        inflight=4 * BATCH,
        anonymous=True,
    )
    print(f"bench/ingest on {os.cpu_count()} cores, load average {_load()}: stack in {home}", flush=True)
    began = time.monotonic()
    # SIGTERM (e.g. from `timeout`) unwinds like Ctrl-C, so that the stack below is stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    stack.up()
    try:
        migrate(stack.postgres.url)
        asyncio.run(_register_devices(stack.postgres.url))
        bench = Bench(stack, home)
        single = single_messages(args.messages)
        batched = batched_messages(args.batched_messages, args.items)
        print("  load generator", flush=True)
        bench.probe_generator(single)
        steps: list[tuple[str, Callable[[], Result]]] = [
            (f"{kind} count-only", partial(bench.baseline, kind, single))
            for kind in ("aiomqtt-iterator", "aiomqtt-queue")
        ]
        steps.append(("per-message INSERT", partial(bench.baseline, "insert", single[: args.insert_messages])))
        # paho just before the collectors it is the ceiling of: a busy machine's load changes within a round.
        steps.append(("paho count-only", partial(bench.baseline, "paho", single)))
        for protocol in ("3.1.1", "5"):
            name = f"collector MQTT {protocol}"
            steps.append((name, partial(bench.collector, name, single, len(single), protocol=protocol)))
        # Every message a resend of rows already stored: the staging path, with the same values and with readings
        # whose registers differ (recorded as conflicts).
        for changed in (False, True):
            name = "collector MQTT 3.1.1, all resent" + (", readings changed" if changed else "")
            resent = resent_messages(single, changed=changed)
            steps.append((name, partial(bench.collector, name, resent, len(single), preloaded=single)))
        for protocol in ("3.1.1", "5"):
            name = f"collector MQTT {protocol}, {args.items} positions/message"
            rows = len(batched) * args.items
            steps.append((name, partial(bench.collector, name, batched, rows, protocol=protocol)))
        runs: dict[str, list[Result]] = {}
        for round_ in range(args.rounds):
            for label, step in steps:
                print(f"  {label} (round {round_ + 1} of {args.rounds}, load average {_load()})", flush=True)
                bench.reset_tables()
                result = step()
                runs.setdefault(result.name, []).append(result)
        # The ceiling first in the table, as every ratio is to it.
        results = sorted((_best(group) for group in runs.values()), key=lambda r: r.name != "paho")
        print(f"  latency at {args.latency_rate:,.0f} msg/s", flush=True)
        latency = bench.latency(args.latency_rate, args.latency_seconds)
    finally:
        stack.down()
        shutil.rmtree(home, ignore_errors=True)

    report(results, latency, bench.generator, args)
    print(f"\n(whole run {time.monotonic() - began:.0f} s; load average now {_load()})")
    return 0


def report(results: list[Result], latency: Latency, generator: Generator, args: argparse.Namespace) -> None:
    by = {r.name: r for r in results}
    ceiling = by["paho"].rate
    per_message = by["insert"].rate
    names = {
        "paho": "paho count-only (ceiling)",
        "aiomqtt-iterator": "aiomqtt iterator count-only",
        "aiomqtt-queue": "aiomqtt queue_type count-only",
        "insert": "per-message INSERT (aiomqtt iterator)",
    }
    print()
    print(
        f"Each consumer drains its persistent session, filled beforehand with {args.messages:,} single-item"
        f" messages ({args.insert_messages:,} for INSERT) or {args.batched_messages:,} messages of {args.items}"
        f" positions; QoS 1, the collector acks after commit; each is timed from {WINDOW_START:.0%} to 100%"
        f" of its messages; the best of {args.rounds} interleaved round(s), spread = (best - worst) / best."
        " Fill: the load generator's rate into that session."
    )
    print()
    head = f"{'consumer':44} {'msg/s':>8} {'rows/s':>8} {'÷ paho':>7} {'x INSERT':>9} {'peak MB':>8} {'fill msg/s':>11}"
    print(f"{head} {'spread':>7}")
    for r in results:
        rows = f"{r.row_rate:8,.0f}" if r.rows else f"{'-':>8}"
        peak = f"{r.peak_rss_mb:8.0f}" if r.peak_rss_mb else f"{'-':>8}"
        fill = f"{r.fill.rate:11,.0f}" if r.fill else f"{'-':>11}"
        fill += f" {r.spread:7.0%}" if len(r.rates) > 1 else f" {'-':>7}"
        notes = "  (window under 1 s)" if r.seconds < SHORT_SECONDS else ""
        if r.slow_fill:
            notes += "  (a fill was slower than the drain)"
        label = names.get(r.name, r.name)
        print(
            f"{label:44} {r.rate:8,.0f} {rows} {r.rate / ceiling:7.2f} {r.rate / per_message:9.1f} {peak} {fill}{notes}"
        )
    for r in results:
        if r.name.endswith("positions/message"):
            print(f"  {r.name}: {r.row_rate / by['insert'].row_rate:.1f} x the rows/s of per-message INSERT")
    print(
        "  peak MB while draining: Mosquitto 2.0.11 sends a resumed session's whole backlog once the first PUBACK"
        " arrives (ignoring max_inflight_messages and Receive Maximum); the collector bounds what it holds by"
        " pausing its reader above YIWANG_INBOX_LIMIT, the baselines hold what they read."
    )

    print()
    fills = generator.fills
    cpu = [f.broker_cpu for f in fills if f.broker_cpu is not None]
    slowest = min(fills, key=lambda f: f.rate)
    print("load generator (raw-socket MQTT 3.1.1 QoS 1, pre-built packets, 1 process, window 10,000):")
    print(
        f"  into an offline persistent session: {slowest.rate:,.0f} .. {max(f.rate for f in fills):,.0f} msg/s"
        f" over {len(fills)} fills; Mosquitto at {statistics.median(cpu):.0%} of a core (median)"
    )
    if generator.no_subscriber is not None:
        print(f"  into no subscriber: {_published(generator.no_subscriber)}")
    if generator.live is not None and generator.live_consumer is not None:
        print(
            f"  into a live paho counting subscriber: {_published(generator.live)};"
            f" the subscriber counted {generator.live_consumer.rate:,.0f} msg/s"
        )
    behind = [r.name for r in results if r.slow_fill]
    print(f"  every fill outran its consumer's drain: {'no, not for ' + ', '.join(behind) if behind else 'yes'}")

    print()
    print(
        f"publish -> commit at {latency.rate:,.0f} msg/s, live ({latency.samples:,} messages):"
        f" p50 {latency.p50:.0f} ms, p99 {latency.p99:.0f} ms, max {latency.worst:.0f} ms;"
        f" collector peak {latency.peak_rss_mb or 0:.0f} MB"
    )
    print()
    iterator = by["aiomqtt-iterator"].rate
    for protocol in ("3.1.1", "5"):
        collector = by[f"collector MQTT {protocol}"].rate
        # Each round's collector against the same round's paho: the rest of the machine slows both alike.
        ratios = [c / p for c, p in zip(by[f"collector MQTT {protocol}"].rates, by["paho"].rates, strict=True)]
        margin = MARGIN[protocol]
        checks = [
            (
                f">= {margin} x paho count-only in every round ({', '.join(f'{r:.2f}' for r in ratios)})",
                min(ratios) >= margin,
            ),
            (f"> aiomqtt iterator count-only ({collector / iterator:.2f})", collector > iterator),
            (f">= 5 x per-message INSERT ({collector / per_message:.1f})", collector >= 5 * per_message),
        ]
        for text, ok in checks:
            print(f"  {'PASS' if ok else 'FAIL'}  collector MQTT {protocol} {text}")


if __name__ == "__main__":
    sys.exit(main())
