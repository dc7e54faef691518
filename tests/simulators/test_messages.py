"""Round trip: every good payload the simulators produce is stored by the collector's parsers as it was meant."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import orjson

from collector.contract import Limits
from simulators.city import City
from simulators.faults import Faults
from simulators.feeds import MeterFeed, VehicleFeed
from simulators.messages import Message
from simulators.meters import local_day
from tests.support.simulators import SEED, items, parse

ROOT = "yw/test"
START = datetime(2025, 3, 10, tzinfo=UTC).timestamp()
DAY = 86400.0


def everything(city: City) -> dict[str, list[Message]]:
    """Live and historical messages of both families, without faults."""
    none = Faults()
    live_meters = MeterFeed(city, seed=SEED, root=ROOT, faults=none, interval=900, start=START)
    history_meters = MeterFeed(city, seed=SEED, root=ROOT, faults=none, interval=900, start=START, end=START + 2 * DAY)
    live_vehicles = VehicleFeed(city, seed=SEED, root=ROOT, faults=none, interval=10, start=START)
    history_vehicles = VehicleFeed(city, seed=SEED, root=ROOT, faults=none, interval=10, start=START)
    out: dict[str, list[Message]] = {
        "live meters": [],
        "history meters": [],
        "live vehicles": [],
        "history vehicles": [],
    }
    t = live_meters.first_tick(START)
    while t < START + DAY:
        out["live meters"] += live_meters.tick(t)
        t += 900
    for day in range(local_day(START), local_day(START + 2 * DAY) + 1):
        out["history meters"] += history_meters.day(day, START, START + 2 * DAY)
    t = START
    while t < START + DAY:
        t += 10
        out["live vehicles"] += live_vehicles.step(t)
    for hour in range(1, 25):
        out["history vehicles"] += history_vehicles.history(START + hour * 3600, flush=hour == 24)
    return out


def test_every_good_payload_is_stored_whole(city: City) -> None:
    received_at = datetime.now(UTC)
    for name, messages in everything(city).items():
        assert messages, name
        for message in messages:
            seen = parse(ROOT, message, received_at)
            assert seen.refused is None, (name, message.payload[:200])
            assert seen.rejected == [], (name, message.payload[:200])
            assert len(seen.rows) == message.items == len(items(message))


def test_what_is_stored_is_what_was_simulated(city: City) -> None:
    feed = MeterFeed(city, seed=SEED, root=ROOT, faults=Faults(), interval=900, start=START)
    t = feed.first_tick(START + 3600)
    models = {m.meter.id: m for m in feed.models}
    for message in feed.tick(t):
        (row,) = parse(ROOT, message).rows
        assert row.time == datetime.fromtimestamp(t, UTC)
        assert abs(row.register - models[row.meter_id].value(t)) <= 0.005
    vehicles = VehicleFeed(city, seed=SEED, root=ROOT, faults=Faults(), interval=10, start=START + 3 * 3600)
    fixes = vehicles.fleet.step(START + 4 * 3600)
    rows = [row for m in VehicleFeed(city, seed=SEED, root=ROOT, faults=Faults(), interval=10, start=START + 3 * 3600)
            .step(START + 4 * 3600) for row in parse(ROOT, m).rows]  # fmt: skip
    expected = [(city.vehicles[u.vehicle].id, f) for u in fixes for f in u.fixes]
    assert len(rows) == len(expected)
    for row, (vehicle_id, fix) in zip(rows, expected, strict=True):
        assert row.vehicle_id == vehicle_id
        # The one position type: what the collector reads is what the terminal measured, but for the receipt time.
        assert row == fix._replace(received_at=row.received_at)


def test_live_reports_are_objects_and_history_arrays_within_the_limits(city: City) -> None:
    limits = Limits()
    shapes: Counter[tuple[str, bytes]] = Counter()
    for name, messages in everything(city).items():
        for message in messages:
            shapes[name, message.payload[:1]] += 1
            assert len(message.payload) <= limits.max_payload_bytes
            assert message.items <= limits.max_items
    assert shapes["live meters", b"["] == 0
    assert shapes["live meters", b"{"] > 0
    assert shapes["history meters", b"{"] == 0
    assert shapes["history vehicles", b"{"] == 0
    assert shapes["live vehicles", b"{"] > 0
    assert shapes["live vehicles", b"["] > 0, "blind-zone uploads are arrays"


def test_the_fullest_arrays_stay_under_64_kib(city: City) -> None:
    feed = MeterFeed(city, seed=SEED, root=ROOT, faults=Faults(), interval=60, start=START, end=START + 3 * DAY)
    a_day_by_the_minute = feed.day(local_day(START) + 1, START, START + 3 * DAY)
    assert max(m.items for m in a_day_by_the_minute) == 500
    assert max(len(m.payload) for m in a_day_by_the_minute) < 0.7 * Limits().max_payload_bytes
    widest = max((m for m in everything(city)["history vehicles"]), key=lambda m: len(m.payload) / max(1, m.items))
    worst = len(orjson.dumps(max(items(widest), key=lambda i: len(orjson.dumps(i)))))
    assert 200 * (worst + 10) < Limits().max_payload_bytes


def test_devices_write_times_both_ways_with_china_time(city: City) -> None:
    kinds: Counter[str] = Counter()
    for messages in everything(city).values():
        for message in messages:
            time = items(message)[0]["time"]
            if isinstance(time, int):
                kinds["epoch ms"] += 1
            else:
                assert time.endswith("+08:00")
                kinds["rfc 3339"] += 1
    assert kinds["epoch ms"] > 100
    assert kinds["rfc 3339"] > 100
