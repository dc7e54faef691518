"""Injected faults: seeded, counted, and each one what it claims to be for the collector."""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from datetime import UTC, datetime

import pytest

from domain.dead_letter import Reason
from simulators.city import City
from simulators.faults import FaultKind, Faults, Malformation
from simulators.feeds import MeterFeed, VehicleFeed
from simulators.messages import Message
from tests.support.simulators import SEED, items, parse

ROOT = "sim"
START = datetime(2025, 3, 3, tzinfo=UTC).timestamp()
INTERVAL = 900.0


def live_meters(
    city: City, faults: Faults, days: float, seed: int = SEED
) -> tuple[MeterFeed, list[tuple[float, Message]]]:
    feed = MeterFeed(city, seed=seed, root=ROOT, faults=faults, interval=INTERVAL, start=START)
    sent: list[tuple[float, Message]] = []
    t = feed.first_tick(START)
    while t < START + days * 86400:
        sent += [(t, m) for m in feed.tick(t)]
        t += INTERVAL
    return feed, sent


def by_meter(sent: list[tuple[float, Message]]) -> dict[str, list[tuple[float, float]]]:
    """Each meter's (time, register) as published, in time order."""
    series: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for _, message in sent:
        if message.verdict is None and not message.duplicate:
            seen = parse(ROOT, message)
            series[seen.device_id] += [(r.time.timestamp(), r.register) for r in seen.rows]
    return {k: sorted(v) for k, v in series.items()}


def test_registers_drop_only_at_injected_resets_replacements_and_rollovers(city: City) -> None:
    faults = Faults.only(
        FaultKind.RESET, FaultKind.REPLACEMENT, FaultKind.ROLLOVER,
        resets_per_day=0.3, replacements_per_day=0.2, rollover_share=0.5, rollover_within=3 * 86400,
    )  # fmt: skip
    feed, sent = live_meters(city, faults, days=3)
    events: dict[str, list[tuple[float, FaultKind]]] = defaultdict(list)
    for meter_id, t, kind in feed.injected.events:
        events[meter_id].append((t, kind))
    assert {k for e in events.values() for _, k in e} == {FaultKind.RESET, FaultKind.REPLACEMENT, FaultKind.ROLLOVER}
    meters = {m.id: m for m in city.meters}
    drops = silent = 0
    for meter_id, series in by_meter(sent).items():
        meter = meters[meter_id]
        # Back near zero: at most 30 units, plus what one interval at a peak hour adds.
        near_zero = 30 + 4 * meter.daily / 96 / meter.multiplier
        for (t0, v0), (t1, v1) in itertools.pairwise(series):
            between = [kind for t, kind in events[meter_id] if t0 < t <= t1]
            if v1 < v0:
                assert between, f"{meter_id} dropped from {v0} to {v1} with no fault injected"
                drops += len(between)
                if between == [FaultKind.ROLLOVER]:
                    assert v0 > 0.9 * meter.register_max
                    assert v1 < 0.1 * meter.register_max
                else:
                    assert v1 < near_zero
            else:
                # A restart leaves no drop only on a register that had just restarted.
                assert not between or v0 < near_zero, f"{meter_id}: {between} at {t0}-{t1} left no trace"
                silent += len(between)
    counts = feed.injected.counts
    assert drops + silent == len(feed.injected.events) > 10
    assert drops + silent == counts[FaultKind.RESET] + counts[FaultKind.REPLACEMENT] + counts[FaultKind.ROLLOVER]
    assert silent < drops / 10


def test_a_gap_loses_exactly_the_readings_it_counts(city: City) -> None:
    feed, sent = live_meters(city, Faults.only(FaultKind.GAP, gaps_per_day=2.0), days=2)
    ticks = 2 * 86400 / INTERVAL
    installed = sum(1 for m in feed.models if m.installed <= START)
    published = sum(m.items for _, m in sent)
    assert feed.injected.counts[FaultKind.GAP] > 0
    assert published == installed * ticks - feed.injected.counts["gap_readings"]
    assert all(m.payload.startswith(b"{") for _, m in sent), "a gap is silence, not a batch"


