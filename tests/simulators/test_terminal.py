"""The simulated JT/T 808 terminals: which vehicles have one, what their reports say, and (end to end) that their
fixes reach the database through the real gateway, broker and collector."""

from __future__ import annotations

from datetime import UTC, datetime

from domain.jt808.framing import Frame, Framer
from domain.jt808.header import Version, parse_packet
from domain.jt808.messages import LocationBatch, LocationReport, decode
from domain.jt808.terminal import LOCATION_BATCH, LOCATION_REPORT, batch_body, frames, location_body
from simulators.city import City
from simulators.terminal import BATCH_FIXES, location_of, on_jt808, version_of
from simulators.vehicles import Fleet
from tests.support.simulators import SEED

START = datetime(2026, 3, 2, 0, tzinfo=UTC)  # a Monday, 08:00 in Jingdezhen: vehicles drive


def test_the_share_picks_the_same_vehicles_every_run_and_mixes_both_editions(city: City) -> None:
    ids = [f"veh-{n:05d}" for n in range(2000)]
    assert not any(on_jt808(SEED, i, 0.0) for i in ids)
    assert all(on_jt808(SEED, i, 1.0) for i in ids)
    chosen = [i for i in ids if on_jt808(SEED, i, 0.2)]
    assert 0.17 < len(chosen) / len(ids) < 0.23
    assert set(chosen) <= {i for i in ids if on_jt808(SEED, i, 0.5)}  # a larger share keeps the smaller's
    editions = [version_of(SEED, i) for i in chosen]
    assert 0.3 < editions.count(Version.V2019) / len(editions) < 0.5
    assert [version_of(SEED, v.id) for v in city.vehicles] == [version_of(SEED, v.id) for v in city.vehicles]


def test_the_platform_reads_each_report_as_the_fix_the_vehicle_made(city: City) -> None:
    """Every fix of an hour of driving, framed as its terminal sends it (both editions) and read back by the
    platform's decoder: the same time, place, speed, heading, ignition, odometer, fuel and satellites."""
    fleet = Fleet(city, SEED, START.timestamp())
    fixes = [f for upload in fleet.step(START.timestamp() + 3600) for f in upload.fixes]
    assert any(f.speed > 0 for f in fixes)
    for n, fix in enumerate(fixes):
        version = (Version.V2013, Version.V2019)[n % 2]
        (wire,) = frames(LOCATION_REPORT, city.vehicles[0].terminal_id, n, location_body(location_of(fix)), version)
        (item,) = Framer().feed(wire)
        assert isinstance(item, Frame)
        packet = parse_packet(item.packet)
        assert packet.header.phone == city.vehicles[0].terminal_id.lstrip("0")
        message = decode(packet.header, packet.body)
        assert isinstance(message, LocationReport)
        read = message.location
        assert (read.time, read.latitude, read.longitude) == (fix.time, fix.latitude, fix.longitude)
        assert (read.speed, read.direction, read.ignition) == (fix.speed, round(fix.heading) % 360, fix.ignition)
        assert (read.mileage, read.fuel, read.satellites) == (fix.odometer, fix.fuel, fix.satellites)
        assert read.positioned


def test_a_full_blind_zone_batch_fits_one_packet(city: City) -> None:
    """A batch of the longest items the simulator sends stays one packet: the gateway answers it as one message."""
    fleet = Fleet(city, SEED, START.timestamp())
    fixes = [f for upload in fleet.step(START.timestamp() + 3600) for f in upload.fixes]
    longest = max(fixes, key=lambda f: len(location_body(location_of(f))))
    body = batch_body([location_of(longest)] * BATCH_FIXES, blind=True)
    (wire,) = frames(LOCATION_BATCH, city.vehicles[0].terminal_id, 1, body, Version.V2019)
    (item,) = Framer().feed(wire)
    assert isinstance(item, Frame)
    packet = parse_packet(item.packet)
    message = decode(packet.header, packet.body)
    assert isinstance(message, LocationBatch)
    assert message.blind
    assert len(message.locations) == BATCH_FIXES
