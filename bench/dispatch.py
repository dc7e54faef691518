"""bench/dispatch: the dispatch map at city scale, beside a naive baseline measured in the same run.

    .venv/bin/python -m bench.dispatch            # 20,000 vehicles, 100 WebSocket clients, 60 s of load
    .venv/bin/python -m bench.dispatch --quick    # 2,000 vehicles, 10 clients, 15 s (figures are rough)

Starts its own TimescaleDB and Mosquitto (anonymous, loopback only), registers the vehicles, writes an hour of
history for every vehicle and a day for a few straight into the `position` hypertable (a benchmark backfill,
not the device path), then starts a collector and the API (`yiwang collect`, `yiwang api`, the API following
what the collector commits to `live_position`) and connects the WebSocket clients, each asking for the whole
network (the heaviest filter). The load generator then publishes one position per vehicle every 10 s, each
stamped with the moment it is sent. Meanwhile it times:

- the live query: GET /positions/live (every vehicle, over HTTP, answered from the feed in memory) to the last byte
  received, and again with httpx joining the body (the bench's Python, not the API, on a loaded machine), the same
  answer built in-process without HTTP (a look at live_position, a turn, the snapshot), the feed's whole-map
  query (what it reads at start and every refresh), and the naive baseline: the same answer from the `position`
  hypertable with DISTINCT ON (timed after the load: its scans of seconds would slow what is measured beside it);
- a one-day track: GET /vehicles/{id}/track over a day of fixes every 10 s, its read alone (packed hours and the
  rest: db/tracks.py), and the baseline: the day's rows straight from `position`;
- the fan-out lag: from the moment a fix is published to the moment a client has it (every tenth vehicle
  sampled on every client), and how long a client waits for its snapshot;
- the bytes a client costs the network: per client-minute of the whole city's changes, as messages and on the
  wire, for the clients that offer permessage-deflate as browsers do (half of them by default) beside those that
  do not (the API as it was: the baseline, in the same run); the whole map per GET, as it is and gzipped; and what
  a client reconnecting with its cursor gets after a blip of 2 s (`since=`).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import queue
import random
import secrets
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

import httpx
import orjson
import psycopg
from psycopg_pool import AsyncConnectionPool
from websockets.asyncio.client import ClientConnection, connect

from api.live.feed import LiveFeed
from api.live.follower import refresh
from api.live.subscriptions import Filter
from bench import loadgen
from bench.baselines import peak_rss_mb
from bench.services import DISPATCHER, collector_and_api, register_fleet
from db import live, tracks
from db.migrate import migrate
from domain.topics import topic
from yiwang.settings import Settings
from yiwang.stack import Stack, free_port

ROOT = "bench"
INTERVAL_S = 10.0  # each vehicle reports every 10 s
VEHICLES_PER_UNIT = 100
TARGET_LIVE_P95_MS = 50.0
TARGET_TRACK_P95_MS = 50.0
TARGET_LAG_P99_S = 1.0
RESUME_AFTER_S = 2.0  # a network blip
_NAIVE = """SELECT DISTINCT ON (p.vehicle_id) p.vehicle_id, v.plate, v.organisation_id, p.time, p.latitude,
                   p.longitude, p.speed, p.heading, p.ignition, p.soc, p.fuel
            FROM position p JOIN vehicle v ON v.id = p.vehicle_id
            ORDER BY p.vehicle_id, p.time DESC"""


@dataclass(frozen=True)
class Figures:
    """Quantiles of one measurement, in milliseconds (lags in seconds)."""

    name: str
    samples: list[float]

    def q(self, p: int) -> float:
        if len(self.samples) < 2:
            return self.samples[0] if self.samples else float("nan")
        return statistics.quantiles(self.samples, n=100, method="inclusive")[p - 1]


@dataclass
class ClientReport:
    """What one client process saw."""

    clients: int
    snapshot_s: list[float]  # connect to snapshot received, per client
    snapshot_features: list[int]
    features: list[int]  # features received after the snapshot, per measuring client
    received_mb: list[float]  # after the snapshot, per client
    # After the snapshot, per client: (deflating, seconds, message bytes, bytes on the wire with frame headers)
    flows: list[tuple[bool, float, int, int]]
    errors: list[str]  # of the clients whose connection failed
    lags_s: list[tuple[float, float]]  # sampled: (receipt, publish -> receipt), epoch seconds


def _history(url: str, vehicles: int, history_fixes: int, track_vehicles: int, end: datetime) -> int:
    """Every vehicle's last `history_fixes` fixes before `end`, a day for the first `track_vehicles` (driving
    circles of about 1 km at 18 km/h), and the live table from them. A benchmark backfill straight into the
    tables; returns the rows written."""
    day = int(86_400 / INTERVAL_S)
    with psycopg.connect(url, autocommit=True) as conn:
        for first, last, fixes in ((track_vehicles, vehicles, history_fixes), (0, track_vehicles, day)):
            if last <= first:
                continue
            conn.execute(
                """INSERT INTO position (vehicle_id, time, latitude, longitude, speed, heading, odometer, ignition,
                                         satellites, received_at)
                   SELECT 'v' || v, t,
                          29.20 + (v %% 100) * 0.002 + 0.01 * sin(k / 20.0),
                          117.10 + (v / 100) * 0.001 + 0.01 * cos(k / 20.0),
                          18, (360 - (k * 2.865)::int %% 360) %% 360, 10000 + k * 0.05, true, 11, t
                   FROM generate_series(%(first)s, %(last)s - 1) AS v,
                        generate_series(1, %(fixes)s) AS k,
                        LATERAL (SELECT %(end)s - k * interval '10 seconds') AS at(t)""",
                {"first": first, "last": last, "fixes": fixes, "end": end},
            )
        conn.execute(
            "INSERT INTO live_position SELECT DISTINCT ON (vehicle_id) * FROM position ORDER BY vehicle_id, time DESC"
        )
        conn.execute("ANALYZE position")
        conn.execute("ANALYZE live_position")
        row = conn.execute("SELECT count(*) FROM position").fetchone()
    return int(row[0]) if row else 0


# ---- the WebSocket clients: their own processes, so that reading them does not slow the API's measure -------


def _sampled(vehicle_id: str) -> bool:
    return vehicle_id.endswith("0")


@dataclass(frozen=True)
class _Run:
    url: str
    token: str
    since: str  # fixes of the load are newer than this (RFC 3339, UTC): older ones are history, not lag


class _Counted(ClientConnection):
    """A client connection that counts the bytes it reads off the wire (compressed, with the frames' headers)."""

    wire = 0

    def data_received(self, data: bytes) -> None:
        self.wire += len(data)
        super().data_received(data)


async def _client(
    run: _Run, stop: Event, report: ClientReport, opened: Callable[[], None], *, measuring: bool, deflate: bool
) -> None:
    """One client of the whole network. A measuring client reads every message as a map would (parses it, takes
    each feature) and samples the lag; the others only take the messages, so that the clients, which share this
    machine's two cores with the server, slow the server down as little as they can."""
    started = time.time()
    compression = "deflate" if deflate else None
    # No keepalive pings from the clients: a ping waits behind every byte already on its way, so a client that
    # is seconds behind would hang up, and the figure to see is how far behind it is. (The server still pings.)
    async with connect(
        run.url,
        compression=compression,
        max_size=None,
        open_timeout=60,
        ping_interval=None,
        create_connection=_Counted,
    ) as ws:
        assert isinstance(ws, _Counted)
        await ws.send(orjson.dumps({"type": "auth", "token": run.token}).decode())
        snapshot = await ws.recv(decode=False)
        report.snapshot_s.append(time.time() - started)
        if measuring:
            report.snapshot_features.append(len(orjson.loads(snapshot)["features"]))
        opened()
        received = size = 0
        wire, since = ws.wire, time.monotonic()
        while not stop.is_set():
            try:
                async with asyncio.timeout(0.2):
                    raw = await ws.recv(decode=False)
            except TimeoutError:
                continue
            size += len(raw)
            if not measuring:
                continue
            now = time.time()
            for feature in orjson.loads(raw)["features"]:
                # UTC times of one format compare as text: cheaper than parsing each.
                if feature["properties"]["time"] > run.since:
                    received += 1
                    if _sampled(feature["id"]):
                        fixed = datetime.fromisoformat(feature["properties"]["time"]).timestamp()
                        report.lags_s.append((now, now - fixed))
        report.received_mb.append(size / 1e6)
        report.flows.append((deflate, time.monotonic() - since, size, ws.wire - wire))
        if measuring:
            report.features.append(received)


def _clients(run: _Run, share: tuple[int, int, int], ready: Event, stop: Event, out: mp.Queue[ClientReport]) -> None:
    """`share`: this process's clients, how many of them measure, and how many offer permessage-deflate (every
    other one, from the first, until that many)."""
    count, measuring, deflating = share
    report = ClientReport(count, [], [], [], [], [], [], [])

    async def main() -> None:
        everyone = asyncio.Event()

        def opened() -> None:
            if len(report.snapshot_s) == count:
                everyone.set()

        tasks = [
            asyncio.create_task(
                _client(run, stop, report, opened, measuring=i < measuring, deflate=_deflating(i, count, deflating))
            )
            for i in range(count)
        ]
        waiting = asyncio.create_task(everyone.wait())
        await asyncio.wait([waiting, *tasks], return_when=asyncio.FIRST_COMPLETED)  # all ready, or one failed
        ready.set()
        for outcome in await asyncio.gather(*tasks, return_exceptions=True):
            if isinstance(outcome, Exception):
                report.errors.append(f"{type(outcome).__name__}: {outcome}")
        waiting.cancel()

    asyncio.run(main())
    out.put(report)


def _deflating(i: int, count: int, deflating: int) -> bool:
    """Whether the i-th of `count` clients offers permessage-deflate: every other one, then the rest in a row."""
    spread = min(deflating, count - deflating)  # alternating while both kinds are left
    return i % 2 == 0 if i < 2 * spread else deflating > spread


# ---- timing the queries -------------------------------------------------------------------------------------


def _timed(fn: Callable[[], object], times: int) -> list[float]:
    samples = []
    for _ in range(times):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


async def _timed_async(fn: Callable[[], Any], times: int) -> list[float]:
    samples = []
    for _ in range(times):
        started = time.perf_counter()
        await fn()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


async def _pack(url: str) -> int:
    """Pack the history's hours that are over, as the worker's packer does each turn (the backfill went straight into
    `position`, so no turn has seen it yet)."""
    async with AsyncConnectionPool(url, min_size=1, max_size=1, open=False) as pool:
        packed: int = await tracks.pack(pool, Settings(database_url=url).track_settle)
        return packed


async def _in_process(url: str, times: int, track_vehicles: int, end: datetime) -> list[Figures]:
    """Timed beside the load, in this process: the API's own answer to GET /positions/live without HTTP (a feed
    loaded as the API loads it, then for each answer a look at live_position, a turn and the snapshot of every
    vehicle), the feed's whole-map query, and a day's fixes, packed and as rows."""
    async with (
        await psycopg.AsyncConnection.connect(url, autocommit=True) as conn,
        AsyncConnectionPool(url, min_size=1, max_size=1, open=False) as pool,
    ):
        feed = LiveFeed(offline_after=600)
        mark = [await live.first_mark(conn)]
        await refresh(feed, pool)

        async def answer() -> None:
            mark[0] = await feed.look(conn, mark[0])
            feed.tick(datetime.now(UTC))
            feed.snapshot(Filter(), datetime.now(UTC))

        async def whole_map() -> None:
            await live.vehicles(conn)

        turn = iter(range(10**9))

        async def track() -> None:
            vehicle = f"v{next(turn) % max(track_vehicles, 1)}"
            await tracks.read(conn, vehicle, end - timedelta(days=1), end)

        async def track_rows() -> None:
            vehicle = f"v{next(turn) % max(track_vehicles, 1)}"
            async with conn.cursor(binary=True) as cur:
                await cur.execute(_ROWS, (vehicle, end - timedelta(days=1), end))
                await cur.fetchall()

        return [
            Figures("live: the API's answer in-process (look + snapshot, no HTTP)", await _timed_async(answer, times)),
            Figures("live: the feed's whole-map query in-process (SQL + rows)", await _timed_async(whole_map, times)),
            Figures("track: a day's fixes read (packed hours + the rest)", await _timed_async(track, times)),
            Figures("track: the day's 8,640 rows from position (baseline)", await _timed_async(track_rows, times)),
        ]


# The baseline of a day's track: its fixes as rows of the hypertable, each on its own page among the fleet's.
_ROWS = """SELECT time, latitude, longitude, speed, heading, odometer, ignition, received_at, blind
           FROM position WHERE vehicle_id = %s AND time >= %s AND time < %s ORDER BY time"""


async def _naive(url: str, times: int) -> Figures:
    """The baseline, timed after the load (while it ran, its seconds-long scans slowed the very fan-out measured
    beside it): the same answer from the position hypertable with DISTINCT ON."""
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:

        async def naive() -> None:
            await (await conn.execute(_NAIVE)).fetchall()

        return Figures("live: naive DISTINCT ON over position (SQL only)", await _timed_async(naive, times))


QUICK = {
    "vehicles": 2000,
    "clients": 10,
    "measuring": 4,
    "seconds": 15.0,
    "history_minutes": 10,
    "track_vehicles": 5,
    "times": 10,
}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--vehicles", type=int, default=20_000)
    p.add_argument("--clients", type=int, default=100, help="WebSocket clients, each asking for every vehicle")
    p.add_argument("--client-processes", type=int, default=2, help="for the clients that do not measure")
    p.add_argument("--measuring", type=int, default=10, help="of the clients, those that parse and sample the lag")
    p.add_argument("--seconds", type=float, default=60.0, help="of load: one position per vehicle every 10 s")
    p.add_argument("--history-minutes", type=int, default=60, help="of fixes every 10 s for every vehicle")
    p.add_argument("--track-vehicles", type=int, default=20, help="vehicles with a whole day of fixes")
    p.add_argument("--times", type=int, default=100, help="runs of each timed query (p95 of 30 is the 2nd worst)")
    p.add_argument("--naive-times", type=int, default=5, help="runs of the naive DISTINCT ON")
    p.add_argument(
        "--deflating",
        type=float,
        default=0.5,
        help="the share of the clients (and of the measuring ones) that offer permessage-deflate, as browsers do; "
        "the others are the baseline, the stream as it was",
    )
    p.add_argument("--quick", action="store_true", help=f"a small run for a smoke test: {QUICK}")
    args = p.parse_args(argv)
    if args.quick:
        for key, value in QUICK.items():
            setattr(args, key, value)
    args.track_vehicles = min(args.track_vehicles, args.vehicles)

    home = Path(tempfile.mkdtemp(prefix="yiwang-bench-dispatch-"))
    home.chmod(0o755)
    stack = Stack.at(home, free_port(), free_port(), shared_buffers="2GB", anonymous=True)
    print(f"bench/dispatch on {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}: stack in {home}")
    began = time.monotonic()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    stack.up()
    try:
        url = stack.postgres.url
        migrate(url)
        password = secrets.token_urlsafe(16)
        units = max(1, args.vehicles // VEHICLES_PER_UNIT)
        asyncio.run(register_fleet(url, args.vehicles, units, energy="gasoline", password=password))
        end = datetime.now(UTC) - timedelta(seconds=30)
        started = time.monotonic()
        rows = _history(url, args.vehicles, int(args.history_minutes * 60 / INTERVAL_S), args.track_vehicles, end)
        print(f"  history: {rows:,} fixes in {time.monotonic() - started:.0f} s", flush=True)
        started = time.monotonic()
        hours = asyncio.run(_pack(url))
        print(f"  packed {hours:,} vehicle-hours of it for tracks in {time.monotonic() - started:.0f} s", flush=True)
        with collector_and_api(stack, ROOT, home) as (base, api):
            http = httpx.Client(base_url=base, timeout=60)
            login = http.post("/auth/token", data={"username": DISPATCHER, "password": password})
            login.raise_for_status()
            token = login.json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            time.sleep(2)  # the API's feed has loaded and is following live_position

            ctx = mp.get_context("fork")
            reports: mp.Queue[ClientReport] = ctx.Queue()
            stop = ctx.Event()
            since = end.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            run = _Run(base.replace("http://", "ws://") + "/positions/stream", token, since)
            readies = []
            workers = []
            # The measuring clients have a process of their own: the others' reading does not delay their clock.
            others = args.clients - args.measuring
            counts = [args.measuring] + [
                others // args.client_processes + (i < others % args.client_processes)
                for i in range(args.client_processes)
            ]
            shares = [(n, args.measuring if i == 0 else 0, round(n * args.deflating)) for i, n in enumerate(counts)]
            for share in shares:
                ready = ctx.Event()
                worker = ctx.Process(target=_clients, args=(run, share, ready, stop, reports), daemon=True)
                worker.start()
                readies.append(ready)
                workers.append(worker)
            deflating = sum(share[2] for share in shares)
            print(f"  {deflating} of the {args.clients} clients offer permessage-deflate")
            connected = time.monotonic()
            for ready in readies:
                if not ready.wait(120):
                    raise TimeoutError("the WebSocket clients did not all get their snapshots")
            print(f"  {args.clients} clients have their snapshots after {time.monotonic() - connected:.1f} s")

            rate = args.vehicles / INTERVAL_S
            topics = [topic(ROOT, "vehicle", f"v{v}", "position") for v in range(args.vehicles)]
            # Each vehicle somewhere of its own, as a city's are (the same numbers for all would compress as no map
            # does): to 1e-6 degree as JT/T 808 sends them, a speed and heading of its own.
            rng = random.Random(20)
            bodies = [
                orjson.dumps(
                    {"time": "TIME", "latitude": round(29.20 + (v % 100) * 0.002 + rng.uniform(-0.01, 0.01), 6)}
                    | {"longitude": round(117.10 + (v // 100) * 0.001 + rng.uniform(-0.01, 0.01), 6)}
                    | {"speed": round(rng.uniform(0, 80), 1), "heading": float(rng.randrange(360))}
                    | {"odometer": round(rng.uniform(1_000, 90_000), 1), "ignition": True, "satellites": 11}
                ).replace(b'"TIME"', b"TIME")
                for v in range(args.vehicles)
            ]
            api_cpu = loadgen.cpu_seconds(api.pid)
            load = threading.Thread(
                target=loadgen.publish_timed,
                args=(stack.mosquitto.port, topics, bodies),
                kwargs={"rate": rate, "seconds": args.seconds},
            )
            load_started = time.monotonic()
            load.start()
            print(f"  load: {rate:,.0f} positions/s for {args.seconds:.0f} s; timing the queries meanwhile", flush=True)
            time.sleep(min(5.0, args.seconds / 4))
            day = {"start": (end - timedelta(days=1)).isoformat(), "end": end.isoformat()}
            turn = iter(range(10**9))

            def track() -> None:
                vehicle = f"v{next(turn) % args.track_vehicles}"
                http.get(f"/vehicles/{vehicle}/track", headers=headers, params=day).raise_for_status()

            plain = {**headers, "Accept-Encoding": "identity"}  # as the API answered before it compressed
            gzipped = {**headers, "Accept-Encoding": "gzip"}  # as browsers ask
            live_bytes = {"identity": 0, "gzip": 0}

            def live(asked: dict[str, str] = plain, params: dict[str, str] | None = None) -> None:
                # Timed to the last byte received, as a browser's network stack reads it. httpx joining the body
                # in Python is the bench's own cost, and the loaded machine makes it a large one: timed beside it.
                with http.stream("GET", "/positions/live", headers=asked, params=params) as response:
                    response.raise_for_status()
                    received = sum(len(chunk) for chunk in response.iter_raw())
                if received != int(response.headers["content-length"]):
                    raise RuntimeError(f"GET /positions/live: {received} bytes of {response.headers['content-length']}")
                live_bytes[response.headers.get("content-encoding", "identity")] = received

            def live_read() -> None:
                http.get("/positions/live", headers=plain).raise_for_status()

            # A client that drops off for a network blip of RESUME_AFTER_S and comes back with the cursor it had:
            # what changed meanwhile.
            cursor = http.get("/positions/live", headers=gzipped).json()["cursor"]
            left = time.monotonic()
            time.sleep(RESUME_AFTER_S)
            resumed = http.get("/positions/live", headers=plain, params={"since": cursor})
            resumed.raise_for_status()
            body = resumed.json()
            if body["whole"]:
                raise RuntimeError(f"GET /positions/live?since=: the whole map ({body['reason']})")
            live(gzipped, {"since": cursor})
            resume = Resume(time.monotonic() - left, len(body["features"]), len(resumed.content), live_bytes["gzip"])
            queried = time.time()
            figures = [
                Figures("live: GET /positions/live, HTTP, to the last byte", _timed(live, args.times)),
                Figures("live: the same gzipped (as browsers ask)", _timed(lambda: live(gzipped), args.times)),
                Figures("live: the same, its body joined by httpx in Python", _timed(live_read, args.times)),
                *asyncio.run(_in_process(url, args.times, args.track_vehicles, end)),
                Figures("track: GET /vehicles/{id}/track, one day over HTTP", _timed(track, args.times)),
            ]
            queries = (queried, time.time())
            print(
                f"  GET /positions/live of every vehicle: {live_bytes['identity'] / 1e6:.1f} MB,"
                f" {live_bytes['gzip'] / 1e6:.2f} MB gzipped",
                flush=True,
            )
            load.join()
            load_seconds = time.monotonic() - load_started
            api_share = (loadgen.cpu_seconds(api.pid) - api_cpu) / load_seconds
            api_peak = peak_rss_mb(api.pid)
            # Let the last fixes through, then stop the clients.
            time.sleep(2)
            stop.set()
            collected = [reports.get(timeout=60) for _ in workers]
            for worker in workers:
                worker.join(30)
            print("  load over; timing the naive baseline", flush=True)
            figures.insert(3, asyncio.run(_naive(url, args.naive_times)))
    except queue.Empty:
        print("the clients gave no report", file=sys.stderr)
        return 1
    finally:
        stack.down()
        shutil.rmtree(home, ignore_errors=True)

    _report(
        args, figures, collected, load_seconds=load_seconds, api_share=api_share, api_peak=api_peak, queries=queries
    )
    _bandwidth(collected, live_bytes, resume)
    print(f"\n(whole run {time.monotonic() - began:.0f} s; load average now {os.getloadavg()[0]:.2f})")
    return 0


@dataclass(frozen=True)
class Resume:
    """What a client reconnecting with its cursor got: the changes of `seconds`."""

    seconds: float
    features: int
    raw: int
    gzipped: int


def _per_minute(flows: list[tuple[bool, float, int, int]], deflating: bool) -> tuple[int, float, float]:
    """The clients of a kind, and their median bytes per minute as messages and on the wire (MB)."""
    mine = [(size * 60 / seconds, wire * 60 / seconds) for kind, seconds, size, wire in flows if kind is deflating]
    if not mine:
        return 0, float("nan"), float("nan")
    return len(mine), statistics.median(m for m, _ in mine) / 1e6, statistics.median(w for _, w in mine) / 1e6


def _bandwidth(reports: list[ClientReport], live_bytes: dict[str, int], resume: Resume) -> None:
    """What the map costs the network, beside the API as it was (no compression) measured in the same run."""
    flows = [flow for r in reports for flow in r.flows]
    plain, deflated = _per_minute(flows, False), _per_minute(flows, True)
    whole, gzipped = live_bytes["identity"] / 1e6, live_bytes["gzip"] / 1e6
    rows = [
        (f"stream, per client-minute, no deflate ({plain[0]} clients: the baseline)", plain[1], plain[2], ""),
        (
            f"stream, per client-minute, permessage-deflate ({deflated[0]} clients)",
            deflated[1],
            deflated[2],
            f"{plain[2] / deflated[2]:.1f} times less",
        ),
        ("GET /positions/live, every vehicle (identity: the baseline)", whole, whole, ""),
        ("GET /positions/live, every vehicle, gzipped", whole, gzipped, f"{whole / gzipped:.1f} times less"),
        (
            f"GET ?since=<cursor> {resume.seconds:.0f} s later: {resume.features:,} vehicles changed",
            resume.raw / 1e6,
            resume.gzipped / 1e6,
            f"{resume.raw / 1e6 / whole:.0%} of the whole map; {whole / (resume.gzipped / 1e6):.0f} times less gzipped",
        ),
    ]
    print()
    print("the network: per client following the whole city (median over the clients), and the whole map")
    print(f"  {'MB':66} {'messages':>9} {'on the wire':>12}")
    for name, raw, wire, note in rows:
        print(f"  {name:66} {raw:9.2f} {wire:12.2f}  {note}")


def _report(
    args: argparse.Namespace,
    figures: list[Figures],
    reports: list[ClientReport],
    *,
    load_seconds: float,
    api_share: float,
    api_peak: float | None,
    queries: tuple[float, float],
) -> None:
    print()
    print(
        f"{args.vehicles:,} vehicles ({args.history_minutes} min of history each, a day for {args.track_vehicles});"
        f" {args.clients} WebSocket clients of the whole network; load {args.vehicles / INTERVAL_S:,.0f} positions/s"
    )
    print()
    print(f"{'query (ms)':58} {'p50':>8} {'p95':>8} {'runs':>5}")
    for f in figures:
        print(f"{f.name:58} {f.q(50):8.1f} {f.q(95):8.1f} {len(f.samples):5}")
    lags = Figures("lag", [lag for r in reports for _, lag in r.lags_s])
    during = Figures("lag", [lag for r in reports for at, lag in r.lags_s if queries[0] <= at <= queries[1] + 1])
    quiet = Figures("lag", [lag for r in reports for at, lag in r.lags_s if not queries[0] <= at <= queries[1] + 1])
    snapshots = Figures("snapshot", [s for r in reports for s in r.snapshot_s])
    features = [n for r in reports for n in r.features]
    expected = args.vehicles / INTERVAL_S * args.seconds
    print()
    print(
        f"fan-out: publish -> client receipt over {len(lags.samples):,} sampled fixes:"
        f" p50 {lags.q(50) * 1000:.0f} ms, p95 {lags.q(95) * 1000:.0f} ms, p99 {lags.q(99) * 1000:.0f} ms,"
        f" max {max(lags.samples, default=float('nan')) * 1000:.0f} ms"
    )
    for label, part in (("while the queries above ran", during), ("while none ran", quiet)):
        print(
            f"  {label}: p50 {part.q(50) * 1000:.0f} ms, p95 {part.q(95) * 1000:.0f} ms,"
            f" p99 {part.q(99) * 1000:.0f} ms ({len(part.samples):,} fixes)"
        )
    print(
        f"  each measuring client got {min(features, default=0):,} .. {max(features, default=0):,} features"
        f" ({expected:,.0f} published in {load_seconds:.0f} s);"
        f" snapshot of {max((n for r in reports for n in r.snapshot_features), default=0):,} features"
        f" in p50 {snapshots.q(50):.2f} s, max {max(snapshots.samples, default=float('nan')):.2f} s"
    )
    sizes = [mb for r in reports for mb in r.received_mb]
    print(
        f"  every client received {min(sizes, default=0):.1f} .. {max(sizes, default=0):.1f} MB of changes"
        f" ({args.measuring} of them parsed every message and sampled every tenth vehicle's lag)"
    )
    print(f"  the API process used {api_share:.0%} of a core during the load; peak {api_peak or 0:.0f} MB")
    errors = [e for r in reports for e in r.errors]
    if errors:
        print(f"  {len(errors)} client(s) lost their connection, e.g. {errors[0][:160]}")
    http_live = next(f for f in figures if f.name.startswith("live: GET"))
    naive = next(f for f in figures if "naive" in f.name)
    http_track = next(f for f in figures if f.name.startswith("track: GET"))
    print()
    checks = [
        (f"live query p95 < {TARGET_LIVE_P95_MS:.0f} ms (GET /positions/live: {http_live.q(95):.0f} ms;"
         f" naive baseline {naive.q(95):.0f} ms)", http_live.q(95) < TARGET_LIVE_P95_MS),
        (f"one-day track p95 < {TARGET_TRACK_P95_MS:.0f} ms ({http_track.q(95):.0f} ms)",
         http_track.q(95) < TARGET_TRACK_P95_MS),
        (f"fan-out lag p99 < {TARGET_LAG_P99_S:.0f} s ({lags.q(99):.2f} s)", lags.q(99) < TARGET_LAG_P99_S),
        (f"every client kept up (>= 95% of the published fixes: {min(features, default=0) / expected:.0%})",
         min(features, default=0) >= 0.95 * expected),
    ]  # fmt: skip
    for text, ok in checks:
        print(f"  {'PASS' if ok else 'FAIL'}  {text}")


if __name__ == "__main__":
    sys.exit(main())
