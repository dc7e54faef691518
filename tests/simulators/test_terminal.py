"""The simulated JT/T 808 terminals: which vehicles have one, what their reports say, and (end to end) that their
fixes reach the database through the real gateway, broker and collector."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from collector.metrics import Metrics
from domain.jt808.framing import Frame, Framer
from domain.jt808.header import Version, parse_packet
from domain.jt808.messages import LocationBatch, LocationReport, Registration, decode
from domain.jt808.terminal import LOCATION_BATCH, LOCATION_REPORT, REGISTRATION, batch_body, frames, location_body
from simulators.city import City, build_city
from simulators.codes import JT808_CODES, Codes
from simulators.faults import Faults
from simulators.holidays import is_rest_day
from simulators.publisher import Tally, run_vehicles
from simulators.terminal import BATCH_FIXES, location_of, on_jt808, registration, version_of
from simulators.vehicles import Fleet
from tests.support.gateway import gateway_settings, gatewaying
from tests.support.registry import Devices, plate, register_devices, terminal_id
from tests.support.simulators import SEED
from tests.support.waiting import eventually, wait_for_count
from yiwang.settings import Settings

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


def test_the_platform_reads_each_registration_in_both_editions(city: City) -> None:
    for vehicle in city.vehicles:
        for version in Version:
            (wire,) = frames(REGISTRATION, vehicle.terminal_id, 0, registration(vehicle, version), version)
            (item,) = Framer().feed(wire)
            assert isinstance(item, Frame)
            packet = parse_packet(item.packet)
            assert packet.header.phone == vehicle.terminal_id.lstrip("0")
            read = decode(packet.header, packet.body)
            assert isinstance(read, Registration)
            assert (read.province, read.city) == (36, 200)  # 360200, Jingdezhen
            assert read.terminal_id == vehicle.terminal_id[-7:]
            assert read.plate == vehicle.plate.replace("·", "")
            assert read.plate_color == (5 if vehicle.energy in ("battery_electric", "plug_in_hybrid") else 1)


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


# End to end: the simulator's terminals, the real gateway, Mosquitto, the collector and TimescaleDB.

REGISTERED = 24  # vehicles registered for a test; enough that both editions are among them (odds of not: 1e-5)
PER_EDITION = 3


@pytest.fixture
async def devices(settings: Settings, tag: str) -> Devices:
    """Vehicles with JT/T 808 terminal ids of the test's own (the collector fixture waits for `devices`)."""
    return await register_devices(settings.database_url, tag, meters=0, vehicles=REGISTERED, terminals=True)


def terminal_city(tag: str, devices: Devices) -> City:
    """The simulated city's streets and homes, driven by the test's registered vehicles: three 2013 terminals and
    three 2019 ones, each with its registered id and terminal id (a city of the simulator's own ids would collide
    with other tests' cities: every city numbers its vehicles from v00001)."""
    city = build_city(SEED, 6, REGISTERED)
    vehicles = [
        replace(v, id=devices.vehicles[i], terminal_id=terminal_id(tag, i), plate=plate(tag, i))
        for i, v in enumerate(city.vehicles)
    ]
    chosen = [
        v for edition in Version for v in [v for v in vehicles if version_of(SEED, v.id) is edition][:PER_EDITION]
    ]
    assert len(chosen) == 2 * PER_EDITION, "both editions among the registered vehicles"
    return replace(city, vehicles=tuple(chosen))


def expected_fixes(city: City, settings: Settings, start: datetime, stop_after: float) -> set[tuple[str, datetime]]:
    """Every fix the fleet uploads in the run, stepped as `run_vehicles` steps it: (vehicle, fix time)."""
    fleet = Fleet(city, settings.sim_seed, start.timestamp(), interval=settings.sim_vehicle_interval_s)
    t, end = start.timestamp(), start.timestamp() + stop_after
    out: set[tuple[str, datetime]] = set()
    while t < end:
        t = min(t + settings.sim_vehicle_interval_s, end)
        out |= {(city.vehicles[u.vehicle].id, f.time) for u in fleet.step(t) for f in u.fixes}
    return out


def working_morning() -> datetime:
    """09:00 in Jingdezhen on the latest working day before today: the vehicles drive, and the collector takes
    the times (not in the future, not too old)."""
    day = datetime.now(UTC).date() - timedelta(days=1)
    while is_rest_day(day):
        day -= timedelta(days=1)
    return datetime(day.year, day.month, day.day, 1, tzinfo=UTC)


def stored_fixes(url: str, vehicles: list[str]) -> list[tuple[str, datetime, bool]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT vehicle_id, time, blind FROM position WHERE vehicle_id = ANY(%s) ORDER BY vehicle_id, time",
            (vehicles,),
        ).fetchall()
    return [(r[0], r[1], r[2]) for r in rows]