def test_a_late_batch_comes_as_one_array_after_the_fact(city: City) -> None:
    feed, sent = live_meters(city, Faults.only(FaultKind.LATE, lates_per_day=1.0), days=2)
    arrays = [(t, m) for t, m in sent if m.payload.startswith(b"[")]
    assert feed.injected.counts[FaultKind.LATE] > 0
    assert arrays
    assert sum(m.items for _, m in arrays) + feed.buffered == feed.injected.counts["late_readings"]
    for t, message in arrays:
        rows = parse(ROOT, message).rows
        assert len(rows) == message.items > 0
        assert all(r.time.timestamp() < t for r in rows), "sent after the readings were taken"
    installed = sum(1 for m in feed.models if m.installed <= START)
    assert sum(m.items for _, m in sent) + feed.buffered == installed * 2 * 96


def test_a_duplicate_is_the_same_message_twice(city: City) -> None:
    _, sent = live_meters(city, Faults.only(FaultKind.DUPLICATE, duplicate=0.05), days=1)
    duplicates = [m for _, m in sent if m.duplicate]
    assert duplicates
    payloads = Counter((m.topic, m.payload) for _, m in sent)
    assert all(payloads[d.topic, d.payload] == 2 for d in duplicates)
    assert sum(payloads.values()) - len(payloads) == len(duplicates)


def test_malformed_messages_are_refused_for_the_reason_they_carry(city: City) -> None:
    faults = Faults.only(FaultKind.MALFORMED, malformed=0.2)
    meters, sent = live_meters(city, faults, days=0.5)
    vehicles = VehicleFeed(city, seed=SEED, root=ROOT, faults=faults, interval=10, start=START + 9 * 3600)
    sent += [(0.0, m) for m in vehicles.step(START + 12 * 3600)]
    bad = [m for _, m in sent if m.verdict is not None]
    assert {(m.family, m.verdict) for m in bad} >= {
        ("reading", Reason.MALFORMED_JSON), ("reading", Reason.INVALID_FIELD), ("reading", Reason.FUTURE_TIME),
        ("reading", Reason.TOO_OLD), ("reading", Reason.DEVICE_MISMATCH), ("reading", Reason.UNKNOWN_DEVICE),
        ("position", Reason.IMPOSSIBLE_COORDINATES), ("position", Reason.INVALID_FIELD),
    }  # fmt: skip
    known = {m.id for m in city.meters} | {v.id for v in city.vehicles}
    for message in bad:
        seen = parse(ROOT, message)
        if message.verdict is Reason.UNKNOWN_DEVICE:
            # The parser cannot know; the collector's registry check refuses it.
            assert seen.refused is None
            assert not seen.rejected
            assert seen.device_id not in known
        else:
            assert (seen.refused or seen.rejected[0]) == message.verdict, message.payload
            assert not seen.rows
    counted = meters.injected.counts + vehicles.injected.counts
    assert counted[FaultKind.MALFORMED] == len(bad)
    assert sum(counted[f"malformed:{how}"] for how in Malformation) == len(bad)
    for _, message in sent:
        if message.verdict is None:
            seen = parse(ROOT, message)
            assert seen.refused is None
            assert not seen.rejected
            assert len(seen.rows) == message.items


@pytest.mark.parametrize("level", [0.0, 1.0])
def test_faults_follow_the_seed(city: City, level: float) -> None:
    faults = Faults(level=level)
    _, a = live_meters(city, faults, days=1)
    _, b = live_meters(city, faults, days=1)
    _, c = live_meters(city, faults, days=1, seed=SEED + 1)
    assert [m for _, m in a] == [m for _, m in b]
    assert [m.payload for _, m in a] != [m.payload for _, m in c]


def test_no_faults_at_level_zero(city: City) -> None:
    feed, sent = live_meters(city, Faults(level=0.0), days=1)
    assert not feed.injected.counts
    assert not feed.injected.events
    assert all(m.verdict is None and not m.duplicate and m.items == 1 for _, m in sent)
    assert all(len(items(m)) == 1 for _, m in sent)
