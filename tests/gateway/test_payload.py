"""A terminal's fixes as the device contract's position payloads: read back by the collector's own parser."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import orjson
import pytest

from collector.contract import Limits, decode_items
from collector.position import parse
from domain.jt808.location import Alarm, Location, Status
from gateway.payload import impossible, item, payloads

FIX = Location(
    alarm=Alarm.EMERGENCY | Alarm.MAIN_POWER_CUT,
    status=Status.ACC | Status.POSITIONED | Status.SOUTH,
    latitude=-28.681234,
    longitude=115.891234,
    altitude=42,
    speed=61.3,
    direction=359,
    time=datetime(2026, 3, 2, 7, 41, 30, tzinfo=UTC),
    mileage=18221.5,
    fuel=40.2,
    satellites=11,
)
RECEIVED = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def test_a_fix_is_a_position_the_collector_reads_field_by_field() -> None:
    rows, rejected = parse("v-1", orjson.dumps(item("v-1", FIX, blind=True)), RECEIVED, Limits())
    assert rejected == []
    [row] = rows
    assert (row.vehicle_id, row.time, row.received_at) == ("v-1", FIX.time, RECEIVED)
    assert (row.latitude, row.longitude, row.speed, row.heading) == (-28.681234, 115.891234, 61.3, 359)
    assert (row.ignition, row.odometer, row.blind, row.altitude, row.satellites, row.fuel) == (
        True, 18221.5, True, 42, 11, 40.2,
    )  # fmt: skip
    assert (row.alarm, row.status) == (int(FIX.alarm), int(FIX.status))


def test_a_fix_without_item_0x01_has_no_odometer() -> None:
    without = item("v-1", replace(FIX, mileage=None, satellites=None, fuel=None))
    assert "odometer" not in without
    assert "satellites" not in without
    assert "fuel" not in without


def test_a_fix_at_0_0_is_impossible() -> None:
    assert impossible(replace(FIX, latitude=0.0, longitude=0.0))
    assert not impossible(replace(FIX, latitude=0.0))


@pytest.mark.parametrize(("fixes", "max_bytes", "max_items"), [(1, 65536, 1000), (2500, 65536, 1000), (30, 900, 1000)])
def test_payloads_keep_the_contracts_limits_and_the_order_of_fixes(fixes: int, max_bytes: int, max_items: int) -> None:
    items = [item("v-1", replace(FIX, mileage=FIX.mileage + i)) for i in range(fixes)]
    limits = Limits(max_payload_bytes=max_bytes, max_items=max_items)
    out = list(payloads(items, max_bytes=max_bytes, max_items=max_items))
    read = [each for payload in out for each in decode_items(payload, limits)]
    assert [each["odometer"] for each in read] == [FIX.mileage + i for i in range(fixes)]
    assert all(len(payload) <= max_bytes for payload in out)
    if fixes > 1:
        # As few payloads as the limits allow: each but the last is full.
        assert all(len(payload) + 300 > max_bytes or payload.count(b'"vehicle"') == max_items for payload in out[:-1])
