"""bench/rls: what row-level security would cost the API's reads of positions and readings (docs/access.md).

    .venv/bin/python -m bench.rls            # 1,000 vehicles of 50 units, a day of fixes each minute; 600 meters
    .venv/bin/python -m bench.rls --quick    # a tenth of the vehicles and meters (figures are rough)

Starts its own TimescaleDB, migrates it, writes a synthetic registry and history straight into the tables (not the
device path), and times each query as the API's role, first without policies, then with the policies that
docs/access.md sketches (a request's organisations in `yiwang.organisations`, '*' for every one): each query is
run `--repeats` times in both states, alternately, and the median is reported, for a unit user (one organisation)
and for a user who sees every organisation.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

from db.migrate import migrate
from yiwang.stack import Stack, free_port

UNITS = 50
# The scope of a request: one organisation, or every one.
_ORGS = "string_to_array(current_setting('yiwang.organisations', true), ',')"
_EVERY = "current_setting('yiwang.organisations', true) = '*'"
_VEHICLES = f"vehicle_id IN (SELECT id FROM vehicle WHERE organisation_id = ANY({_ORGS}))"  # noqa: S608 - no input
_METERS = (
    "meter_id IN (SELECT m.id FROM meter m JOIN institution i ON i.id = m.institution_id "  # noqa: S608 - no input
    f"WHERE i.organisation_id = ANY({_ORGS}))"
)
POLICIES = {
    "position": f"{_EVERY} OR {_VEHICLES}",
    "live_position": f"{_EVERY} OR {_VEHICLES}",
    "reading": f"{_EVERY} OR {_METERS}",
}
# What the API asks, in its shape: (name, SQL, who asks: one unit or every unit).
QUERIES = [
    (
        "one vehicle's day of fixes (a track)",
        "SELECT time, latitude, longitude, speed FROM position WHERE vehicle_id = 'v00007' "
        "AND time >= %(start)s AND time < %(end)s ORDER BY time",
    ),
    (
        "fixes of the day per vehicle (a report)",
        "SELECT vehicle_id, count(*), max(odometer) - min(odometer) FROM position "
        "WHERE time >= %(start)s AND time < %(end)s GROUP BY vehicle_id",
    ),
    ("the live map (every newest fix)", "SELECT * FROM live_position"),
    (
        "one meter's readings of the period",
        "SELECT time, register FROM reading WHERE meter_id = 'm00007' AND time >= %(start)s AND time < %(end)s "
        "ORDER BY time",
    ),
    (
        "readings of the period per meter (a roll-up)",
        "SELECT meter_id, count(*), max(register) - min(register) FROM reading "
        "WHERE time >= %(start)s AND time < %(end)s GROUP BY meter_id",
    ),
]


def _load(conn: psycopg.Connection, vehicles: int, meters: int, end: datetime) -> None:
    conn.execute(
        "INSERT INTO organisation (id, name) SELECT 'o' || lpad(n::text, 3, '0'), 'unit ' || n "
        "FROM generate_series(0, %s - 1) n",
        (UNITS,),
    )
    conn.execute(
        """INSERT INTO institution (id, organisation_id, name, category)
           SELECT 'i' || lpad(n::text, 4, '0'), 'o' || lpad((n %% %s)::text, 3, '0'), 'inst ' || n, 'agency'
           FROM generate_series(0, %s - 1) n""",
        (UNITS, meters // 3),
    )
    conn.execute(
        """INSERT INTO meter (id, institution_id, energy_type, unit)
           SELECT 'm' || lpad(n::text, 5, '0'), 'i' || lpad((n / 3)::text, 4, '0'), 'electricity', 'kWh'
           FROM generate_series(0, %s - 1) n""",
        (meters,),
    )
    conn.execute(
        """INSERT INTO vehicle (id, organisation_id, plate, energy)
           SELECT 'v' || lpad(n::text, 5, '0'), 'o' || lpad((n %% %s)::text, 3, '0'), 'P' || n, 'gasoline'
           FROM generate_series(0, %s - 1) n""",
        (UNITS, vehicles),
    )
    conn.execute(
        """INSERT INTO position (vehicle_id, time, latitude, longitude, speed, heading, odometer, ignition,
                                 received_at)
           SELECT 'v' || lpad(v::text, 5, '0'), t, 29.3 + v * 1e-4, 117.2 + extract(epoch FROM t) * 1e-7, 30, 90,
                  extract(epoch FROM t) / 120, true, t
           FROM generate_series(0, %s - 1) v,
                generate_series(%s::timestamptz - interval '1 day', %s::timestamptz, interval '1 minute') t""",
        (vehicles, end, end),
    )
    conn.execute(
        """INSERT INTO live_position SELECT DISTINCT ON (vehicle_id) * FROM position
           ORDER BY vehicle_id, time DESC"""
    )
    conn.execute(
        """INSERT INTO reading (meter_id, time, register, received_at)
           SELECT 'm' || lpad(m::text, 5, '0'), t, extract(epoch FROM t) / 3600, t
           FROM generate_series(0, %s - 1) m,
                generate_series(%s::timestamptz - interval '14 days', %s::timestamptz, interval '15 minutes') t""",
        (meters, end, end),
    )
    conn.execute("ANALYZE")


def _policies(conn: psycopg.Connection, on: bool) -> None:
    for table in POLICIES:
        verb = "ENABLE" if on else "DISABLE"
        conn.execute(f"ALTER TABLE {table} {verb} ROW LEVEL SECURITY")


def _timed(conn: psycopg.Connection, query: str, params: dict[str, object]) -> float:
    started = time.perf_counter()
    with conn.transaction():
        conn.execute(query, params).fetchall()
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench.rls", description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    vehicles, meters = (100, 60) if args.quick else (1000, 600)
    home = Path(tempfile.mkdtemp(prefix="yiwang-bench-rls-"))
    home.chmod(0o755)
    stack = Stack.at(home, free_port(), free_port(), shared_buffers="512MB")
    load = os.getloadavg()[0]
    print(f"bench/rls on {os.cpu_count()} cores, load average {load:.2f}: {vehicles} vehicles, {meters} meters")
    stack.postgres.start()
    try:
        migrate(stack.postgres.url)
        stack.postgres.grant()
        end = datetime.now(UTC).replace(second=0, microsecond=0)
        started = time.monotonic()
        with psycopg.connect(stack.postgres.url, autocommit=True) as owner:
            _load(owner, vehicles, meters, end)
            for table, condition in POLICIES.items():
                owner.execute(f"CREATE POLICY scope ON {table} FOR SELECT USING ({condition})")
            print(f"  loaded in {time.monotonic() - started:.0f} s", flush=True)
            with psycopg.connect(stack.postgres.service_url("api"), autocommit=True) as api:
                _measure(owner, api, args.repeats, end)
    finally:
        stack.postgres.stop()
        shutil.rmtree(home, ignore_errors=True)


def _measure(owner: psycopg.Connection, api: psycopg.Connection, repeats: int, end: datetime) -> None:
    params: dict[str, object] = {"start": end - timedelta(days=1), "end": end}
    print(f"  {'query':48} {'who':6} {'rows':>7} {'no RLS ms':>10} {'RLS ms':>8} {'ratio':>6}")
    for name, query in QUERIES:
        for who, scope in (("unit", "o007"), ("all", "*")):
            api.execute("SELECT set_config('yiwang.organisations', %s, false)", (scope,))
            times: dict[bool, list[float]] = {False: [], True: []}
            rows: Callable[[], int] = lambda: len(api.execute(query, params).fetchall())  # noqa: E731, B023
            counts = {}
            for on in (False, True):
                _policies(owner, on)
                counts[on] = rows()
            for _ in range(repeats):
                for on in (False, True):
                    _policies(owner, on)
                    times[on].append(_timed(api, query, params))
            plain, guarded = statistics.median(times[False]), statistics.median(times[True])
            seen = f"{counts[True]}" if counts[True] == counts[False] or who == "unit" else f"{counts[True]}!"
            print(f"  {name:48} {who:6} {seen:>7} {plain:10.2f} {guarded:8.2f} {guarded / plain:6.2f}", flush=True)
        _policies(owner, False)


if __name__ == "__main__":
    main()
