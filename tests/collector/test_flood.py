"""One device's credentials cannot fill the database (issue 14): a refused payload leaves its prefix, size and hash;
a device sending beyond its allowance is counted, not stored; dead letters age out and are bounded per device. And
what normal devices send, a backlog after an outage and a blind-zone upload included, all arrives."""

from __future__ import annotations

import asyncio
import hashlib
import os
import time

import orjson
import psycopg

from collector.metrics import Metrics
from domain.topics import topic
from tests.support.broker import device_port, issue, publish
from tests.support.collector import collecting
from tests.support.messages import position_messages, position_payload, reading_messages, reading_payload
from tests.support.registry import Devices
from tests.support.stack import settings_for
from tests.support.waiting import count, eventually, wait_for_count
from yiwang.stack import Stack

STORED = "SELECT count(*) FROM {} WHERE {} = %s"
READINGS = STORED.format("reading", "meter_id")
POSITIONS = STORED.format("position", "vehicle_id")


def table_bytes(db: psycopg.Connection) -> int:
    row = db.execute("SELECT pg_total_relation_size('dead_letter')").fetchone()
    assert row is not None
    return int(row[0])


def rejected(metrics: Metrics, reason: str) -> float:
    return metrics.registry.get_sample_value("yiwang_collector_rejected_total", {"reason": reason}) or 0


def received(metrics: Metrics, family: str) -> float:
    return metrics.registry.get_sample_value("yiwang_collector_messages_received_total", {"family": family}) or 0


async def test_oversize_payloads_of_one_meter_leave_only_their_prefix_size_and_hash(
    stack: Stack, tag: str, devices: Devices, db: psycopg.Connection
) -> None:
    # The attack of the issue: one meter's own credentials, 200 payloads of 250 KB (under the broker's limit, over
    # the collector's). The rate limit is off here, so that every one of them becomes a dead letter.
    settings = settings_for(stack, tag, device_messages_per_minute=0, device_bytes_per_minute=0)
    meter = devices.meters[0]
    secret = await issue(stack, meter)
    at = topic(settings.topic_root, "meter", meter, "reading")
    payloads = [os.urandom(250_000) for _ in range(200)]  # random: what the database cannot compress
    before = table_bytes(db)
    async with collecting(settings) as metrics:
        await publish(device_port(stack), [(at, p) for p in payloads], window=20, username=meter, password=secret)
        await eventually(lambda: rejected(metrics, "oversize") == len(payloads), 90)
    grown = table_bytes(db) - before
    # Stored whole, they took 50 MB. A row is now its prefix (1 KiB by default) and a few fields, index included.
    assert grown < len(payloads) * 2048, f"dead_letter grew by {grown:,} bytes"
    rows = db.execute(
        "SELECT payload, payload_size, payload_sha256, reason, device_id FROM dead_letter WHERE topic = %s", [at]
    ).fetchall()
    prefix = settings.dead_letter_prefix_bytes
    assert sorted((bytes(p), n, bytes(h), r, d) for p, n, h, r, d in rows) == sorted(
        (p[:prefix], len(p), hashlib.sha256(p).digest(), "oversize", meter) for p in payloads
    )


async def test_a_device_flooding_valid_readings_is_held_to_its_rate_and_the_others_all_arrive(
    stack: Stack, tag: str, devices: Devices, db: psycopg.Connection
) -> None:
    # A small allowance, so that the test floods it in seconds: 60 messages a minute, a burst of one minute.
    settings = settings_for(stack, tag, device_messages_per_minute=60, device_burst_minutes=1)
    flooder, neighbour, vehicle = devices.meters[0], devices.meters[1], devices.vehicles[0]
    as_flooder = {"username": flooder, "password": await issue(stack, flooder)}
    root = settings.topic_root
    flood = reading_messages(root, flooder, 3000)
    normal = reading_messages(root, neighbour, 40)
    fixes = position_messages(root, vehicle, 40)
    async with collecting(settings) as metrics:
        started = time.monotonic()
        await asyncio.gather(
            publish(device_port(stack), flood, **as_flooder),
            publish(stack.mosquitto.port, normal),
            publish(stack.mosquitto.port, fixes),
        )
        await eventually(lambda: received(metrics, "reading") == len(flood) + len(normal), 60)
        await eventually(lambda: received(metrics, "position") == len(fixes), 60)
        minutes = (time.monotonic() - started) / 60
        limited = rejected(metrics, "rate_limited")
    url = settings.database_url
    assert await wait_for_count(url, READINGS, [neighbour], len(normal)) == len(normal)
    assert await wait_for_count(url, POSITIONS, [vehicle], len(fixes)) == len(fixes)
    stored = await wait_for_count(url, READINGS, [flooder], 0)
    # The burst, and what came back while the flood went on.
    assert stored <= 60 + 60 * minutes + 1, f"{stored} of the flood stored in {minutes:.2f} min"
    assert limited == len(flood) - stored
    # Counted in a row per minute, with what the operator needs to find the sender.
    rows = db.execute(
        "SELECT reason, refused, topic, payload_size FROM dead_letter WHERE device_id = %s", [flooder]
    ).fetchall()
    assert {reason for reason, *_ in rows} == {"rate_limited"}
    assert sum(refused for _, refused, *_ in rows) == limited
    assert len(rows) <= minutes + 2
    assert {t for _, _, t, _ in rows} == {flood[0][0]}
    assert count(url, "SELECT count(*) FROM dead_letter WHERE device_id = %s", [neighbour]) == 0


