"""bench/growth: ingest, a one-day track, the live map and a city's annual indicators as the history grows.

    .venv/bin/python -m bench.growth                     # 1M, 10M, 100M positions (over an hour, 20 GiB)
    .venv/bin/python -m bench.growth --sizes 1M,10M      # the first two steps only
    .venv/bin/python -m bench.growth --quick             # 100 vehicles, 100k and 1M positions: a few minutes

Starts its own TimescaleDB and Mosquitto, registers a simulated city (institutions with their meters and years,
vehicles of its units) and grows its history in steps, each step adding days after the last: a fixed fleet over
more and more days, which is how a network's history grows (the fleet changes little; the days never stop). A
vehicle-day is 984 positions, as an official car's: two hours of driving reported every 10 s, and a parked report
every 5 minutes the rest of the day; the meters report their registers every 15 minutes, in the proportion of a
city's meters to its vehicles (3,000 to 20,000). The history goes straight into the hypertables with set-based SQL
(a benchmark backfill, not the device path), a day per statement; then the worker's own code builds what it would
have built meanwhile: the consumption roll-up from the meters marked stale (worker/rollup.py) and the packed track
hours (db/tracks.py `pack`), so every query below is the one users run.

At each size it measures, beside the figure at the first size:

- ingest: a fixed batch of live messages (positions of the fleet and a reading of each meter, after the history)
  queued in the collector's session by bench/loadgen, then drained by `yiwang collect`, timed from 10% to 100% of
  its messages as bench/ingest times it; the median of --rounds after a warm-up round;
- a one-day track: GET /vehicles/{id}/track over the step's last day (the vehicles in turn);
- the live map: GET /positions/live, every vehicle;
- a city's annual indicators: GET /energy/indicators?group=city for the year of the step's last day;

each query the median of --repeats after a warm-up, the three interleaved. The goal is flat: ingest within 10% of
the first size's, each query within 2x. It prints the disk each step takes (hypertable_size, which sums a
hypertable's chunks as pg_total_relation_size does a table's) and how long each part of each step took, and exits
non-zero on a broken result: a row lost or doubled, a track without its day's fixes, a map without every vehicle,
indicators without figures. A missed target is a FAIL line to read, not a broken result.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import orjson
import psycopg
from psycopg import sql

from api.access.users import create_user
from bench import loadgen
from bench.ingest import BATCH, _load, _session, _stop, _watch
from bench.services import _process, _wait_http
from db import tracks
from db.ingest import widening_spans
from db.marks import CONSUMPTION
from db.migrate import migrate
from db.pool import open_pool
from db.registry import import_document
from domain.registry import RegistryDocument
from domain.topics import subscriptions, topic
from simulators.city import build_city
from worker import rollup
from yiwang.stack import Stack, free_port

ROOT = "bench"
SEED = 20260101
ZONE = ZoneInfo("Asia/Shanghai")
DISPATCHER = "bench-growth-dispatcher"
STAFF = "bench-growth-staff"

# A vehicle-day: two hours of driving every 10 s from a vehicle's own hour (08:00 to 15:00), parked reports every
# 5 minutes (5 s past the 10 s grid, so never on a driving fix's time) outside that window.
DRIVE_FIXES = 720
DRIVE_EVERY_S = 10
PARKED_EVERY_S = 300
PER_VEHICLE_DAY = DRIVE_FIXES + 86_400 // PARKED_EVERY_S - DRIVE_FIXES * DRIVE_EVERY_S // PARKED_EVERY_S  # 984
READING_EVERY_S = 900
READINGS_PER_DAY = 86_400 // READING_EVERY_S
KM_PER_DAY = 40.0

# The goal of issue 19: flat from the first size to the last.
INGEST_FLOOR = 0.9  # ingest at least 90% of the first size's
QUERY_CEILING = 2.0  # each query at most twice the first size's
DISK_MARGIN = 5 << 30  # bytes left free after a step, or it is not started

QUICK = {"sizes": "100k,1M", "vehicles": 100, "institutions": 5, "messages": 10_000, "rounds": 1, "repeats": 5}

_DAY_OF_POSITIONS = """
INSERT INTO position (vehicle_id, time, latitude, longitude, speed, heading, odometer, ignition, satellites,
                      received_at)
