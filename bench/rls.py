"""bench/rls: what row-level security would cost the API's reads of positions and readings (docs/access.md).

    .venv/bin/python -m bench.rls            # 1,000 vehicles of 50 units, a day of fixes each minute; 600 meters
    .venv/bin/python -m bench.rls --quick    # a tenth of the vehicles and meters (figures are rough)

Starts its own TimescaleDB, migrates it, writes a synthetic registry and history straight into the tables (not the
device path), and times each query as the API's role in three states: `off` (no policy), `sketch` (the policy
docs/access.md first sketched, bound to the API's role: a request's organisations in `yiwang.organisations`, '*'
for every one, tested on every row) and `by role` (a unit user's request takes a role of its own, which the
unit's policy binds; whoever sees every unit reads through a policy that is just `true`). Each query runs
`--repeats` times in each state, the states in turn, for a unit user (one organisation) and for a user who sees
every organisation; the medians are printed, with the rows the policies let through.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from psycopg import sql

from db.ingest import widening_spans
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
# A unit's rows of each table; the sketch of docs/access.md lets '*' see every row.
POLICIES = {"position": _VEHICLES, "live_position": _VEHICLES, "reading": _METERS}
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
    conn.execute(widening_spans(sql.SQL("SELECT meter_id, min(time), max(time) FROM reading GROUP BY meter_id")))
    conn.execute("ANALYZE")


# The design to try after the sketch: unit users' requests take a role of their own, bound by the policies; whoever
# sees every unit reads through a policy that is simply true, which the planner drops.
UNIT_ROLE = "yiwang_api_unit"
STATES = ("off", "sketch", "by role")


def _state(owner: psycopg.Connection, api: psycopg.Connection, api_role: str, state: str, who: str) -> None:
    """Put the policies of `state` in place, and the role a request of `who` reads as."""
    api.execute("RESET ROLE")
    for table, condition in POLICIES.items():
        for policy in ("sketch", "whole", "unit"):
            owner.execute(f"DROP POLICY IF EXISTS {policy} ON {table}")
        owner.execute(f"ALTER TABLE {table} {'DISABLE' if state == 'off' else 'ENABLE'} ROW LEVEL SECURITY")
        if state == "sketch":
            owner.execute(f"CREATE POLICY sketch ON {table} FOR SELECT TO {api_role} USING ({_EVERY} OR {condition})")
        elif state == "by role":
            owner.execute(f"CREATE POLICY whole ON {table} FOR SELECT TO {api_role} USING (true)")
            owner.execute(f"CREATE POLICY unit ON {table} FOR SELECT TO {UNIT_ROLE} USING ({condition})")
    if state == "by role" and who == "unit":
        api.execute(f"SET ROLE {UNIT_ROLE}")


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
        api_role = stack.postgres.roles["api"]
        with psycopg.connect(stack.postgres.admin_url, autocommit=True) as admin:
            admin.execute(f"CREATE ROLE {UNIT_ROLE} NOLOGIN")
            admin.execute(f"GRANT {UNIT_ROLE} TO {api_role}")
        with psycopg.connect(stack.postgres.url, autocommit=True) as owner:
            _load(owner, vehicles, meters, end)
            owner.execute(
                f"GRANT SELECT ON position, live_position, reading, vehicle, meter, institution TO {UNIT_ROLE}"
            )
            print(f"  loaded in {time.monotonic() - started:.0f} s", flush=True)
            with psycopg.connect(stack.postgres.service_url("api"), autocommit=True) as api:
                _measure(owner, api, api_role, args.repeats, end)
    finally:
        stack.postgres.stop()
        shutil.rmtree(home, ignore_errors=True)


def _measure(owner: psycopg.Connection, api: psycopg.Connection, api_role: str, repeats: int, end: datetime) -> None:
    params: dict[str, object] = {"start": end - timedelta(days=1), "end": end}
    print(f"  {'query':48} {'who':6} {'rows':>7} " + " ".join(f"{state + ' ms':>11}" for state in STATES))
    for name, query in QUERIES:
        for who, scope in (("unit", "o007"), ("all", "*")):
            times: dict[str, list[float]] = {state: [] for state in STATES}
            counts = set()
            for round_ in range(repeats + 1):
                for state in STATES:
                    _state(owner, api, api_role, state, who)
                    api.execute("SELECT set_config('yiwang.organisations', %s, false)", (scope,))
                    if round_ == 0 and state != "off":  # what the policies let through, once
                        counts.add(len(api.execute(query, params).fetchall()))
                    elif round_ > 0:
                        times[state].append(_timed(api, query, params))
            seen = "/".join(map(str, sorted(counts)))
            medians = " ".join(f"{statistics.median(times[state]):11.2f}" for state in STATES)
            print(f"  {name:48} {who:6} {seen:>7} {medians}", flush=True)
    _state(owner, api, api_role, "off", "all")


if __name__ == "__main__":
    main()
