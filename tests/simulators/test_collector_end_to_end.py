"""End to end: the city registered by its document, simulators through Mosquitto into the collector and
TimescaleDB; what is stored and what is dead-lettered is what the simulators counted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg

from collector.metrics import Metrics
from db.registry import import_document
from domain.registry import RegistryDocument
from simulators.city import build_city
from simulators.faults import Faults
from simulators.publisher import Tally, run_meters, run_vehicles
from tests.support.simulators import SEED
from tests.support.waiting import wait_for_count
from yiwang.settings import Settings


async def test_stored_rows_and_dead_letters_match_what_the_simulators_counted(
    settings: Settings, collector: Metrics
) -> None:
    # A city of its own: ids that no other test of the session registers.
    city = build_city(SEED + 808, 10, 12)
    document = RegistryDocument.model_validate(city.registry_document())
    async with await psycopg.AsyncConnection.connect(settings.database_url) as conn:
        await import_document(conn, document)

    sim = settings.model_copy(
        update={
            "sim_acceleration": 86400.0,
            "sim_client_id": f"yiwang-sim-{settings.topic_root}",
            "sim_jt808_share": 0.0,  # the MQTT path: the JT/T 808 one is tests/simulators/test_terminal.py's
        }
    )
    # In the past: the collector refuses times more than ten minutes ahead of its own clock.
    start = (datetime.now(UTC) - timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    faults = Faults(level=1.0, malformed=0.05, duplicate=0.05, gaps_per_day=2, lates_per_day=2, resets_per_day=1)
    tally = Tally()
    await run_meters(sim, city, start=start, stop_after=12 * 3600, faults=faults, tally=tally)
    await run_vehicles(
        sim.model_copy(update={"sim_acceleration": 3600.0}),
        city,
        start=start,
        stop_after=1800,
        faults=faults,
        tally=tally,
    )
    assert tally.dead_letters
    assert tally.duplicates
    assert tally.items["reading"]
    assert tally.items["position"]

    url = settings.database_url
    meters, vehicles = [m.id for m in city.meters], [v.id for v in city.vehicles]
    readings = "SELECT count(*) FROM reading WHERE meter_id = ANY(%s)"
    positions = "SELECT count(*) FROM position WHERE vehicle_id = ANY(%s)"
    assert await wait_for_count(url, readings, [meters], tally.items["reading"]) == tally.items["reading"]
    assert await wait_for_count(url, positions, [vehicles], tally.items["position"]) == tally.items["position"]
    dead = "SELECT count(*) FROM dead_letter WHERE topic LIKE %s"
    total = sum(tally.dead_letters.values())
    assert await wait_for_count(url, dead, [f"{settings.topic_root}/%"], total) == total
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT reason, count(*) FROM dead_letter WHERE topic LIKE %s GROUP BY reason", [f"{settings.topic_root}/%"]
        ).fetchall()
    assert dict(rows) == {str(reason): n for reason, n in tally.dead_letters.items()}