SELECT f.id, t.at,
       29.20 + (f.n %% 100) * 0.002 + 0.01 * sin(t.step / 20.0),
       117.10 + (f.n / 100) * 0.001 + 0.01 * cos(t.step / 20.0),
       CASE WHEN t.driving THEN 20 ELSE 0 END,
       (360 - (t.step * 2.865)::int %% 360) %% 360,
       10000 + %(km_before)s + t.step * %(km_per_fix)s,
       t.driving, 11, t.at
FROM unnest(%(vehicles)s::text[]) WITH ORDINALITY AS f (id, n),
     LATERAL (SELECT %(midnight)s::timestamptz + make_interval(hours => 8 + (f.n %% 8)::int)) AS g (go),
     LATERAL (
         SELECT g.go + k * interval '10 seconds', k, true FROM generate_series(0, %(drive)s - 1) AS k
         UNION ALL
         SELECT p.at, CASE WHEN p.at < g.go THEN 0 ELSE %(drive)s - 1 END, false
         FROM generate_series(0, 86400 / %(parked)s - 1) AS j,
              LATERAL (SELECT %(midnight)s::timestamptz + j * %(parked)s * interval '1 second'
                              + interval '5 seconds') AS p (at)
         WHERE p.at < g.go OR p.at >= g.go + %(drive)s * interval '10 seconds'
     ) AS t (at, step, driving)
"""

# A register that rises with a daily swing and never falls: daily / 96 * (K + 10 sin(2 pi K / 96)), K the quarter
# hours since the history's first midnight (its derivative stays above 1 - 10 * 2 pi / 96 > 0). `_register_at` is
# the same in Python, for the live readings.
# With the meters' spans widened, as the collector widens them (db/ingest.py).
_DAY_OF_READINGS = sql.SQL(
    """
WITH stored AS (
    INSERT INTO reading (meter_id, time, register, received_at)
    SELECT m.id, t.at, 1000 + m.daily / 96.0 * (t.k + 10 * sin(2 * pi() * t.k / 96.0)), t.at
    FROM unnest(%(meters)s::text[], %(daily)s::float8[]) AS m (id, daily),
         LATERAL (SELECT %(midnight)s::timestamptz + q * interval '15 minutes', %(k0)s + q
                  FROM generate_series(0, 95) AS q) AS t (at, k)
    RETURNING meter_id, time
)
{widen}"""
).format(widen=widening_spans(sql.SQL("SELECT meter_id, min(time), max(time) FROM stored GROUP BY meter_id")))


def parse_size(text: str) -> int:
    """'100k', '1M', '2.5M', '1G' or a plain number of positions."""
    found = re.fullmatch(r"\s*([\d.]+)\s*([kKmMgG]?)\s*", text)
    if found is None:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 100k, 1M, 100M)")
    scale = {"": 1, "k": 1_000, "m": 1_000_000, "g": 1_000_000_000}[found.group(2).lower()]
    return round(float(found.group(1)) * scale)


def label(positions: int) -> str:
    for scale, suffix in ((1_000_000_000, "G"), (1_000_000, "M"), (1_000, "k")):
        if positions >= scale:
            return f"{positions / scale:g}{suffix}"
    return str(positions)


@dataclass(frozen=True)
class Fleet:
    """What the history is of: vehicle ids, and each meter's id and mean daily rise of its register."""

    vehicles: list[str]
    meters: list[tuple[str, float]]


@dataclass
class Step:
    """One size: what was grown, how long each part took, what it takes on disk, and what was measured."""

    name: str
    days: int
    positions: int = 0
    readings: int = 0
    seconds: dict[str, float] = field(default_factory=dict)  # part -> seconds
    sizes: dict[str, int] = field(default_factory=dict)  # relation -> bytes
    ingest: list[float] = field(default_factory=list)  # msg/s of each timed round
    queries: dict[str, list[float]] = field(default_factory=dict)  # name -> seconds of each timed run
    track_plan: tuple[float, float] = (0.0, 0.0)  # the track's read in SQL: planning and execution ms
    loads: list[float] = field(default_factory=list)  # the machine's 1-minute load average after each part

    def note_load(self) -> str:
        self.loads.append(os.getloadavg()[0])
        return f"load {self.loads[-1]:.2f}"

    @property
    def ingest_rate(self) -> float:
        return statistics.median(self.ingest)

    def median_ms(self, name: str) -> float:
        return statistics.median(self.queries[name]) * 1000