async def test_terminals_drive_through_the_gateway_and_lose_nothing_when_it_restarts(
    settings: Settings, tag: str, devices: Devices, collector: Metrics
) -> None:
    """With the whole fleet on JT/T 808, every fix the vehicles made is stored once, through the real gateway: the
    gateway stops mid-run, the terminals keep their fixes, reconnect with the code they were given, and send what
    was unanswered or made meanwhile as blind-zone batches."""
    city = terminal_city(tag, devices)
    s = gateway_settings(
        settings,
        tag,
        sim_jt808_share=1.0,
        sim_acceleration=900.0,
        sim_client_id=f"yiwang-sim-{tag}",
    )
    start = working_morning()
    stop_after = 3 * 3600.0
    tally = Tally()
    async with gatewaying(s):
        run = asyncio.create_task(
            run_vehicles(s, city, start=start, stop_after=stop_after, faults=Faults(), tally=tally)
        )
        await eventually(lambda: tally.terminals["acknowledged"] >= 100 or run.done(), 30)
    # The gateway is gone: every terminal notices, and keeps what its vehicle makes meanwhile.
    await eventually(lambda: tally.terminals["disconnections"] >= len(city.vehicles) or run.done(), 30)
    assert not run.done(), "the run must outlast the first gateway"
    offline = tally.terminals["fixes_offline"]
    await eventually(lambda: tally.terminals["fixes_offline"] >= offline + 50, 30)
    async with gatewaying(s):
        await asyncio.wait_for(run, 120)

    expected = expected_fixes(city, s, start, stop_after)
    vehicles = [v.id for v in city.vehicles]
    query = "SELECT count(*) FROM position WHERE vehicle_id = ANY(%s)"
    assert await wait_for_count(s.database_url, query, [vehicles], len(expected)) == len(expected)
    stored = stored_fixes(s.database_url, vehicles)
    assert {(v, t) for v, t, _ in stored} == expected
    assert tally.items["position"] == len(expected)  # each fix acknowledged once
    assert tally.messages["position"] == 0  # none went over MQTT
    # Registered once each: the code survived the reconnection (the gateway keeps it in the database).
    assert tally.terminals["registrations"] == len(city.vehicles)
    assert tally.terminals["authentications"] > len(city.vehicles)
    assert tally.terminals["blind_batches"] > 0
    assert sum(blind for _, _, blind in stored) >= tally.terminals["fixes_offline"] - offline


async def test_a_restarted_simulator_authenticates_with_the_codes_it_kept(
    settings: Settings, tag: str, devices: Devices, collector: Metrics, tmp_path: Path
) -> None:
    """The gateway refuses a registration for a phone that holds one, so the terminals keep their codes across the
    simulator's restarts (as real ones keep theirs in flash): `yiwang run` started again is not refused."""
    city = terminal_city(tag, devices)
    s = gateway_settings(
        settings, tag, sim_jt808_share=1.0, sim_acceleration=900.0, sim_client_id=f"yiwang-sim-{tag}", home=tmp_path
    )
    start = working_morning()
    async with gatewaying(s):
        first, second = Tally(), Tally()
        await asyncio.wait_for(run_vehicles(s, city, start=start, stop_after=600.0, faults=Faults(), tally=first), 120)
        assert first.terminals["registrations"] == len(city.vehicles)
        codes = tmp_path / JT808_CODES
        assert oct(codes.stat().st_mode & 0o777) == "0o600"
        assert set(json.loads(codes.read_text())) == {v.terminal_id for v in city.vehicles}
        # The simulator again, the next ten minutes: no terminal registers, each authenticates with its code.
        later = start + timedelta(seconds=600)
        await asyncio.wait_for(run_vehicles(s, city, start=later, stop_after=600.0, faults=Faults(), tally=second), 120)
    assert second.terminals["registrations"] == 0
    assert second.terminals["registrations_refused"] == 0
    assert second.terminals["authentications"] == len(city.vehicles)
    assert second.items["position"] > 0


def test_codes_are_kept_in_a_private_file_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "home" / JT808_CODES
    codes = Codes(path)
    codes.put("013800000001", b"0123456789abcdef0123456789abcdef")
    codes.put("013800000002", b"fedcba9876543210fedcba9876543210")
    codes.put("013800000002", None)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert Codes(path).get("013800000001") == b"0123456789abcdef0123456789abcdef"
    assert Codes(path).get("013800000002") is None
    assert [p.name for p in path.parent.iterdir()] == [JT808_CODES]  # no temporary file left
    path.write_text("{not json")
    assert Codes(path).get("013800000001") is None  # unreadable: the terminals register again
