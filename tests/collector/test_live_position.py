"""Late and out-of-order positions are stored, and never move a vehicle's live position backwards."""

from __future__ import annotations

import random

import orjson
import psycopg

from collector.metrics import Metrics
from domain.topics import topic
from tests.support.broker import publish
from tests.support.messages import position_payload
from tests.support.registry import Devices
from tests.support.waiting import wait_for_count
from yiwang.settings import Settings


def live(url: str, vehicle: str) -> tuple[float, float, float] | None:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT extract(epoch FROM time) * 1000, latitude, odometer FROM live_position WHERE vehicle_id = %s",
            [vehicle],
        ).fetchone()
    return None if row is None else (float(row[0]), row[1], row[2])


async def test_out_of_order_and_late_positions(settings: Settings, devices: Devices, collector: Metrics) -> None:
    root = settings.topic_root
    vehicle = devices.vehicles[0]
    t = topic(root, "vehicle", vehicle, "position")
    fixes = [position_payload(i) for i in range(300)]
    shuffled = fixes[100:300]
    random.Random(7).shuffle(shuffled)
    await publish(settings.mqtt_port, [(t, orjson.dumps(f)) for f in shuffled])
    url = settings.database_url
    assert await wait_for_count(url, "SELECT count(*) FROM position WHERE vehicle_id = %s", [vehicle], 200) == 200
    newest = fixes[299]
    assert live(url, vehicle) == (float(newest["time"]), newest["latitude"], newest["odometer"])

    # The blind-zone upload of the first 100 fixes arrives last, in one array, in reverse order.
    late = [{**f, "blind": True} for f in reversed(fixes[:100])]
    await publish(settings.mqtt_port, [(t, orjson.dumps(late))])
    assert await wait_for_count(url, "SELECT count(*) FROM position WHERE vehicle_id = %s", [vehicle], 300) == 300
    assert live(url, vehicle) == (float(newest["time"]), newest["latitude"], newest["odometer"])
    with psycopg.connect(url) as conn:
        blind = conn.execute(
            "SELECT count(*) FROM position WHERE vehicle_id = %s AND blind AND received_at > time", [vehicle]
        ).fetchone()
    assert blind == (100,)


async def test_live_position_follows_the_newest_fix_of_each_vehicle(
    settings: Settings, devices: Devices, collector: Metrics
) -> None:
    root = settings.topic_root
    messages = [
        (topic(root, "vehicle", vehicle, "position"), orjson.dumps(position_payload(i + n * 7)))
        for n, vehicle in enumerate(devices.vehicles)
        for i in range(50)
    ]
    random.Random(3).shuffle(messages)
    await publish(settings.mqtt_port, messages)
    url = settings.database_url
    assert (
        await wait_for_count(url, "SELECT count(*) FROM position WHERE vehicle_id = ANY(%s)", [devices.vehicles], 150)
        == 150
    )
    for n, vehicle in enumerate(devices.vehicles):
        newest = position_payload(49 + n * 7)
        assert live(url, vehicle) == (float(newest["time"]), newest["latitude"], newest["odometer"])