TRACK = "one-day track"
LIVE = "live map"
INDICATORS = "annual indicators (city)"
QUERIES = (TRACK, LIVE, INDICATORS)


# ---- growing the history ---------------------------------------------------------------------------------------


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=ZONE)


async def _register(url: str, document: dict[str, Any], password: str) -> None:
    async with await psycopg.AsyncConnection.connect(url) as conn:
        await import_document(conn, RegistryDocument.model_validate(document))
        await create_user(conn, DISPATCHER, password, "dispatcher")
        await create_user(conn, STAFF, password, "energy_staff")
        await conn.commit()


def grow(url: str, fleet: Fleet, first: date, days: range, step: Step) -> None:
    """The days `days` (counted from `first`) of every vehicle and meter, a day per statement; progress every
    minute."""
    began = last = time.monotonic()
    km_per_fix = KM_PER_DAY / DRIVE_FIXES
    with psycopg.connect(url, autocommit=True) as conn:
        for n, d in enumerate(days, start=1):
            midnight = _midnight(first + timedelta(days=d))
            conn.execute(
                _DAY_OF_POSITIONS,
                {
                    "vehicles": fleet.vehicles,
                    "midnight": midnight,
                    "km_before": d * KM_PER_DAY,
                    "km_per_fix": km_per_fix,
                    "drive": DRIVE_FIXES,
                    "parked": PARKED_EVERY_S,
                },
            )
            conn.execute(
                _DAY_OF_READINGS,
                {
                    "meters": [m for m, _ in fleet.meters],
                    "daily": [daily for _, daily in fleet.meters],
                    "midnight": midnight,
                    "k0": d * READINGS_PER_DAY,
                },
            )
            if time.monotonic() - last > 60:
                last = time.monotonic()
                done = n * len(fleet.vehicles) * PER_VEHICLE_DAY
                print(
                    f"    {n} of {len(days)} days: {done:,} positions in {last - began:.0f} s"
                    f" ({done / (last - began):,.0f}/s); load {_load()}",
                    flush=True,
                )
    step.positions += len(days) * len(fleet.vehicles) * PER_VEHICLE_DAY
    step.readings += len(days) * len(fleet.meters) * READINGS_PER_DAY


async def build_rollups(url: str, fleet: Fleet, since: datetime, packed_until: datetime) -> tuple[float, float]:
    """What the worker would have done meanwhile: the meters marked stale from `since` (as the collector marks those
    whose readings it stores) recounted by the consumption roll-up, and every vehicle's hours before
    `packed_until` packed. Returns the seconds of each."""
    async with open_pool(url, max_size=2, name="bench-growth-rollup") as pool:
        began = time.monotonic()
        async with pool.connection() as conn:
            await CONSUMPTION.mark(conn, dict.fromkeys((m for m, _ in fleet.meters), since))
            await conn.commit()
        while await rollup.refresh(pool, ZONE):
            pass
        consumption = time.monotonic() - began
        began = time.monotonic()
        await tracks.pack(pool, timedelta(0), now=packed_until)
        packing = time.monotonic() - began
    return consumption, packing


def settle(url: str, admin_url: str, *, first_step: bool) -> None:
    """The live table from the history's newest fixes (the first step only: the live messages after it are newer
    than any later history), what autovacuum would do after a bulk load (statistics and the visibility map), and a
    checkpoint. A network's history grows over months, its checkpoints with it; the backfill writes gigabytes in
    minutes, and without one the checkpointer would still be writing them out while the step's ingest is timed."""
    with psycopg.connect(url, autocommit=True) as conn:
        if first_step:
            conn.execute(
                """INSERT INTO live_position SELECT DISTINCT ON (vehicle_id) * FROM position
                   ORDER BY vehicle_id, time DESC ON CONFLICT DO NOTHING"""
            )
        for table in ("position", "reading", "track_hour", "track_packed", "live_position", "consumption_day",
                      "consumption_month"):  # fmt: skip
            conn.execute(sql.SQL("VACUUM ANALYZE {}").format(sql.Identifier(table)))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute("CHECKPOINT")


