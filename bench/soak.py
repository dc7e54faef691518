"""bench/soak: a city's traffic for half an hour through the real processes, and whether anything wears out.

    .venv/bin/python -m bench.soak              # 30 minutes: 20,000 vehicles every 10 s, 3,000 meters, 100 map clients
    .venv/bin/python -m bench.soak --quick      # 2 minutes of a smaller city, for a smoke test (figures are rough)

Starts its own TimescaleDB and Mosquitto (yiwang/stack.py; an anonymous broker on loopback, as the other benchmarks'),
registers the city (vehicles v0.. in units of 100, meters m0.. three to an institution), writes an hour of history
for every vehicle and a day for a few (bench/dispatch.py's backfill, packed as the worker packs), then runs the
processes `yiwang run` runs, each as its own database role: `yiwang collect`, `yiwang supervise`, `yiwang worker` and
`yiwang api`. Then, in processes of their own so that none slows another's clock:

- the map clients: `--clients` WebSocket clients following the whole network (half offering permessage-deflate, as
  browsers do); `--measuring` of them parse every message and sample the fan-out lag (publish to receipt) of every
  tenth vehicle;
- the API users: a one-day track every second, the whole live map every 2 s and the day's dispatch report every 15 s,
  first for `--baseline-seconds` before any load (the quiet baseline, measured in the same run), then during it;
- the load: one MQTT 3.1.1 QoS 1 connection (bench/loadgen.py's raw packets) publishing each vehicle's position every
  10 s (driving a circle of 1 km, stamped with the moment it is sent) and each meter's reading every 15 minutes of
  device time, accelerated (`--acceleration` 60: every 15 s of the clock; the readings' device times lie in the past,
  so the collector takes them as late data and the worker recounts their days).

Every `--report-seconds` it prints each process's memory (resident set; the database's private memory of all its
processes, its share of shared_buffers apart), the ingest lag (now minus the newest position stored: positions are
stamped when sent), the collector's receipt-to-commit p99 and the supervisor's, the worker's backlogs, the API's p95s
and its event loop's lag p95 (how late it ran a timer: what each turn of a request waited), the fan-out p99, the rows
stored and the fixes the supervisor judged a second, how far the load is behind its schedule, and where the CPU went
(the city's processes, the bench's own, the machine's busy share and runnable threads). A load that cannot keep to
its schedule (a starved machine) stops at the schedule's end all the same: the counts are of what it sent. At the
end, once the collector has stored the rest (or made no progress for a minute): what was sent against what was
stored, device by device (nothing lost, nothing doubled, no dead letter, no message the broker dropped from a full
session queue), each process's memory over the last window against the first after the warm-up, the lag likewise, the
API's event loop lag, and the dispatch targets over the whole run. PASS or FAIL per target; the exit status is 1 when
anything was lost or doubled, or a process died (the targets' misses are the machine's or the code's: the lines say
which were missed).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import multiprocessing as mp
import os
import queue
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from multiprocessing.sharedctypes import SynchronizedArray
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import orjson
import psycopg
from prometheus_client.parser import text_string_to_metric_families
from websockets.asyncio.client import connect

from bench.dispatch import TARGET_LAG_P99_S, TARGET_LIVE_P95_MS, TARGET_TRACK_P95_MS, _history, _pack
from bench.loadgen import Connection, cpu_seconds, packet_id, publish_packet
from bench.services import DISPATCHER, _process, _wait_http, register_fleet
from db.migrate import migrate
from db.registry import import_document
from domain.registry import Institution, Meter, Organisation, RegistryDocument
from domain.topics import topic
from yiwang.settings import Settings
from yiwang.stack import Stack, free_port

ROOT = "bench"
INTERVAL_S = 10.0  # each vehicle reports every 10 s
METER_INTERVAL_S = 900.0  # each meter every 15 minutes of device time
VEHICLES_PER_UNIT = 100
METERS_PER_INSTITUTION = 3
CIRCLE_M = 1000.0  # each vehicle drives a circle of this radius around a place of its own
# Flat memory: the last window's mean resident set at most this much above the first window's (after the warm-up).
# A leak of a hundred bytes per message would add 2,000 msg/s x 600 s x 100 B = 120 MB between the two windows.
MEMORY_GROWTH_MAX = 0.10
MEMORY_FLOOR_MB = 5.0  # ... or this much, for a process whose whole size is a few MB (the broker's)
# No growing lag: the last window's median ingest lag at most twice the first's, or one second above it.
LAG_GROWTH_FACTOR = 2.0
LAG_GROWTH_S = 1.0
SHIP_S = 5.0  # how often the client and user processes hand their samples over
PROCESSES = ("collector", "supervisor", "worker", "api")
# How late the API's event loop ran its timer: what each turn of a request waited behind (api/metrics.py).
_LOOP_LAG = "yiwang_api_event_loop_lag_seconds_bucket"


@dataclass(frozen=True)
class City:
    """What the load sends: each vehicle every 10 s and each meter every accelerated 15 minutes, for `seconds`."""

    vehicles: int
    meters: int
    seconds: float
    acceleration: float

    @property
    def meter_interval_s(self) -> float:
        """Seconds of the clock between two readings of one meter."""
        return METER_INTERVAL_S / self.acceleration

    @property
    def positions(self) -> int:
        return self.vehicles * int(self.seconds / INTERVAL_S)

    @property
    def readings(self) -> int:
        return self.meters * int(self.seconds / self.meter_interval_s)

    def readings_device_start(self, wall_start: datetime) -> datetime:
        """The device time of each meter's first reading: far enough back that the last is not in the future."""
        return wall_start - timedelta(seconds=METER_INTERVAL_S * (self.readings // max(self.meters, 1) + 1))


# ---- the load ----------------------------------------------------------------------------------------------------


class _Drive:
    """Each vehicle's circle: a centre, a speed and where on the circle it starts (the same numbers every run)."""

    def __init__(self, vehicles: int) -> None:
        self.centre = [(29.20 + (v % 100) * 0.002, 117.10 + (v // 100) * 0.001) for v in range(vehicles)]
        self.speed = [20.0 + (v * 7) % 61 for v in range(vehicles)]  # km/h, under every speed limit
        self.phase = [(v * 0.618) % (2 * math.pi) for v in range(vehicles)]
        self.odometer = [1_000.0 + (v * 37) % 90_000 for v in range(vehicles)]

    def body(self, v: int, k: int, at_ms: int) -> bytes:
        """The k-th position of vehicle v, on its circle, `speed` km/h x 10 s along from the (k-1)-th."""
        step = self.speed[v] / 3.6 * INTERVAL_S
        angle = self.phase[v] + k * step / CIRCLE_M
        lat, lon = self.centre[v]
        metres_lat = 1 / 111_195
        return orjson.dumps(
            {
                "time": at_ms,
                "latitude": round(lat + CIRCLE_M * metres_lat * math.sin(angle), 6),
                "longitude": round(lon + CIRCLE_M * metres_lat / math.cos(math.radians(lat)) * math.cos(angle), 6),
                "speed": self.speed[v],
                "heading": round(math.degrees(-angle) % 360, 1) % 360,  # 359.96 rounds to 360: north, 0
                "odometer": round(self.odometer[v] + k * step / 1000, 3),
                "ignition": True,
                "satellites": 11,
            }
        )


def _reading(m: int, j: int, device_start_ms: int) -> bytes:
    """Meter m's j-th reading: a register rising by 0.5-5.25 kWh every 15 minutes."""
    return orjson.dumps(
        {
            "time": device_start_ms + j * int(METER_INTERVAL_S * 1000),
            "register": round(1000 + m + j * (0.5 + (m % 20) * 0.25), 3),
        }
    )


# The load's progress, shared with the bench: positions and readings sent, messages acknowledged, messages behind the
# schedule at the last send, and 1 once every message sent is acknowledged.
_POSITIONS, _READINGS, _ACKED, _BEHIND, _DONE = range(5)


def _load(port: int, city: City, wall_start: float, device_start_ms: int, progress: SynchronizedArray[float]) -> None:
    """A process's body: the positions and readings of `city` on their schedule from `wall_start` (epoch seconds),
    until the schedule's end (a load that fell behind leaves the rest unsent: the counts are of what it sent), then
    until the broker acknowledged all of them. Messages go in a fixed order (vehicle i % vehicles, report
    i // vehicles), so that the first n sent say how many each device sent. Each device's messages go in order on the
    one connection; a vehicle's position is stamped with the moment it is sent (1 ms after its previous one if that
    moment came twice, when the load is behind), so the keys (device, time) are unique and the stamp is its publish
    time."""
    drive = _Drive(city.vehicles)
    vehicle_topics = [topic(ROOT, "vehicle", f"v{v}", "position") for v in range(city.vehicles)]
    meter_topics = [topic(ROOT, "meter", f"m{m}", "reading") for m in range(city.meters)]
    positions, readings = city.positions, city.readings
    conn = Connection(port, f"soak-load-{os.getpid()}", window=20_000)
    conn.expect(positions + readings)
    vehicle_rate = city.vehicles / INTERVAL_S
    meter_rate = city.meters / city.meter_interval_s
    last_ms = [0] * city.vehicles
    sent_v = sent_m = n = 0
    while (sent_v < positions or sent_m < readings) and time.time() - wall_start < city.seconds:
        elapsed = time.time() - wall_start
        # Message i of a kind is due i / rate seconds after the start; at most 5,000 a write, so progress shows.
        due_v = max(sent_v, min(positions, math.floor(elapsed * vehicle_rate) + 1, sent_v + 5_000))
        due_m = max(sent_m, min(readings, math.floor(elapsed * meter_rate) + 1, sent_m + 5_000))
        if due_v <= sent_v and due_m <= sent_m:
            time.sleep(0.005)  # the pace of the schedule, not a wait for a condition
            continue
        now_ms = int(time.time() * 1000)
        packets = []
        for i in range(sent_v, due_v):
            v, k = i % city.vehicles, i // city.vehicles
            at = last_ms[v] = max(now_ms, last_ms[v] + 1)
            packets.append(publish_packet(vehicle_topics[v], drive.body(v, k, at), packet_id(n)))
            n += 1
        for i in range(sent_m, due_m):
            m, j = i % city.meters, i // city.meters
            packets.append(publish_packet(meter_topics[m], _reading(m, j, device_start_ms), packet_id(n)))
            n += 1
        conn.send(b"".join(packets), len(packets))
        sent_v, sent_m = due_v, due_m
        elapsed = time.time() - wall_start
        progress[_POSITIONS], progress[_READINGS] = sent_v, sent_m
        progress[_ACKED] = conn.acked
        progress[_BEHIND] = max(0, min(positions, int(elapsed * vehicle_rate)) - sent_v) + max(
            0, min(readings, int(elapsed * meter_rate)) - sent_m
        )
    conn.wait_acked(600)
    progress[_ACKED] = conn.acked
    progress[_DONE] = 1
    conn.close()


# ---- the map clients -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Api:
    """What the clients and the users need of the API: its address, a dispatcher's token, where the load begins."""

    base: str
    token: str
    since: str  # fixes of the load are newer than this (RFC 3339, UTC): older ones are the history
    track_vehicles: int  # v0.. have a day of history
    zone: str  # the city's, for the report's local day

    @property
    def stream(self) -> str:
        return self.base.replace("http://", "ws://") + "/positions/stream"


@dataclass
class _Clients:
    """What one process's clients saw, handed over every SHIP_S: lags since the last hand-over; the rest in total."""

    lags: list[tuple[float, float]] = field(default_factory=list)  # (receipt, publish -> receipt), epoch seconds
    features: list[int] = field(default_factory=list)  # load fixes received, per measuring client
    alerts: int = 0  # alerts pushed to the measuring clients
    errors: list[str] = field(default_factory=list)


async def _follow(
    api: _Api, seen: _Clients, stop: Event, opened: Callable[[], None], *, me: int | None, deflate: bool
) -> None:
    """One client of the whole network; a measuring one (`me`: its index) parses every message as a map would. No
    keepalive pings from the client (as bench/dispatch.py's): a client seconds behind would hang up on its own."""
    async with connect(
        api.stream, compression="deflate" if deflate else None, max_size=None, open_timeout=120, ping_interval=None
    ) as ws:
        await ws.send(orjson.dumps({"type": "auth", "token": api.token}).decode())
        await ws.recv(decode=False)  # the snapshot
        opened()
        while not stop.is_set():
            try:
                async with asyncio.timeout(0.5):
                    raw = await ws.recv(decode=False)
            except TimeoutError:
                continue
            if me is None:
                continue
            now = time.time()
            message = orjson.loads(raw)
            seen.alerts += len(message.get("alerts", ()))
            for feature in message.get("features", ()):
                # UTC times of one format compare as text: cheaper than parsing each.
                if feature["properties"]["time"] > api.since:
                    seen.features[me] += 1
                    if feature["id"].endswith("0"):
                        fixed = datetime.fromisoformat(feature["properties"]["time"]).timestamp()
                        seen.lags.append((now, now - fixed))


def _clients(api: _Api, share: tuple[int, int], ready: Event, stop: Event, out: mp.Queue[Any]) -> None:
    """A process's body: `share` = (clients, of them measuring); every other one offers permessage-deflate."""
    count, measuring = share
    seen = _Clients(features=[0] * measuring)

    async def main() -> None:
        everyone = asyncio.Event()
        opened = 0

        def one_more() -> None:
            nonlocal opened
            opened += 1
            if opened == count:
                everyone.set()

        tasks = [
            asyncio.create_task(_follow(api, seen, stop, one_more, me=i if i < measuring else None, deflate=i % 2 == 0))
            for i in range(count)
        ]
        waiting = asyncio.create_task(everyone.wait())
        await asyncio.wait([waiting, *tasks], return_when=asyncio.FIRST_COMPLETED)  # all ready, or one failed
        ready.set()
        while not all(t.done() for t in tasks):
            await asyncio.wait(tasks, timeout=SHIP_S)
            out.put(("lags", seen.lags))
            seen.lags = []
        waiting.cancel()
        for t in tasks:
            if (problem := t.exception()) is not None:
                seen.errors.append(f"{type(problem).__name__}: {problem}")

    asyncio.run(main())
    out.put(("clients", seen))


# ---- the API users ---------------------------------------------------------------------------------------------

# What each user asks, and how often (seconds).
QUERIES = {"track": 1.0, "live": 2.0, "report": 15.0}


def _users(api: _Api, stop: Event, out: mp.Queue[Any]) -> None:
    """A process's body: the queries of QUERIES on their pace until `stop`; samples (query, epoch, ms) handed over
    every SHIP_S. The live map is timed to the last byte received, as a browser's network stack reads it."""
    http = httpx.Client(base_url=api.base, timeout=60, headers={"Authorization": f"Bearer {api.token}"})
    due = dict.fromkeys(QUERIES, time.monotonic())
    turn = 0
    samples: list[tuple[str, float, float]] = []
    failures: list[str] = []
    shipped = time.monotonic()

    def track() -> None:
        nonlocal turn
        turn += 1
        end = datetime.now(UTC)
        day = {"start": (end - timedelta(days=1)).isoformat(), "end": end.isoformat()}
        http.get(f"/vehicles/v{turn % api.track_vehicles}/track", params=day).raise_for_status()

    def live() -> None:
        with http.stream("GET", "/positions/live", headers={"Accept-Encoding": "identity"}) as response:
            response.raise_for_status()
            for _ in response.iter_raw():
                pass

    def report() -> None:
        today = datetime.now(ZoneInfo(api.zone)).date()
        period = {"start": today.isoformat(), "end": (today + timedelta(days=1)).isoformat()}
        http.get("/reports/dispatch", params=period).raise_for_status()

    asks = {"track": track, "live": live, "report": report}
    while not stop.is_set():
        name = min(due, key=due.__getitem__)
        ahead = due[name] - time.monotonic()
        if ahead > 0:
            time.sleep(min(ahead, 0.5))  # the users' pace, not a wait for a condition
            continue
        started = time.perf_counter()
        try:
            asks[name]()
        except httpx.HTTPError as exc:  # counted, and the user goes on asking
            failures.append(f"{name}: {type(exc).__name__}: {str(exc)[:200]}")
        else:
            samples.append((name, time.time(), (time.perf_counter() - started) * 1000))
        due[name] = max(due[name] + QUERIES[name], time.monotonic())
        if time.monotonic() - shipped > SHIP_S:
            out.put(("queries", samples))
            samples, shipped = [], time.monotonic()
    out.put(("queries", samples))
    out.put(("users", failures))


# ---- what the bench watches ------------------------------------------------------------------------------------


def _rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def _database(postmaster: int) -> tuple[float, float, float]:
    """The database's processes (the postmaster and its children): their private memory and their proportional share
    of the shared (shared_buffers fills by design up to its size as the tables grow: not judged), MB; and their CPU
    seconds so far (those of the connections that have closed are gone: the long-lived pools' stay)."""
    pids = [postmaster]
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == postmaster:
                pids.append(int(stat.parent.name))
    private = pss = 0
    cpu = sum(_cpu(pid) or 0.0 for pid in pids)
    for pid in pids:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                key, _, rest = line.partition(":")
                if key in ("Private_Clean", "Private_Dirty"):
                    private += int(rest.split()[0])
                elif key == "Pss":
                    pss += int(rest.split()[0])
    return private / 1024, (pss - private) / 1024, cpu


def _cpu(pid: int) -> float | None:
    """A process's CPU seconds so far (None: it is gone)."""
    with contextlib.suppress(OSError):
        return cpu_seconds(pid)
    return None


def _machine() -> tuple[float, float, int]:
    """The machine's busy and total CPU seconds so far (every core), and how many threads are runnable now."""
    busy = total = 0.0
    running = 0
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith("cpu "):
            ticks = [int(x) for x in line.split()[1:9]]
            total = sum(ticks) / os.sysconf("SC_CLK_TCK")
            busy = total - (ticks[3] + ticks[4]) / os.sysconf("SC_CLK_TCK")  # idle and iowait
        elif line.startswith("procs_running"):
            running = int(line.split()[1])
    return busy, total, running


Scraped = dict[str, dict[tuple[tuple[str, str], ...], float]]  # a process's samples by name and labels


def _scrape(url: str) -> Scraped:
    """A process's /metrics: each sample by name and labels."""
    out: Scraped = {}
    with contextlib.suppress(httpx.HTTPError):
        for family in text_string_to_metric_families(httpx.get(url, timeout=5).text):
            for sample in family.samples:
                out.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return out


def _percentile_of_buckets(
    now: dict[tuple[tuple[str, str], ...], float], before: dict[tuple[tuple[str, str], ...], float], p: float = 99
) -> float:
    """The p-th percentile of a histogram's observations between two scrapes, as the upper bound of its bucket (s);
    nan if none."""
    buckets = sorted((float(dict(labels)["le"]), value - before.get(labels, 0.0)) for labels, value in now.items())
    total = buckets[-1][1] if buckets else 0
    if total <= 0:
        return float("nan")
    for bound, count in buckets:
        if count >= p / 100 * total:
            return bound
    return float("inf")


class Lags:
    """The sampled fan-out lags in receipt order (one process measures), packed: a 30-minute run samples millions."""

    def __init__(self) -> None:
        self.at = array("d")  # receipt, epoch seconds
        self.lag = array("d")  # publish -> receipt, seconds

    def add(self, samples: list[tuple[float, float]]) -> None:
        for at, lag in samples:
            self.at.append(at)
            self.lag.append(lag)

    def between(self, start: float, end: float) -> list[float]:
        return self.lag[bisect_left(self.at, start) : bisect_left(self.at, end)].tolist()


@dataclass
class Sample:
    """One look at the running city."""

    at: float  # epoch seconds
    rss: dict[str, float | None]  # MB by process; the database's private part as "db"
    db_shared: float
    cpu: dict[str, float | None]  # CPU seconds so far by process, as `rss`, and the bench's own processes as "bench"
    machine: tuple[float, float, int]  # _machine()
    lag_s: float | None  # now - the newest position stored
    scraped: dict[str, Scraped]


def _quantile(values: list[float], p: int) -> float:
    if not values:
        return float("nan")
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


# ---- the processes ---------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _services(
    stack: Stack, home: Path, minutes: float
) -> Iterator[tuple[str, dict[str, subprocess.Popen[bytes]], dict[str, str]]]:
    """`yiwang collect`, `supervise`, `worker` and `api` on `stack`, each as its own database role as `yiwang run`
    starts them, until the block ends: the API's address, the processes, and each one's metrics URL."""
    ports = {name: free_port() for name in PROCESSES}
    api_port = free_port()
    env = {
        **os.environ,
        "YIWANG_HOME": str(home),
        "YIWANG_DATABASE_URL": stack.postgres.url,
        **{f"YIWANG_{name.upper()}_DATABASE_URL": stack.postgres.service_url(name) for name in PROCESSES},
        "YIWANG_MQTT_PORT": str(stack.mosquitto.port),
        "YIWANG_MQTT_TOPIC_ROOT": ROOT,
        "YIWANG_METRICS_PORT": str(ports["collector"]),
        "YIWANG_SUPERVISOR_METRICS_PORT": str(ports["supervisor"]),
        "YIWANG_WORKER_METRICS_PORT": str(ports["worker"]),
        "YIWANG_API_METRICS_PORT": str(ports["api"]),
        "YIWANG_API_PORT": str(api_port),
        "YIWANG_API_TOKEN_SECRET": secrets.token_urlsafe(48),
        "YIWANG_API_ACCESS_TOKEN_MINUTES": str(int(minutes) + 60),
        "YIWANG_LOG_LEVEL": "WARNING",
    }
    cli = [sys.executable, "-m", "yiwang.cli"]
    metrics = {name: f"http://127.0.0.1:{port}/metrics" for name, port in ports.items()}
    base = f"http://127.0.0.1:{api_port}"
    with contextlib.ExitStack() as running:
        procs = {
            name: running.enter_context(_process([*cli, command], env, home / f"{name}.log"))
            for name, command in zip(PROCESSES, ("collect", "supervise", "worker", "api"), strict=True)
        }
        for name in ("collector", "supervisor", "worker"):
            _wait_http(metrics[name].replace("/metrics", "/health"), procs[name])
        _wait_http(f"{base}/health", procs["api"])
        yield base, procs, metrics


async def _register(url: str, city: City, password: str) -> None:
    """The fleet and the dispatcher (bench/services.py), then the meters, three to an institution."""
    units = max(1, city.vehicles // VEHICLES_PER_UNIT)
    await register_fleet(url, city.vehicles, units, energy="gasoline", password=password)
    institutions = max(1, -(-city.meters // METERS_PER_INSTITUTION))
    document = RegistryDocument(
        organisations=[Organisation(id=f"u{u:03d}", name=f"单位 {u}") for u in range(units)],
        institutions=[
            Institution(id=f"i{i}", organisation_id=f"u{i % units:03d}", name=f"机构 {i}", category="agency")
            for i in range(institutions)
        ],
        meters=[
            Meter(id=f"m{m}", institution_id=f"i{m // METERS_PER_INSTITUTION}", energy_type="electricity", unit="kWh")
            for m in range(city.meters)
        ],
    )
    async with await psycopg.AsyncConnection.connect(url) as conn:
        await import_document(conn, document)


def _lag(url: str) -> float | None:
    """Now minus the newest position stored (the load stamps each with the moment it is sent), seconds."""
    with contextlib.suppress(psycopg.Error), psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
        row = conn.execute("SELECT extract(epoch FROM clock_timestamp() - max(time)) FROM live_position").fetchone()
        return float(row[0]) if row and row[0] is not None else None
    return None


@dataclass(frozen=True)
class Counts:
    """What was sent against what was stored, per device."""

    positions_sent: int
    positions_stored: int
    readings_sent: int
    readings_stored: int
    lost: int  # keys sent, summed over devices, not stored
    extra: int  # rows stored beyond what a device sent (a doubled key cannot be: each table's key forbids it)
    conflicts: int  # readings received again with another register (reading_conflict)
    dead_letters: int

    @property
    def ok(self) -> bool:
        return self.lost == 0 and self.extra == 0 and self.conflicts == 0 and self.dead_letters == 0


def _stored(url: str, since: datetime) -> tuple[dict[str, int], dict[str, int]]:
    """Rows per vehicle (fixes of the load: after `since`, the history's end) and per meter."""
    with psycopg.connect(url, autocommit=True) as conn:
        positions: dict[str, int] = dict(
            conn.execute("SELECT vehicle_id, count(*) FROM position WHERE time > %s GROUP BY 1", (since,)).fetchall()
        )
        readings: dict[str, int] = dict(conn.execute("SELECT meter_id, count(*) FROM reading GROUP BY 1").fetchall())
    return positions, readings


def _dropped(log: Path) -> list[str]:
    """The broker's notices that it dropped messages queued for a client: its session's queue was full
    (max_queued_messages or max_queued_bytes, yiwang/stack.py), the one way a confirmed message is lost there."""
    with contextlib.suppress(OSError):
        return [line for line in log.read_text(errors="replace").splitlines() if "are being dropped" in line]
    return []


def _taken(url: str, since: datetime) -> int:
    """Messages the collector has dealt with: rows of the load stored, and dead letters."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            """SELECT (SELECT count(*) FROM position WHERE time > %(since)s) + (SELECT count(*) FROM reading)
                      + (SELECT count(*) FROM dead_letter)""",
            {"since": since},
        ).fetchone()
    return int(row[0]) if row else 0


def _each(sent: int, devices: int) -> list[int]:
    """How many of the first `sent` messages of a kind each device sent (they take turns: i % devices)."""
    return [sent // devices + (d < sent % devices) for d in range(devices)]


def _count(url: str, city: City, since: datetime, sent: tuple[int, int]) -> Counts:
    """What was stored against what was sent, `sent` = (positions, readings), device by device."""
    positions, readings = _stored(url, since)
    expected = {f"v{v}": n for v, n in enumerate(_each(sent[0], city.vehicles))} | {
        f"m{m}": n for m, n in enumerate(_each(sent[1], city.meters))
    }
    stored = positions | readings
    lost = sum(max(0, n - stored.get(device, 0)) for device, n in expected.items())
    extra = sum(max(0, n - expected.get(device, 0)) for device, n in stored.items())
    with psycopg.connect(url, autocommit=True) as conn:
        conflicts = conn.execute("SELECT count(*) FROM reading_conflict").fetchone()
        dead = conn.execute("SELECT count(*) FROM dead_letter").fetchone()
    return Counts(
        sent[0],
        sum(positions.values()),
        sent[1],
        sum(readings.values()),
        lost,
        extra,
        int(conflicts[0]) if conflicts else 0,
        int(dead[0]) if dead else 0,
    )


# ---- the run ---------------------------------------------------------------------------------------------------

QUICK = {
    "minutes": 2.0,
    "vehicles": 2_000,
    "meters": 300,
    "clients": 10,
    "measuring": 4,
    "history_minutes": 10,
    "track_vehicles": 5,
    "warmup_minutes": 0.5,
    "baseline_seconds": 10.0,
    "report_seconds": 30.0,
    "drain_minutes": 2.0,
}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--minutes", type=float, default=30.0, help="of load")
    p.add_argument("--vehicles", type=int, default=20_000, help="each reporting every 10 s")
    p.add_argument("--meters", type=int, default=3_000, help="each reporting every 15 minutes of device time")
    p.add_argument("--acceleration", type=float, default=60.0, help="of the meters' device time (60: 15 min in 15 s)")
    p.add_argument("--clients", type=int, default=100, help="WebSocket clients following the whole network")
    p.add_argument("--measuring", type=int, default=10, help="of the clients, those that parse and sample the lag")
    p.add_argument("--client-processes", type=int, default=2, help="for the clients that do not measure")
    p.add_argument("--history-minutes", type=int, default=60, help="of fixes every 10 s for every vehicle, before")
    p.add_argument("--track-vehicles", type=int, default=20, help="vehicles with a day of history: the tracks asked")
    p.add_argument("--warmup-minutes", type=float, default=5.0, help="left out of the windows and the targets")
    p.add_argument("--baseline-seconds", type=float, default=30.0, help="of the users' queries before any load")
    p.add_argument("--sample-seconds", type=float, default=10.0, help="between two looks at memory and lag")
    p.add_argument("--report-seconds", type=float, default=60.0, help="between two printed lines")
    p.add_argument(
        "--drain-minutes", type=float, default=10.0, help="at most, after the load, for the collector to store the rest"
    )
    p.add_argument("--quick", action="store_true", help=f"a small run for a smoke test: {QUICK}")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.quick:
        for key, value in QUICK.items():
            setattr(args, key, value)
    args.track_vehicles = min(args.track_vehicles, args.vehicles)
    city = City(args.vehicles, args.meters, args.minutes * 60, args.acceleration)
    home = Path(tempfile.mkdtemp(prefix="yiwang-bench-soak-"))
    home.chmod(0o755)
    stack = Stack.at(home, free_port(), free_port(), anonymous=True)
    print(
        f"bench/soak on {os.cpu_count()} cores, load average {_loadavg()}: {args.minutes:g} min, {city.vehicles:,}"
        f" vehicles every {INTERVAL_S:g} s, {city.meters:,} meters every {METER_INTERVAL_S / 60:g} min of device time"
        f" ({city.meter_interval_s:g} s of the clock), {args.clients} map clients; stack in {home}",
        flush=True,
    )
    began = time.monotonic()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    stack.up()
    try:
        url = stack.postgres.url
        migrate(url)
        stack.postgres.grant()
        password = secrets.token_urlsafe(16)
        asyncio.run(_register(url, city, password))
        end = datetime.now(UTC) - timedelta(seconds=30)
        rows = _history(url, city.vehicles, int(args.history_minutes * 60 / INTERVAL_S), args.track_vehicles, end)
        hours = asyncio.run(_pack(url))
        print(f"  history: {rows:,} fixes, {hours:,} vehicle-hours packed", flush=True)
        with _services(stack, home, args.minutes) as (base, procs, metrics):
            run = _soak(args, city, stack, base=base, procs=procs, metrics=metrics, password=password, history_end=end)
    finally:
        stack.down()
        shutil.rmtree(home, ignore_errors=True)
    ok = _report(args, city, run)
    print(f"\n(whole run {time.monotonic() - began:.0f} s; load average now {_loadavg()})")
    return 0 if ok else 1


def _loadavg() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


@dataclass
class Run:
    """Everything the soak saw."""

    load_start: float  # epoch seconds
    load_end: float  # the last message acknowledged
    drained_s: float | None  # from the load's end until every message was stored; None: not within the time allowed
    samples: list[Sample]
    queries: list[tuple[str, float, float]]
    lags: Lags
    clients: list[_Clients]
    counts: Counts
    died: list[str]
    max_behind: float
    loads: list[float]  # the 1-minute load average at each line
    dropped: list[str]  # the broker's log lines saying it dropped a client's messages (its queue was full)
    quiet_api: tuple[Scraped, Scraped]  # the API's metrics when the quiet baseline began and when it ended


def _soak(
    args: argparse.Namespace,
    city: City,
    stack: Stack,
    *,
    base: str,
    procs: dict[str, subprocess.Popen[bytes]],
    metrics: dict[str, str],
    password: str,
    history_end: datetime,
) -> Run:
    """The clients, the users, then the load; a look every --sample-seconds, a line every --report-seconds."""
    login = httpx.post(f"{base}/auth/token", data={"username": DISPATCHER, "password": password}, timeout=60)
    login.raise_for_status()
    token = login.json()["access_token"]
    ctx = mp.get_context("fork")
    out: mp.Queue[Any] = ctx.Queue()
    stop = ctx.Event()
    since = history_end.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    api = _Api(base, token, since, args.track_vehicles, Settings().time_zone)
    others = args.clients - args.measuring
    shares = [(args.measuring, args.measuring)] + [
        (others // args.client_processes + (i < others % args.client_processes), 0)
        for i in range(args.client_processes)
    ]
    workers = []
    readies = []
    bench_pids: list[int] = []  # the clients', the users' and the load's: their CPU is the bench's, not the city's
    for share in shares:
        if share[0] == 0:
            continue
        ready = ctx.Event()
        worker = ctx.Process(target=_clients, args=(api, share, ready, stop, out), daemon=True)
        worker.start()
        bench_pids.append(worker.pid or 0)
        workers.append(worker)
        readies.append(ready)
    for ready in readies:
        if not ready.wait(180):
            raise TimeoutError("the WebSocket clients did not all get their snapshots")
    users = ctx.Process(target=_users, args=(api, stop, out), daemon=True)
    users.start()
    bench_pids.append(users.pid or 0)

    samples: list[Sample] = []
    queries: list[tuple[str, float, float]] = []
    lags = Lags()
    clients: list[_Clients] = []
    died: list[str] = []
    loads: list[float] = []
    finished: set[str] = set()

    def drain(block: float = 0.0) -> None:
        deadline = time.monotonic() + block
        while True:
            try:
                kind, data = out.get(timeout=max(0.0, deadline - time.monotonic()) or 0.01)
            except queue.Empty:
                return
            if kind == "queries":
                queries.extend(data)
            elif kind == "lags":
                lags.add(data)
            elif kind == "clients":
                clients.append(data)
                finished.add(f"clients{len(clients)}")
            elif kind == "users":
                finished.add("users")

    def look() -> Sample:
        rss: dict[str, float | None] = {name: _rss_mb(p.pid) for name, p in procs.items()}
        cpu: dict[str, float | None] = {name: _cpu(p.pid) for name, p in procs.items()}
        broker = stack.mosquitto.pid()
        rss["broker"] = _rss_mb(broker) if broker else None
        cpu["broker"] = _cpu(broker) if broker else None
        postmaster = int((stack.postgres.data / "postmaster.pid").read_text().split()[0])
        rss["db"], shared, cpu["db"] = _database(postmaster)
        cpu["bench"] = sum(_cpu(pid) or 0.0 for pid in [os.getpid(), *bench_pids])
        scraped = {name: _scrape(u) for name, u in metrics.items()}
        for name, p in procs.items():
            if p.poll() is not None and name not in died:
                died.append(name)
        return Sample(time.time(), rss, shared, cpu, _machine(), _lag(stack.postgres.url), scraped)

    # The quiet baseline: the users' queries with the clients connected and no load.
    quiet_from = _scrape(metrics["api"])  # its event loop's lag over the quiet spell
    time.sleep(args.baseline_seconds)  # the plan's quiet spell, not a wait for a condition
    quiet_to = _scrape(metrics["api"])
    drain()
    progress: SynchronizedArray[float] = ctx.Array("d", 5)
    load_start = time.time() + 1
    device_start = city.readings_device_start(datetime.fromtimestamp(load_start, UTC))
    loader = ctx.Process(
        target=_load,
        args=(stack.mosquitto.port, city, load_start, int(device_start.timestamp() * 1000), progress),
        daemon=True,
    )
    loader.start()
    bench_pids.append(loader.pid or 0)
    print(
        f"  {args.clients} clients have their snapshots; quiet baseline of {args.baseline_seconds:g} s taken; load from"
        f" now: {city.positions:,} positions and {city.readings:,} readings",
        flush=True,
    )
    print()
    print(_HEADER, flush=True)
    lines = [look()]  # the looks a line was printed at (the first: just before the load)
    next_look = time.monotonic() + args.sample_seconds
    max_behind = 0.0

    def watch() -> None:
        """Hand over what came in until the next look is due; then look, and print a line when one is due."""
        nonlocal next_look, max_behind
        drain(max(0.0, next_look - time.monotonic()))
        if time.monotonic() < next_look:
            return
        next_look += args.sample_seconds
        samples.append(look())
        max_behind = max(max_behind, progress[_BEHIND])
        if samples[-1].at - lines[-1].at >= args.report_seconds - 0.5:
            loads.append(os.getloadavg()[0])
            line = _line(samples[-1], lines[-1], queries=queries, lags=lags, progress=progress, load_start=load_start)
            print(line, flush=True)
            lines.append(samples[-1])

    while not progress[_DONE] and loader.is_alive():
        watch()
    if loader.exitcode not in (0, None):
        died.append(f"load generator (exit {loader.exitcode})")
    load_end = time.time()
    loader.join(30)
    # The load is over: the collector stores what the broker still holds. Watched as long as it makes progress (a
    # minute without a row stored ends the wait: what is missing then is lost), for --drain-minutes at most.
    drained = None
    sent = int(progress[_POSITIONS]), int(progress[_READINGS])
    total = sum(sent)
    taken, progressed = -1, time.monotonic()
    while time.time() - load_end < args.drain_minutes * 60 and time.monotonic() - progressed < 60:
        now_taken = _taken(stack.postgres.url, history_end)
        if now_taken >= total:
            drained = time.time() - load_end
            break
        if now_taken > taken:
            taken, progressed = now_taken, time.monotonic()
        watch()
    samples.append(look())
    stop.set()
    while len(finished) < len(workers) + 1:
        drain(5.0)
        if not any(w.is_alive() for w in [*workers, users]) and len(finished) < len(workers) + 1:
            drain(2.0)
            break
    for w in [*workers, users]:
        w.join(30)
    counts = _count(stack.postgres.url, city, history_end, sent)
    dropped = _dropped(stack.mosquitto.home / "mosquitto.log")
    return Run(
        load_start, load_end, drained, samples, queries, lags, clients, counts, died, max_behind, loads, dropped,
        (quiet_from, quiet_to),
    )  # fmt: skip


_HEADER = (
    f"{'min':>5} {'load':>5} | {'MB: coll':>8} {'sup':>5} {'work':>5} {'api':>5} {'brkr':>5} {'db':>5} |"
    f" {'lag s':>5} {'coll99':>6} {'sup99':>6} | {'backlog e/m':>11} |"
    f" {'live95':>6} {'trck95':>6} {'rprt95':>6} {'loop95':>6} ms |"
    f" {'fan99 s':>7} | {'rows/s':>6} {'judged/s':>8} {'behind':>6} | {'cpu%: city':>10} {'bench':>5} {'mach':>4}"
    f" {'runq':>4}"
)
CITY = (*PROCESSES, "broker", "db")  # the processes whose memory and CPU are the city's (the bench's own apart)


def _share(now: Sample, before: Sample, names: tuple[str, ...]) -> float:
    """The CPU these processes used between two looks, in % of one core (a process gone counts nothing)."""
    used = 0.0
    for name in names:
        a, b = before.cpu.get(name), now.cpu.get(name)
        if a is not None and b is not None:
            used += max(0.0, b - a)
    return 100 * used / max(now.at - before.at, 1e-9)


def _busy(now: Sample, before: Sample) -> float:
    """The machine's busy share of all its cores between two looks, %."""
    return 100 * (now.machine[0] - before.machine[0]) / max(now.machine[1] - before.machine[1], 1e-9)


def _line(
    now: Sample,
    before: Sample,
    *,
    queries: list[tuple[str, float, float]],
    lags: Lags,
    progress: SynchronizedArray[float],
    load_start: float,
) -> str:
    """One printed line: memory now; lags, p95s and p99 over the time since the last line."""

    def mb(name: str) -> str:
        value = now.rss.get(name)
        return f"{value:.0f}" if value is not None else "-"

    def hist(process: str, name: str, p: float = 99) -> float:
        return _percentile_of_buckets(now.scraped[process].get(name, {}), before.scraped[process].get(name, {}), p)

    def p95(kind: str) -> float:
        return _quantile([ms for k, at, ms in queries if k == kind and before.at <= at < now.at], 95)

    backlog = now.scraped["worker"].get("yiwang_worker_backlog", {})
    energy = backlog.get((("job", "consumption"),), float("nan"))
    mileage = backlog.get((("job", "mileage"),), float("nan"))
    fan = _quantile(lags.between(before.at, now.at), 99)
    stored = now.scraped["collector"].get("yiwang_collector_rows_stored_total", {})
    stored_before = before.scraped["collector"].get("yiwang_collector_rows_stored_total", {})
    rate = (sum(stored.values()) - sum(stored_before.values())) / max(now.at - before.at, 1e-9)
    # The supervisor's own session at the broker: fixes it judged a second, beside the rows the collector stored.
    judged = now.scraped["supervisor"].get("yiwang_supervisor_fixes_judged_total", {})
    judged_before = before.scraped["supervisor"].get("yiwang_supervisor_fixes_judged_total", {})
    judging = (sum(judged.values()) - sum(judged_before.values())) / max(now.at - before.at, 1e-9)
    lag = f"{now.lag_s:.1f}" if now.lag_s is not None else "-"
    return (
        f"{(now.at - load_start) / 60:5.1f} {os.getloadavg()[0]:5.1f} | {mb('collector'):>8} {mb('supervisor'):>5}"
        f" {mb('worker'):>5} {mb('api'):>5} {mb('broker'):>5} {mb('db'):>5} |"
        f" {lag:>5} {hist('collector', 'yiwang_collector_lag_seconds_bucket'):6.2f}"
        f" {hist('supervisor', 'yiwang_supervisor_lag_seconds_bucket'):6.2f} | {energy:5.0f}/{mileage:<5.0f} |"
        f" {p95('live'):6.0f} {p95('track'):6.0f} {p95('report'):6.0f} {hist('api', _LOOP_LAG, 95) * 1000:6.1f}    |"
        f" {fan:7.2f} |"
        f" {rate:6.0f} {judging:8.0f} {progress[_BEHIND]:6.0f} | {_share(now, before, CITY):10.0f}"
        f" {_share(now, before, ('bench',)):5.0f} {_busy(now, before):4.0f} {now.machine[2]:4d}"
    )


def _windows(args: argparse.Namespace, run: Run) -> tuple[tuple[float, float], tuple[float, float]]:
    """The first and the last window after the warm-up (epoch seconds): 10 minutes each, or a third of what is left."""
    start = run.load_start + args.warmup_minutes * 60
    end = run.load_end
    width = min(600.0, (end - start) / 3)
    return (start, start + width), (end - width, end)


def _report(args: argparse.Namespace, city: City, run: Run) -> bool:
    """The end: counts, memory, lag and targets, each PASS or FAIL; False when something was lost or a process died."""
    first, last = _windows(args, run)
    after = run.load_start + args.warmup_minutes * 60
    print()
    print(
        f"{city.vehicles:,} vehicles every {INTERVAL_S:g} s and {city.meters:,} meters every"
        f" {city.meter_interval_s:g} s for {(run.load_end - run.load_start) / 60:.1f} min; windows after a warm-up"
        f" of {args.warmup_minutes:g} min:"
        f" first {(first[0] - run.load_start) / 60:.1f}-{(first[1] - run.load_start) / 60:.1f} min, last"
        f" {(last[0] - run.load_start) / 60:.1f}-{(last[1] - run.load_start) / 60:.1f} min; load average"
        f" {min(run.loads, default=float('nan')):.1f}-{max(run.loads, default=float('nan')):.1f} over the run"
    )
    c = run.counts
    print()
    print(
        f"sent and stored: positions {c.positions_sent:,} sent (of {city.positions:,} scheduled),"
        f" {c.positions_stored:,} stored; readings {c.readings_sent:,} sent (of {city.readings:,}),"
        f" {c.readings_stored:,} stored; lost {c.lost}, beyond what was sent {c.extra},"
        f" readings changed on redelivery {c.conflicts}, dead letters {c.dead_letters}; the load generator was at most"
        f" {run.max_behind:,.0f} messages behind its schedule"
    )
    if run.drained_s is not None:
        print(f"  the collector stored the rest {run.drained_s:.1f} s after the load")
    else:
        print(
            f"  NOT drained: {c.lost:,} messages were still missing when the wait ended (a minute without progress, or"
            f" {args.drain_minutes:g} min after the load): lost, or still queued at the broker"
        )
    for line in run.dropped[:5]:
        print(f"  the broker dropped messages: {line}")

    print()
    during = [s for s in run.samples if after <= s.at <= run.load_end]
    span = (during[0], during[-1]) if len(during) > 1 else None
    print(
        f"{'memory, MB':34} {'first window':>12} {'last window':>12} {'growth':>8} {'slope MB/min':>13}"
        f" {'':6} {'cpu % of a core':>15}"
    )
    memory_ok = True
    for name in CITY:
        mean_first = _mean([s.rss[name] for s in run.samples if first[0] <= s.at <= first[1]])
        mean_last = _mean([s.rss[name] for s in run.samples if last[0] <= s.at <= last[1]])
        slope = _slope([(s.at, s.rss[name]) for s in run.samples if s.at >= after])
        allowed = max(mean_first * MEMORY_GROWTH_MAX, MEMORY_FLOOR_MB)
        flat = mean_last - mean_first <= allowed
        memory_ok &= flat
        label = {"db": "database (private)", "broker": "broker (Mosquitto)"}.get(name, name)
        print(
            f"  {label:32} {mean_first:12.1f} {mean_last:12.1f} {(mean_last - mean_first) / mean_first:8.1%}"
            f" {slope:13.2f}  {'flat' if flat else 'GROWS':5}"
            f" {_share(span[1], span[0], (name,)) if span else float('nan'):15.0f}"
        )
    shared_first = _mean([s.db_shared for s in run.samples if first[0] <= s.at <= first[1]])
    shared_last = _mean([s.db_shared for s in run.samples if last[0] <= s.at <= last[1]])
    print(
        f"  {'database (shared: its cache)':32} {shared_first:12.1f} {shared_last:12.1f}"
        "  (fills up to shared_buffers by design: not judged)"
    )
    if span:
        print(
            f"  CPU after the warm-up: the city's processes {_share(span[1], span[0], CITY):.0f}% of a core, the"
            f" bench's own (load, clients, users) {_share(span[1], span[0], ('bench',)):.0f}%; the machine's"
            f" {os.cpu_count()} cores {_busy(span[1], span[0]):.0f}% busy, runnable threads median"
            f" {statistics.median(s.machine[2] for s in during):.0f}"
        )

    lag_first = _quantile([s.lag_s for s in run.samples if first[0] <= s.at <= first[1] and s.lag_s is not None], 50)
    lag_last = _quantile([s.lag_s for s in run.samples if last[0] <= s.at <= last[1] and s.lag_s is not None], 50)
    lag_max = max(
        (s.lag_s for s in run.samples if after <= s.at <= run.load_end and s.lag_s is not None), default=float("nan")
    )
    lag_ok = lag_last <= max(LAG_GROWTH_FACTOR * lag_first, lag_first + LAG_GROWTH_S)

    def soaked(kind: str) -> list[float]:
        return [ms for k, at, ms in run.queries if k == kind and after <= at <= run.load_end]

    def quiet(kind: str) -> list[float]:
        return [ms for k, at, ms in run.queries if k == kind and at < run.load_start]

    print()
    print(
        f"{'API (ms)':34} {'quiet p95':>10} {'soak p50':>10} {'soak p95':>10} {'÷ quiet':>8}"
        f" {'first p95':>10} {'last p95':>10} {'runs':>6}"
    )
    p95s = {}
    for kind in QUERIES:
        soak = soaked(kind)
        p95s[kind] = _quantile(soak, 95)
        base = _quantile(quiet(kind), 95)
        in_first = [ms for k, at, ms in run.queries if k == kind and first[0] <= at <= first[1]]
        in_last = [ms for k, at, ms in run.queries if k == kind and last[0] <= at <= last[1]]
        print(
            f"  {_QUERY_NAMES[kind]:32} {base:10.1f} {_quantile(soak, 50):10.1f} {p95s[kind]:10.1f}"
            f" {p95s[kind] / base:8.2f} {_quantile(in_first, 95):10.1f} {_quantile(in_last, 95):10.1f} {len(soak):6}"
        )
    if span:
        quiet_lag = run.quiet_api[1].get(_LOOP_LAG, {}), run.quiet_api[0].get(_LOOP_LAG, {})
        soak_lag = span[1].scraped["api"].get(_LOOP_LAG, {}), span[0].scraped["api"].get(_LOOP_LAG, {})
        quiet_ms, soak_ms = (
            {p: _percentile_of_buckets(*lag, p) * 1000 for p in (50, 95, 99)} for lag in (quiet_lag, soak_lag)
        )
        print(
            "  the API's event loop, how late it ran a timer (its histogram's bucket bounds): quiet p95"
            f" {quiet_ms[95]:g} ms; after the warm-up p50 {soak_ms[50]:g}, p95 {soak_ms[95]:g}, p99 {soak_ms[99]:g} ms"
        )
    fan = run.lags.between(after, run.load_end)
    features = [n for seen in run.clients for n in seen.features]
    errors = [e for seen in run.clients for e in seen.errors]
    print(
        f"  fan-out, publish -> client receipt over {len(fan):,} sampled fixes: p50 {_quantile(fan, 50) * 1000:.0f} ms,"
        f" p99 {_quantile(fan, 99) * 1000:.0f} ms, max {max(fan, default=float('nan')) * 1000:.0f} ms;"
        f" {sum(seen.alerts for seen in run.clients):,} alerts pushed to the measuring clients"
    )
    if errors:
        print(f"  {len(errors)} client(s) lost their connection, e.g. {errors[0][:160]}")
    print(
        f"  ingest lag (now - newest position stored): median {lag_first:.2f} s in the first window,"
        f" {lag_last:.2f} s in the last, max {lag_max:.2f} s"
    )

    print()
    checks = [
        (f"nothing lost, nothing doubled, no dead letter ({c.lost} lost, {c.extra + c.conflicts} doubled,"
         f" {c.dead_letters} dead letters, {len(run.dropped)} drops at the broker)",
         c.ok and run.drained_s is not None and not run.dropped),
        (f"every process ran throughout ({', '.join(run.died) or 'none died'})", not run.died),
        (f"memory flat: each process's last-window mean within {MEMORY_GROWTH_MAX:.0%} (or {MEMORY_FLOOR_MB:g} MB) of"
         " its first", memory_ok),
        (f"lag not growing: last-window median <= max({LAG_GROWTH_FACTOR:g} x first, first + {LAG_GROWTH_S:g} s)"
         f" ({lag_last:.2f} s against {lag_first:.2f} s)", lag_ok),
        (f"live query p95 < {TARGET_LIVE_P95_MS:.0f} ms ({p95s['live']:.0f} ms)", p95s["live"] < TARGET_LIVE_P95_MS),
        (f"one-day track p95 < {TARGET_TRACK_P95_MS:.0f} ms ({p95s['track']:.0f} ms)",
         p95s["track"] < TARGET_TRACK_P95_MS),
        (f"fan-out lag p99 < {TARGET_LAG_P99_S:.0f} s ({_quantile(fan, 99):.2f} s)",
         _quantile(fan, 99) < TARGET_LAG_P99_S),
        (f"every client kept up (>= 95% of the positions: {min(features, default=0) / max(c.positions_sent, 1):.0%})"
         f" and none lost its connection ({len(errors)})",
         min(features, default=0) >= 0.95 * c.positions_sent and not errors),
    ]  # fmt: skip
    for text, passed in checks:
        print(f"  {'PASS' if passed else 'FAIL'}  {text}")
    return c.ok and run.drained_s is not None and not run.dropped and not run.died


_QUERY_NAMES = {
    "live": "GET /positions/live, every vehicle",
    "track": "GET /vehicles/{id}/track, one day",
    "report": "GET /reports/dispatch, today",
}


def _mean(values: list[float | None]) -> float:
    present = [v for v in values if v is not None]
    return statistics.fmean(present) if present else float("nan")


def _slope(points: list[tuple[float, float | None]]) -> float:
    """Least squares, MB per minute."""
    present = [(t / 60, v) for t, v in points if v is not None]
    if len(present) < 2:
        return float("nan")
    return statistics.linear_regression([t for t, _ in present], [v for _, v in present]).slope


if __name__ == "__main__":
    sys.exit(main())
