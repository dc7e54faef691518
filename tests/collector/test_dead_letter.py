"""Every class of bad message lands in the dead-letter table with its reason; good ones around it are stored."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import orjson
import psycopg
import pytest

from collector.metrics import Metrics
from domain.topics import topic
from tests.support.broker import publish
from tests.support.messages import position_payload, reading_payload
from tests.support.registry import Devices
from tests.support.waiting import wait_for_count
from yiwang.settings import Settings

DEAD_OF = "SELECT count(*) FROM dead_letter WHERE topic LIKE %s"


def bad_messages(root: str, d: Devices) -> list[tuple[str, str, bytes]]:
    """(expected reason, topic, payload) for each class of bad message."""
    meter = topic(root, "meter", d.meters[0], "reading")
    vehicle = topic(root, "vehicle", d.vehicles[0], "position")
    future = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    fix = position_payload(1)
    return [
        ("malformed_json", meter, b'{"time": "2026-03-02T08:00:00Z", "register": 12'),
        ("malformed_json", meter, b'{"time": "2026-03-02T08:00:00Z", "register": NaN}'),
        ("malformed_json", meter, b"\xff\xfe not utf-8"),
        ("bad_shape", meter, b'"just a string"'),
        ("bad_shape", meter, b"[]"),
        ("invalid_field", meter, orjson.dumps({"time": "2026-03-02T08:00:00Z", "register": "12.5"})),
        ("invalid_field", meter, orjson.dumps({"time": "2026-03-02T08:00:00Z", "register": "NaN"})),
        ("invalid_field", meter, orjson.dumps({"time": "2026-03-02T08:00:00", "register": 1.0})),  # no offset
        ("invalid_field", meter, orjson.dumps({"time": "2026-03-02T08:00:00Z"})),
        ("invalid_field", meter, orjson.dumps({"time": "2026-03-02T08:00:00Z", "register": -5.0})),
        ("invalid_field", vehicle, orjson.dumps({**fix, "ignition": "on"})),
        ("invalid_field", vehicle, orjson.dumps({**fix, "speed": 12, "colour": "red"})),
        ("impossible_coordinates", vehicle, orjson.dumps({**fix, "latitude": 91.0})),
        ("impossible_coordinates", vehicle, orjson.dumps({**fix, "longitude": -180.5})),
        ("impossible_coordinates", vehicle, orjson.dumps({**fix, "latitude": 0, "longitude": 0})),  # no fix
        # Before year 1 once in UTC: once crashed the parser, and the redelivery crashed it again.
        ("invalid_field", meter, orjson.dumps({"time": "0001-01-01T00:00:00+08:00", "register": 1.0})),
        ("future_time", meter, orjson.dumps({"time": future, "register": 1.0})),
        ("too_old", vehicle, orjson.dumps({**fix, "time": 1000})),
        ("unknown_device", topic(root, "meter", "m-nobody", "reading"), orjson.dumps(reading_payload(1))),
        ("unknown_device", topic(root, "vehicle", "v-nobody", "position"), orjson.dumps(fix)),
        ("device_mismatch", meter, orjson.dumps(reading_payload(1, meter=d.meters[1]))),
        ("device_mismatch", vehicle, orjson.dumps({**fix, "vehicle": d.vehicles[1]})),
        ("oversize", meter, orjson.dumps({"time": "2026-03-02T08:00:00Z", "register": 1.0, "pad": "x" * 70_000})),
        ("oversize", meter, orjson.dumps([reading_payload(i) for i in range(1001)])),
    ]


async def test_each_bad_message_is_recorded_with_its_reason_and_good_ones_still_stored(
    settings: Settings, devices: Devices, collector: Metrics
) -> None:
    root = settings.topic_root
    bad = bad_messages(root, devices)
    good_meter = topic(root, "meter", devices.meters[2], "reading")
    messages: list[tuple[str, bytes]] = []
    for i, (_, t, payload) in enumerate(bad):
        messages.append((good_meter, orjson.dumps(reading_payload(2 * i))))
        messages.append((t, payload))
        messages.append((good_meter, orjson.dumps(reading_payload(2 * i + 1))))
    await publish(settings.mqtt_port, messages)

    url = settings.database_url
    assert await wait_for_count(url, DEAD_OF, [f"{root}/%"], len(bad)) == len(bad)
    assert await wait_for_count(
        url, "SELECT count(*) FROM reading WHERE meter_id = %s", [devices.meters[2]], 2 * len(bad)
    ) == 2 * len(bad)
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT topic, payload, payload_size, payload_sha256, reason, detail FROM dead_letter WHERE topic LIKE %s",
            [f"{root}/%"],
        ).fetchall()
    # The payload's first bytes, its size and hash: enough to see what was sent, never all of a large one.
    recorded = sorted((reason, t, bytes(prefix), size, bytes(digest)) for t, prefix, size, digest, reason, _ in rows)
    prefix = settings.dead_letter_prefix_bytes
    assert recorded == sorted((r, t, p[:prefix], len(p), hashlib.sha256(p).digest()) for r, t, p in bad)
    assert all(detail for *_, detail in rows), "every dead letter says why"
    # Nothing of the bad messages was stored as data.
    assert await wait_for_count(url, "SELECT count(*) FROM reading WHERE meter_id = %s", [devices.meters[0]], 0) == 0
    assert (
        await wait_for_count(url, "SELECT count(*) FROM position WHERE vehicle_id = %s", [devices.vehicles[0]], 0) == 0
    )
    for reason in {r for r, _, _ in bad}:
        expected = sum(1 for r, _, _ in bad if r == reason)
        assert collector.registry.get_sample_value("yiwang_collector_rejected_total", {"reason": reason}) == expected


async def test_one_bad_item_of_an_array_is_refused_alone(
    settings: Settings, devices: Devices, collector: Metrics
) -> None:
    root = settings.topic_root
    items = [position_payload(i, blind=True) for i in range(10)]
    items[4] = {**items[4], "latitude": 123.0}
    items[7] = {**items[7], "speed": -5.0}
    t = topic(root, "vehicle", devices.vehicles[2], "position")
    await publish(settings.mqtt_port, [(t, orjson.dumps(items))])
    url = settings.database_url
    assert (
        await wait_for_count(url, "SELECT count(*) FROM position WHERE vehicle_id = %s", [devices.vehicles[2]], 8) == 8
    )
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT reason, detail FROM dead_letter WHERE topic = %s ORDER BY detail", [t]).fetchall()
    assert [(reason, detail.split(":")[0]) for reason, detail in rows] == [
        ("impossible_coordinates", "item 4"),
        ("invalid_field", "item 7"),
    ]


@pytest.mark.parametrize("garbage", [500])
async def test_a_flood_of_garbage_does_not_stop_the_collector(
    settings: Settings, devices: Devices, collector: Metrics, garbage: int
) -> None:
    root = settings.topic_root
    meter = topic(root, "meter", devices.meters[1], "reading")
    flood = [(meter, b"\x00" * (i % 50 + 1)) for i in range(garbage)]
    after = [(meter, orjson.dumps(reading_payload(i))) for i in range(100)]
    await publish(settings.mqtt_port, flood + after)
    url = settings.database_url
    assert (
        await wait_for_count(url, "SELECT count(*) FROM reading WHERE meter_id = %s", [devices.meters[1]], 100) == 100
    )
    assert await wait_for_count(url, "SELECT count(*) FROM dead_letter WHERE topic = %s", [meter], garbage) == garbage


async def test_a_message_the_database_refuses_is_isolated_and_the_rest_of_its_batch_stored(
    settings: Settings, devices: Devices, collector: Metrics
) -> None:
    # Something validation lets through and the database refuses (here a trigger, standing in for a
    # constraint added later): the collector finds the one message by halving its batch.
    meter = devices.meters[1]
    url = settings.database_url
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            f"""CREATE FUNCTION refuse_{meter.replace("-", "_")}() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF NEW.meter_id = '{meter}' AND NEW.register = 1666 THEN
                        RAISE EXCEPTION 'register 1666 is refused';
                    END IF;
                    RETURN NEW;
                END $$"""
        )
        conn.execute(
            f"CREATE TRIGGER refuse_{meter.replace('-', '_')} BEFORE INSERT ON reading"
            f" FOR EACH ROW EXECUTE FUNCTION refuse_{meter.replace('-', '_')}()"
        )
    try:
        root = settings.topic_root
        messages = [(topic(root, "meter", meter, "reading"), orjson.dumps(reading_payload(i))) for i in range(1000)]
        await publish(settings.mqtt_port, messages)
        stored = "SELECT count(*) FROM reading WHERE meter_id = %s"
        assert await wait_for_count(url, stored, [meter], 999) == 999
        dead = "SELECT reason, payload FROM dead_letter WHERE topic = %s"
        await wait_for_count(url, "SELECT count(*) FROM dead_letter WHERE topic = %s", [messages[0][0]], 1)
        with psycopg.connect(url) as conn:
            rows = conn.execute(dead, [messages[0][0]]).fetchall()
        assert [(reason, bytes(payload)) for reason, payload in rows] == [("database_refused", messages[666][1])]
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"DROP TRIGGER refuse_{meter.replace('-', '_')} ON reading")
