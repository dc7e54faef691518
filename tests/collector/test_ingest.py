"""Messages published through the real broker become rows, exactly once."""

from __future__ import annotations

import orjson
import psycopg

from collector.metrics import Metrics
from domain.topics import topic
from tests.support.broker import publish
from tests.support.messages import position_messages, position_payload, reading_messages, reading_payload
from tests.support.registry import Devices
from tests.support.waiting import count, eventually, wait_for_count
from yiwang.settings import Settings

READINGS_OF = "SELECT count(*) FROM reading WHERE meter_id = ANY(%s)"
POSITIONS_OF = "SELECT count(*) FROM position WHERE vehicle_id = ANY(%s)"


async def test_n_messages_become_n_rows_and_republishing_adds_none(
    settings: Settings, devices: Devices, collector: Metrics
) -> None:
    root = settings.topic_root
    messages = [m for meter in devices.meters for m in reading_messages(root, meter, 400)]
    messages += [m for vehicle in devices.vehicles for m in position_messages(root, vehicle, 400)]
    await publish(settings.mqtt_port, messages)

    url = settings.database_url
    assert await wait_for_count(url, READINGS_OF, [devices.meters], 1200) == 1200
    assert await wait_for_count(url, POSITIONS_OF, [devices.vehicles], 1200) == 1200

    await publish(settings.mqtt_port, messages)

    def duplicates() -> float:
        return sum(
            collector.registry.get_sample_value("yiwang_collector_rows_duplicate_total", {"family": family}) or 0
            for family in ("reading", "position")
        )

    # Every republished message is taken and committed as a duplicate, and none is stored twice.
    await eventually(lambda: duplicates() >= 2400)
    assert duplicates() == 2400
    assert count(url, READINGS_OF, [devices.meters]) == 1200
    assert count(url, POSITIONS_OF, [devices.vehicles]) == 1200


async def test_array_payloads_store_every_item(settings: Settings, devices: Devices, collector: Metrics) -> None:
    root = settings.topic_root
    meter, vehicle = devices.meters[0], devices.vehicles[0]
    arrays = [
        (topic(root, "meter", meter, "reading"), orjson.dumps([reading_payload(i) for i in range(k, k + 96)]))
        for k in range(0, 960, 96)
    ]
    arrays += [
        (
            topic(root, "vehicle", vehicle, "position"),
            orjson.dumps([position_payload(i, blind=True) for i in range(k, k + 250)]),
        )
        for k in range(0, 1000, 250)
    ]
    await publish(settings.mqtt_port, arrays)
    url = settings.database_url
    assert await wait_for_count(url, READINGS_OF, [[meter]], 960) == 960
    assert await wait_for_count(url, POSITIONS_OF, [[vehicle]], 1000) == 1000
    assert count(url, "SELECT count(*) FROM position WHERE vehicle_id = %s AND blind", [vehicle]) == 1000


async def test_stored_values_are_what_the_device_sent(settings: Settings, devices: Devices, collector: Metrics) -> None:
    root = settings.topic_root
    vehicle = devices.vehicles[1]
    payload = position_payload(
        7,
        altitude=41.5,
        satellites=9,
        accuracy=3.5,
        soc=76.5,
        alarm=2**31 + 2,
        status=3,
        heading=359.0,
        vehicle=vehicle,
    )
    meter = devices.meters[1]
    reading = {"meter": meter, "time": "2026-03-02T16:15:00+08:00", "register": 123456.7}
    await publish(
        settings.mqtt_port,
        [
            (topic(root, "vehicle", vehicle, "position"), orjson.dumps(payload)),
            (topic(root, "meter", meter, "reading"), orjson.dumps(reading)),
        ],
    )
    url = settings.database_url
    assert await wait_for_count(url, POSITIONS_OF, [[vehicle]], 1) == 1
    assert await wait_for_count(url, READINGS_OF, [[meter]], 1) == 1
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT extract(epoch FROM time) * 1000, latitude, longitude, speed, heading, odometer, ignition, altitude,"
            " satellites, accuracy, soc, fuel, alarm, status, blind, received_at >= time"
            " FROM position WHERE vehicle_id = %s",
            [vehicle],
        ).fetchone()
        assert row is not None
        assert [float(row[0]), *row[1:]] == [
            float(payload["time"]), payload["latitude"], payload["longitude"], 30.0, 359.0, payload["odometer"],
            True, 41.5, 9, 3.5, 76.5, None, 2**31 + 2, 3, False, True,
        ]  # fmt: skip
        stored = conn.execute("SELECT time, register FROM reading WHERE meter_id = %s", [meter]).fetchone()
        assert stored is not None
        assert stored[0].isoformat() == "2026-03-02T08:15:00+00:00"
        assert stored[1] == 123456.7