async def test_normal_devices_lose_nothing_to_the_limit_after_an_outage_or_a_tunnel(
    stack: Stack, tag: str, devices: Devices
) -> None:
    settings = settings_for(stack, tag)  # the default allowance
    root = settings.topic_root
    vehicle, meter = devices.vehicles[0], devices.meters[0]
    # The collector's session exists; then the collector is away for a working day and the broker keeps what the
    # devices send: a vehicle driving ten hours at a fix every 10 s, its 7-minute blind zone uploaded at once when
    # it came out of a tunnel, a meter's readings every 15 minutes and its concentrator's backlog of a day.
    async with collecting(settings):
        pass
    driving = position_messages(root, vehicle, 3600)
    tunnel = [(topic(root, "vehicle", vehicle, "position"), orjson.dumps([position_payload(3600 + i, blind=True)
                                                                         for i in range(42)]))]  # fmt: skip
    readings = reading_messages(root, meter, 40)
    backlog = [(topic(root, "meter", meter, "reading"), orjson.dumps([reading_payload(40 + i) for i in range(96)]))]
    await publish(stack.mosquitto.port, driving + tunnel + readings + backlog)
    async with collecting(settings) as metrics:
        url = settings.database_url
        assert await wait_for_count(url, POSITIONS, [vehicle], 3642, seconds=60) == 3642
        assert await wait_for_count(url, READINGS, [meter], 136) == 136
        assert rejected(metrics, "rate_limited") == 0


async def test_dead_letters_age_out_and_are_bounded_per_device(
    stack: Stack, tag: str, devices: Devices, db: psycopg.Connection
) -> None:
    settings = settings_for(stack, tag, dead_letter_max_per_device=20, dead_letter_prune_seconds=0.2)
    meter, other = devices.meters[0], devices.meters[1]
    as_meter = {"username": meter, "password": await issue(stack, meter)}
    at = topic(settings.topic_root, "meter", meter, "reading")
    url = settings.database_url
    mine = "SELECT count(*) FROM dead_letter WHERE device_id = %s"
    async with collecting(settings) as metrics:
        # A meter sending garbage, well within its rate: each message is a dead letter, only the newest 20 stay.
        garbage = [(at, b"{%d" % i) for i in range(60)]
        await publish(device_port(stack), garbage, **as_meter)
        await eventually(lambda: rejected(metrics, "malformed_json") == len(garbage))
        await eventually(lambda: count(url, "SELECT count(*) FROM dead_letter WHERE topic = %s", [at]) == 20)
        kept = {bytes(p) for (p,) in db.execute("SELECT payload FROM dead_letter WHERE topic = %s", [at])}
        assert kept == {payload for _, payload in garbage[-20:]}
        # Older than the retention (30 days by default): deleted at the next turn; younger: kept.
        for days in (40, 20):
            db.execute(
                "INSERT INTO dead_letter (received_at, topic, payload, reason, detail, device_id, payload_size,"
                " payload_sha256) VALUES (now() - make_interval(days => %s), %s, '', 'malformed_json', '', %s, 0, '')",
                [days, topic(settings.topic_root, "meter", other, "reading"), other],
            )
        aged = mine + " AND received_at < now() - interval '30 days'"
        await eventually(lambda: count(url, aged, [other]) == 0)
        assert count(url, mine, [other]) == 1