def checkpointer_writes(url: str) -> int:
    """Bytes the checkpointer has written since the server started: what it writes during an ingest round competes
    with the round for the disk."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT buffers_checkpoint * current_setting('block_size')::bigint FROM pg_stat_bgwriter"
        ).fetchone()
    assert row is not None
    written: int = row[0]
    return written


def disk(url: str) -> dict[str, int]:
    """Bytes on disk: each hypertable with its chunks' indexes and TOAST, the roll-ups, the whole database."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            """SELECT hypertable_size('position'), hypertable_size('reading'), hypertable_size('track_hour'),
                      pg_total_relation_size('consumption_day') + pg_total_relation_size('consumption_month'),
                      pg_database_size(current_database())"""
        ).fetchone()
    assert row is not None
    return dict(zip(("position", "reading", "track_hour", "consumption roll-up", "database"), row, strict=True))


def explain_track(url: str, vehicle: str, day: date) -> tuple[float, float]:
    """The planning and execution time of the one-day track's read (db/tracks.py), from EXPLAIN ANALYZE: a
    hypertable's planning grows with the chunks it must consider, which the history multiplies."""
    params = {"vehicle": vehicle, "start": _midnight(day), "end": _midnight(day + timedelta(days=1))}
    with psycopg.connect(url, autocommit=True) as conn:
        for _ in range(2):  # the second, warm
            row = conn.execute(sql.SQL("EXPLAIN (ANALYZE, FORMAT JSON) ") + sql.SQL(tracks._READ), params).fetchone()
    assert row is not None
    [plan] = row[0]
    return plan["Planning Time"], plan["Execution Time"]


# ---- ingest through the collector ------------------------------------------------------------------------------


def live_batch(fleet: Fleet, at: datetime, first: date, per_vehicle: int) -> list[loadgen.Message]:
    """`per_vehicle` positions of every vehicle every 10 s from `at`, and a reading of each meter halfway."""
    out: list[loadgen.Message] = []
    half = at + timedelta(seconds=per_vehicle * DRIVE_EVERY_S / 2)
    k = (half - _midnight(first)).total_seconds() / READING_EVERY_S
    readings = [
        (
            topic(ROOT, "meter", meter, "reading"),
            orjson.dumps({"time": int(half.timestamp() * 1000), "register": round(_register_at(daily, k), 6)}),
        )
        for meter, daily in fleet.meters
    ]
    for i in range(per_vehicle):
        ms = int((at + timedelta(seconds=i * DRIVE_EVERY_S)).timestamp() * 1000)
        for n, vehicle in enumerate(fleet.vehicles):
            body = {
                "time": ms,
                "latitude": round(29.20 + (n % 100) * 0.002 + 0.01 * math.sin(i / 20), 6),
                "longitude": round(117.10 + (n // 100) * 0.001 + 0.01 * math.cos(i / 20), 6),
                "speed": 20.0,
                "heading": 90.0,
                "odometer": 90_000.0 + i * KM_PER_DAY / DRIVE_FIXES,
                "ignition": True,
                "satellites": 11,
            }
            out.append((topic(ROOT, "vehicle", vehicle, "position"), orjson.dumps(body)))
        if i == per_vehicle // 2:
            out.extend(readings)
    return out


def _register_at(daily: float, k: float) -> float:
    return 1000 + daily / 96.0 * (k + 10 * math.sin(2 * math.pi * k / 96.0))


def ingest_round(stack: Stack, home: Path, messages: list[loadgen.Message], window: tuple[datetime, datetime]) -> float:
    """Queue `messages` in the collector's session while it is away, start it, time its drain from 10% to 100% of
    them (bench/ingest's window); check every row is stored once. Returns messages/s."""
    client_id = "yiwang-growth-collector"
    filters = subscriptions(ROOT)
    port = stack.mosquitto.port
    _session(port, client_id, filters, v5=False, keep=True)
    loadgen.publish(port, messages, broker_pid=stack.mosquitto.pid())
    metrics_port = free_port()
    env = {
        **os.environ,
        "YIWANG_DATABASE_URL": stack.postgres.url,
        "YIWANG_MQTT_PORT": str(port),
        "YIWANG_MQTT_TOPIC_ROOT": ROOT,
        "YIWANG_MQTT_CLIENT_ID": client_id,
        "YIWANG_METRICS_PORT": str(metrics_port),
        "YIWANG_BATCH_SIZE": str(BATCH),
        "YIWANG_MQTT_RECEIVE_MAXIMUM": str(4 * BATCH),
        "YIWANG_LOG_LEVEL": "WARNING",
    }
    log = home / "collector.log"
    with log.open("ab") as out:
        proc = subprocess.Popen([sys.executable, "-m", "yiwang.cli", "collect"], env=env, stdout=out, stderr=out)
    try:
        # A round is a second or two at a quiet machine's rate: scraped every 0.1 s, not bench.ingest's 0.5 s (its
        # rounds drain 200,000 messages), so that 10 % and 100 % fall in different scrapes.
        first, started, ended = _watch(metrics_port, len(messages), proc, log, every=0.1)
    finally:
        _stop(proc)
    _session(port, client_id, filters, v5=False, keep=False)
    with psycopg.connect(stack.postgres.url) as conn:
        row = conn.execute(
            """SELECT (SELECT count(*) FROM position WHERE time >= %(start)s AND time < %(end)s)
                    + (SELECT count(*) FROM reading WHERE time >= %(start)s AND time < %(end)s)""",
            {"start": window[0], "end": window[1]},
        ).fetchone()
    if row is None or row[0] != len(messages):
        raise RuntimeError(f"ingest: {row[0] if row else 0:,} rows stored of {len(messages):,} messages")
    return (len(messages) - first) / (ended - started)


# ---- the API's queries -----------------------------------------------------------------------------------------


def _api_env(stack: Stack, api_port: int) -> dict[str, str]:
    return {
        **os.environ,
        "YIWANG_DATABASE_URL": stack.postgres.url,
        "YIWANG_MQTT_PORT": str(stack.mosquitto.port),
        "YIWANG_MQTT_TOPIC_ROOT": ROOT,
        "YIWANG_API_PORT": str(api_port),
        "YIWANG_API_METRICS_PORT": str(free_port()),
        "YIWANG_API_TOKEN_SECRET": secrets.token_urlsafe(48),
        "YIWANG_API_ACCESS_TOKEN_MINUTES": "600",
        "YIWANG_LOG_LEVEL": "WARNING",
    }


def _token(http: httpx.Client, user: str, password: str) -> dict[str, str]:
    login = http.post("/auth/token", data={"username": user, "password": password})
    login.raise_for_status()
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


def query(
    stack: Stack, home: Path, fleet: Fleet, password: str, *, day: date, warmup: int, repeats: int
) -> dict[str, list[float]]:
    """Start the API on the grown database, then time the three queries, interleaved, after a warm-up."""
    api_port = free_port()
    base = f"http://127.0.0.1:{api_port}"
    argv = [sys.executable, "-m", "yiwang.cli", "api"]
    with (
        _process(argv, _api_env(stack, api_port), home / "api.log") as api,
        httpx.Client(base_url=base, timeout=120) as http,
    ):
        _wait_http(f"{base}/health", api)
        dispatcher = _token(http, DISPATCHER, password)
        staff = _token(http, STAFF, password)
        # The feed loads the live table at start: wait for the whole fleet on the map (a condition, not a time).
        deadline = time.monotonic() + 60
        while len(http.get("/positions/live", headers=dispatcher).json()["features"]) < len(fleet.vehicles):
            if time.monotonic() > deadline:
                raise RuntimeError("the live map never showed every vehicle")
            time.sleep(0.2)
        span = {"start": _midnight(day).isoformat(), "end": _midnight(day + timedelta(days=1)).isoformat()}
        year = {"start": date(day.year, 1, 1).isoformat(), "end": date(day.year + 1, 1, 1).isoformat(), "group": "city"}
        turn = iter(range(10**9))

        def track() -> None:
            vehicle = fleet.vehicles[next(turn) % len(fleet.vehicles)]
            got = http.get(f"/vehicles/{vehicle}/track", headers=dispatcher, params=span)
            got.raise_for_status()
            fixes = got.json()["features"][0]["properties"]["fixes"]
            if fixes != PER_VEHICLE_DAY:
                raise RuntimeError(f"track of {vehicle} on {day}: {fixes} fixes, {PER_VEHICLE_DAY} stored")

        def live() -> None:
            got = http.get("/positions/live", headers=dispatcher)
            got.raise_for_status()
            if len(got.json()["features"]) != len(fleet.vehicles):
                raise RuntimeError(f"live map: {len(got.json()['features'])} of {len(fleet.vehicles)} vehicles")

        def indicators() -> None:
            got = http.get("/energy/indicators", headers=staff, params=year)
            got.raise_for_status()
            rows = got.json()["rows"]
            if not rows or rows[0]["current"]["energy_kgce"] is None:
                raise RuntimeError(f"indicators of {day.year}: no comprehensive energy ({rows[:1]})")

        runs: dict[str, Callable[[], None]] = {TRACK: track, LIVE: live, INDICATORS: indicators}
        for _ in range(warmup):
            for run in runs.values():
                run()
        timed: dict[str, list[float]] = {name: [] for name in runs}
        for _ in range(repeats):
            for name, run in runs.items():
                began = time.perf_counter()
                run()
                timed[name].append(time.perf_counter() - began)
    return timed


# ---- the run ---------------------------------------------------------------------------------------------------


def plan(sizes: list[int], vehicles: int) -> list[Step]:
    """Each size as whole days of the fleet (at least one: a one-day track needs its day), in growing order."""
    steps: list[Step] = []
    for size in sorted(set(sizes)):
        days = max(1, round(size / (vehicles * PER_VEHICLE_DAY)))
        if steps and days <= steps[-1].days:
            raise SystemExit(f"sizes {label(sizes[0])}..: {label(size)} adds no day to the step before it")
        steps.append(Step(label(size), days))
    return steps


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="1M,10M,100M", help="positions at each step, growing (k, M, G suffixes)")
    p.add_argument("--vehicles", type=int, default=1000, help="the fleet whose history grows")
    p.add_argument(
        "--institutions",
        type=int,
        default=45,
        help="institutions of the city (2 to 6 meters each): 45 gives about 150 meters, a city's 3,000 meters to "
        "20,000 vehicles",
    )
    p.add_argument("--messages", type=int, default=50_000, help="live messages in each ingest round")
    p.add_argument("--rounds", type=int, default=5, help="timed ingest rounds at each size, after a warm-up round")
    p.add_argument("--repeats", type=int, default=20, help="timed runs of each query at each size, after a warm-up")
    p.add_argument("--quick", action="store_true", help=f"a small run for a smoke test: {QUICK}")
    args = p.parse_args(argv)
    if args.quick:
        for key, value in QUICK.items():
            setattr(args, key, value)
    steps = plan([parse_size(s) for s in args.sizes.split(",")], args.vehicles)

    began = time.monotonic()
    home = Path(tempfile.mkdtemp(prefix="yiwang-bench-growth-"))
    home.chmod(0o755)
    # A private loopback broker: anonymous, so that logging in is not part of any figure.
    stack = Stack.at(home, free_port(), free_port(), shared_buffers="2GB", inflight=4 * BATCH, anonymous=True)
    print(f"bench/growth on {os.cpu_count()} cores, load average {_load()}: stack in {home}", flush=True)
    # SIGTERM (e.g. from `timeout`) as Ctrl-C: psycopg then cancels the statement running (a day of history takes
    # a while) before the stack below is stopped.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    stack.up()
    try:
        url = stack.postgres.url
        migrate(url)
        # The history ends at a local midnight with room after it, before now, for every ingest round's messages.
        per_vehicle = max(1, args.messages // args.vehicles)
        round_span = timedelta(seconds=per_vehicle * DRIVE_EVERY_S + 60)
        rounds = len(steps) * (args.rounds + 1)
        end = datetime.now(ZONE).date()
        while datetime.now(ZONE) - _midnight(end) < round_span * rounds + timedelta(minutes=5):
            end -= timedelta(days=1)
        first = end - timedelta(days=steps[-1].days)
        city = build_city(SEED, args.institutions, args.vehicles)
        document = city.registry_document(years=sorted({first.year - 1, first.year, end.year}))
        for meter in document["meters"]:
            meter["reading_interval_seconds"] = READING_EVERY_S
        password = secrets.token_urlsafe(16)
        asyncio.run(_register(url, document, password))
        # Registers count in the meter's own unit, before its multiplier (a CT ratio of 40, say).
        fleet = Fleet([v["id"] for v in document["vehicles"]], [(m.id, m.daily / m.multiplier) for m in city.meters])
        print(
            f"  {len(fleet.vehicles):,} vehicles ({PER_VEHICLE_DAY} positions a vehicle-day), {args.institutions}"
            f" institutions with {len(fleet.meters)} meters ({READINGS_PER_DAY} readings a meter-day);"
            f" history from {first} on; {len(fleet.vehicles) * per_vehicle + len(fleet.meters):,} live messages"
            f" per ingest round",
            flush=True,
        )
        live_at = _midnight(end)
        done_days = 0
        for n, step in enumerate(steps):
            free = shutil.disk_usage(home).free
            if n:
                before = steps[n - 1]
                need = before.sizes["database"] * (step.days - before.days) / before.days
                rate = before.seconds["history"] / before.days
                print(
                    f"  step {step.name}: {step.days - before.days} more days, about {need / 2**30:.1f} GiB and"
                    f" {rate * (step.days - before.days) / 60:.0f} min of history at the last step's rate;"
                    f" {free / 2**30:.1f} GiB free",
                    flush=True,
                )
                if free - need < DISK_MARGIN:
                    print(f"  step {step.name} skipped: it would leave under {DISK_MARGIN >> 30} GiB free", flush=True)
                    steps = steps[:n]
                    break
            else:
                print(f"  step {step.name}: {step.days} day(s); {free / 2**30:.1f} GiB free", flush=True)
            started = time.monotonic()
            grow(url, fleet, first, range(done_days, step.days), step)
            step.seconds["history"] = time.monotonic() - started
            step_end = _midnight(first + timedelta(days=step.days))
            consumption, packing = asyncio.run(
                build_rollups(url, fleet, _midnight(first + timedelta(days=done_days)), step_end)
            )
            step.seconds["consumption roll-up"], step.seconds["track packing"] = consumption, packing
            started = time.monotonic()
            settle(url, stack.postgres.admin_url, first_step=n == 0)
            step.seconds["vacuum analyze and checkpoint"] = time.monotonic() - started
            step.sizes = disk(url)
            done_days = step.days
            total = sum(s.positions for s in steps[: n + 1])
            print(
                f"    {total:,} positions, {sum(s.readings for s in steps[: n + 1]):,} readings:"
                + "".join(f" {part} {seconds:.0f} s," for part, seconds in step.seconds.items())
                + f" {step.note_load()}",
                flush=True,
            )
            print("    disk: " + ", ".join(f"{k} {v / 2**20:,.0f} MiB" for k, v in step.sizes.items()), flush=True)
            started, written = time.monotonic(), checkpointer_writes(url)
            for r in range(args.rounds + 1):
                at = live_at
                live_at += round_span
                messages = live_batch(fleet, at, first, per_vehicle)
                rate = ingest_round(stack, home, messages, (at, live_at))
                if r:  # the first is the warm-up
                    step.ingest.append(rate)
            step.seconds["ingest"] = time.monotonic() - started
            written = checkpointer_writes(url) - written
            print(
                f"    ingest: {', '.join(f'{r:,.0f}' for r in step.ingest)} msg/s; the checkpointer wrote"
                f" {written / 2**20:,.0f} MiB meanwhile; {step.note_load()}",
                flush=True,
            )
            started = time.monotonic()
            day = first + timedelta(days=step.days - 1)
            step.track_plan = explain_track(url, fleet.vehicles[0], day)
            step.queries = query(stack, home, fleet, password, day=day, warmup=3, repeats=args.repeats)
            step.seconds["queries"] = time.monotonic() - started
            print(
                "    queries (median ms): "
                + ", ".join(f"{name} {step.median_ms(name):,.1f}" for name in QUERIES)
                + f"; the track's read in SQL: planning {step.track_plan[0]:.1f} ms, execution"
                f" {step.track_plan[1]:.1f} ms; {step.note_load()}",
                flush=True,
            )
    finally:
        stack.down()
        shutil.rmtree(home, ignore_errors=True)
    report(steps, args)
    print(f"\n(whole run {time.monotonic() - began:.0f} s; load average now {_load()})")
    return 0


def report(steps: list[Step], args: argparse.Namespace) -> None:
    base = steps[0]
    print()
    print(
        f"{args.vehicles:,} vehicles and {args.institutions} institutions' meters, history grown in steps;"
        f" ingest the median of {args.rounds} round(s) after a warm-up, each query the median of {args.repeats}"
        f" after a warm-up (ratio: to the {base.name} figure)"
    )
    print()
    head = f"{'size':>6} {'positions':>13} {'readings':>11} {'days':>5} {'disk GiB':>9}"
    head += f" {'ingest msg/s':>13} {'x':>5}" + "".join(
        f" {name + ' ms':>{len(name) + 3}} {'x':>5}" for name in QUERIES
    )
    print(head)
    positions = readings = 0
    for s in steps:
        positions += s.positions
        readings += s.readings
        line = f"{s.name:>6} {positions:13,} {readings:11,} {s.days:5} {s.sizes['database'] / 2**30:9.2f}"
        line += f" {s.ingest_rate:13,.0f} {s.ingest_rate / base.ingest_rate:5.2f}"
        for name in QUERIES:
            line += f" {s.median_ms(name):{len(name) + 3},.1f} {s.median_ms(name) / base.median_ms(name):5.2f}"
        print(line)
    print()
    print("the one-day track's read in SQL (db/tracks.py, EXPLAIN ANALYZE, warm): planning and execution ms")
    for s in steps:
        print(f"  {s.name:>6}: planning {s.track_plan[0]:.1f}, execution {s.track_plan[1]:.1f}")
    print()
    print("time of each step (s):")
    for s in steps:
        parts = ", ".join(f"{part} {seconds:,.0f}" for part, seconds in s.seconds.items())
        print(f"  {s.name:>6}: {parts}; load average {min(s.loads):.1f} to {max(s.loads):.1f}")
    print()
    for s in steps[1:]:
        ratio = s.ingest_rate / base.ingest_rate
        verdict = "PASS" if ratio >= INGEST_FLOOR else "FAIL"
        print(f"  {verdict}  ingest at {s.name} within 10% of {base.name} ({ratio:.2f} x)")
        for name in QUERIES:
            ratio = s.median_ms(name) / base.median_ms(name)
            print(
                f"  {'PASS' if ratio <= QUERY_CEILING else 'FAIL'}  {name} at {s.name} within"
                f" {QUERY_CEILING:.0f} x of {base.name} ({ratio:.2f} x)"
            )
    if len(steps) == 1:
        print("  (one size only: nothing to compare)")
    # A ratio is to a figure measured earlier in the run: if the machine's load changed much meanwhile, it measures
    # the machine as much as the data.
    for s in steps[1:]:
        low, high = min(base.loads + s.loads), max(base.loads + s.loads)
        if high > 1.5 * low:
            print(
                f"  NOTE  load average {min(base.loads):.1f} to {max(base.loads):.1f} at {base.name},"
                f" {min(s.loads):.1f} to {max(s.loads):.1f} at {s.name}: its ratios say as much of the machine as of"
                " the data"
            )


if __name__ == "__main__":
    sys.exit(main())
