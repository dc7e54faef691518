"""Terminals through the gateway to the database, against the real broker, collector and database."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import replace

import psycopg
import pytest

from collector.metrics import Metrics as CollectorMetrics
from domain.jt808 import terminal as t
from domain.jt808.header import Version
from domain.jt808.location import Alarm, Status
from domain.jt808.responses import RegistrationResult, Result
from gateway.metrics import Metrics
from tests.support.gateway import gateway_settings, gatewaying, sample
from tests.support.registry import Devices, plate, register_devices, terminal_id
from tests.support.terminal import Terminal, fixes
from tests.support.waiting import count, eventually, wait_for_count
from yiwang.settings import Settings

POSITIONS = "SELECT count(*) FROM position WHERE vehicle_id = %s"
DEAD = "SELECT count(*) FROM dead_letter WHERE topic = %s AND reason = %s"


@pytest.fixture
async def fleet(settings: Settings, tag: str) -> Devices:
    """Three vehicles with JT/T 808 terminal ids (the collector fixture's `devices` have none)."""
    return await register_devices(settings.database_url, f"{tag}", meters=0, vehicles=3, terminals=True)


@pytest.fixture
async def devices(fleet: Devices) -> Devices:
    # The collector fixture waits for `devices`: let it be this test's vehicles.
    return fleet


@pytest.fixture
async def gateway(settings: Settings, tag: str, collector: CollectorMetrics) -> AsyncIterator[tuple[Settings, Metrics]]:
    s = gateway_settings(settings, tag)
    async with gatewaying(s) as metrics:
        yield s, metrics


@pytest.mark.parametrize("version", [Version.V2013, Version.V2019])
async def test_a_terminal_registers_authenticates_reports_and_batches_a_blind_zone(
    gateway: tuple[Settings, Metrics], fleet: Devices, tag: str, version: Version
) -> None:
    s, metrics = gateway
    vehicle = fleet.vehicles[0]
    terminal = await Terminal.connect(s.jt808_port, terminal_id(tag, 0), version, plate=plate(tag, 0))
    try:
        await terminal.log_in()
        track = fixes(41)
        assert await terminal.report(track[0]) == Result.SUCCESS
        # The blind zone: 40 fixes in one 0x0704, in packets of 200 bytes (a multi-packet message).
        assert await terminal.batch(track[1:], packet_bytes=200) == Result.SUCCESS
        # Sent again (the answer lost, say): stored once.
        assert await terminal.batch(track[1:]) == Result.SUCCESS
        assert await terminal.ask(t.HEARTBEAT, b"") is not None
    finally:
        await terminal.close()
    assert await wait_for_count(s.database_url, POSITIONS, [vehicle], 41) == 41
    with psycopg.connect(s.database_url) as conn:
        rows = conn.execute(
            "SELECT time, latitude, longitude, speed, heading, ignition, odometer, blind, satellites, status"
            " FROM position WHERE vehicle_id = %s ORDER BY time",
            (vehicle,),
        ).fetchall()
    assert [r[0] for r in rows] == [f.time for f in track]
    first = rows[0]
    assert (first[1], first[2], first[3], first[4], first[5], first[6]) == (28.68, 115.89, 36.5, 45, True, 1000.0)
    assert [r[7] for r in rows] == [False] + [True] * 40
    assert rows[-1][6] == pytest.approx(1024.0)
    assert rows[-1][8] == 9
    assert metrics.registry.get_sample_value("yiwang_gateway_positions_published_total") == 81


async def test_a_terminal_that_never_authenticated_stores_nothing(
    gateway: tuple[Settings, Metrics], fleet: Devices, tag: str
) -> None:
    s, _ = gateway
    phone = terminal_id(tag, 1)
    stranger = await Terminal.connect(s.jt808_port, phone)
    neighbour = await Terminal.connect(s.jt808_port, terminal_id(tag, 2), plate=plate(tag, 2))
    try:
        track = fixes(3)
        assert await stranger.report(track[0]) == Result.FAILURE
        assert await stranger.batch(track) == Result.FAILURE
        assert await stranger.authenticate(b"guessed-code") == Result.FAILURE
        assert await stranger.ask(t.HEARTBEAT, b"") is not None
        # A terminal that did authenticate, meanwhile: its fix is stored, so the stranger's would have been by now.
        await neighbour.log_in()
        assert await neighbour.report(track[0]) == Result.SUCCESS
        assert await wait_for_count(s.database_url, POSITIONS, [fleet.vehicles[2]], 1) == 1
    finally:
        await stranger.close()
        await neighbour.close()
    assert count(s.database_url, POSITIONS, [fleet.vehicles[1]]) == 0
    # Each refusal is recorded, with the frame's bytes, under the terminal's number.
    assert count(s.database_url, DEAD, [f"jt808/{phone.lstrip('0')}", "unauthenticated"]) == 4
    with psycopg.connect(s.database_url) as conn:
        sizes = conn.execute(
            "SELECT payload_size, length(payload) FROM dead_letter WHERE topic = %s", (f"jt808/{phone.lstrip('0')}",)
        ).fetchall()
    assert all(size > 0 and size == stored for size, stored in sizes)


async def test_an_unknown_terminal_is_told_so(gateway: tuple[Settings, Metrics], tag: str) -> None:
    s, _ = gateway
    phone = f"09{int(tag, 16) % 10**9:09d}9"
    terminal = await Terminal.connect(s.jt808_port, phone)
    try:
        result, code = await terminal.register()
    finally:
        await terminal.close()
    assert (result, code) == (RegistrationResult.NO_SUCH_TERMINAL, b"")
    assert count(s.database_url, DEAD, [f"jt808/{phone.lstrip('0')}", "unknown_device"]) == 1


async def test_a_retired_vehicle_or_a_moved_terminal_no_longer_authenticates(
    gateway: tuple[Settings, Metrics], fleet: Devices, tag: str
) -> None:
    s, _ = gateway
    moved, retired = terminal_id(tag, 0), terminal_id(tag, 1)
    codes = {}
    for index, phone in enumerate((moved, retired)):
        terminal = await Terminal.connect(s.jt808_port, phone, plate=plate(tag, index))
        try:
            result, codes[phone] = await terminal.register()
            assert result == RegistrationResult.SUCCESS
        finally:
            await terminal.close()
    with psycopg.connect(s.database_url) as conn:
        # The first vehicle's terminal is moved to the third vehicle (whose own is taken out); the second retires.
        conn.execute("UPDATE vehicle SET terminal_id = NULL WHERE id = %s", (fleet.vehicles[2],))
        conn.execute("UPDATE vehicle SET terminal_id = NULL WHERE id = %s", (fleet.vehicles[0],))
        conn.execute("UPDATE vehicle SET terminal_id = %s WHERE id = %s", (moved, fleet.vehicles[2]))
        conn.execute(
            "UPDATE vehicle SET lifecycle = 'retired', retired_on = current_date, retired_how = 'scrapped'"
            " WHERE id = %s",
            (fleet.vehicles[1],),
        )
    for phone in (moved, retired):
        terminal = await Terminal.connect(s.jt808_port, phone)
        try:
            assert await terminal.authenticate(codes[phone]) == Result.FAILURE
            assert await terminal.report(fixes(1)[0]) == Result.FAILURE
        finally:
            await terminal.close()
    # The moved terminal registers again, now for the vehicle it is in (its registration still names the first: void).
    terminal = await Terminal.connect(s.jt808_port, moved, plate=plate(tag, 2))
    try:
        await terminal.log_in()
        assert await terminal.report(fixes(1)[0]) == Result.SUCCESS
    finally:
        await terminal.close()
    assert await wait_for_count(s.database_url, POSITIONS, [fleet.vehicles[2]], 1) == 1
    assert count(s.database_url, POSITIONS, [fleet.vehicles[0]]) == 0
    assert count(s.database_url, POSITIONS, [fleet.vehicles[1]]) == 0


async def test_a_logout_voids_the_code(gateway: tuple[Settings, Metrics], fleet: Devices, tag: str) -> None:
    s, _ = gateway
    terminal = await Terminal.connect(s.jt808_port, terminal_id(tag, 0), plate=plate(tag, 0))
    try:
        result, code = await terminal.register()
        assert result == RegistrationResult.SUCCESS
        assert await terminal.authenticate(code) == Result.SUCCESS
        assert (await terminal.ask(t.LOGOUT, b"")).result == Result.SUCCESS
        assert await terminal.report(fixes(1)[0]) == Result.FAILURE
        assert await terminal.authenticate(code) == Result.FAILURE
    finally:
        await terminal.close()


async def test_a_registration_for_a_phone_that_holds_one_is_refused_and_takes_nothing(
    gateway: tuple[Settings, Metrics], fleet: Devices, tag: str
) -> None:
    """Phone numbers are SIM numbers, no secret: whoever sends 0x0100 with a registered terminal's number and its
    vehicle's plate (painted on the car) is told 3, "terminal already registered", gets no code, cannot report as
    the vehicle, and the real terminal keeps its own code."""
    s, _ = gateway
    phone, vehicle = terminal_id(tag, 0), fleet.vehicles[0]
    track = fixes(3)
    real = await Terminal.connect(s.jt808_port, phone, plate=plate(tag, 0))
    attacker = await Terminal.connect(s.jt808_port, phone, plate=plate(tag, 0))
    try:
        result, code = await real.register()
        assert result == RegistrationResult.SUCCESS
        assert await real.authenticate(code) == Result.SUCCESS
        assert await real.report(track[0]) == Result.SUCCESS

        assert await attacker.register() == (RegistrationResult.TERMINAL_ALREADY_REGISTERED, b"")
        assert await attacker.authenticate(b"guessed-code") == Result.FAILURE
        emergency = replace(fixes(1, start=track[0].time)[0], alarm=Alarm.EMERGENCY)
        assert await attacker.report(emergency) == Result.FAILURE

        # The real terminal reports on, and on its next connection authenticates with the code it was given.
        assert await real.report(track[1]) == Result.SUCCESS
    finally:
        await real.close()
        await attacker.close()
    again = await Terminal.connect(s.jt808_port, phone, plate=plate(tag, 0))
    try:
        assert await again.authenticate(code) == Result.SUCCESS
        assert await again.report(track[2]) == Result.SUCCESS
    finally:
        await again.close()
    assert await wait_for_count(s.database_url, POSITIONS, [vehicle], 3) == 3
    with psycopg.connect(s.database_url) as conn:
        alarms = conn.execute("SELECT count(*) FROM position WHERE vehicle_id = %s AND alarm <> 0", (vehicle,))
        assert alarms.fetchone() == (0,)
    source = f"jt808/{phone.lstrip('0')}"
    assert count(s.database_url, DEAD, [source, "already_registered"]) == 1
    assert count(s.database_url, DEAD, [source, "unauthenticated"]) == 2


async def test_a_terminal_whose_registration_answer_was_lost_registers_again(
    gateway: tuple[Settings, Metrics], fleet: Devices, tag: str
) -> None:
    """The 0x8100 carrying the code is lost with the connection (a mobile link drops): the terminal never saw its
    code, so it registers again on its next connection and gets a new one, the lost one void. Once a code has been
    presented, it has reached its terminal, and a registration no longer takes its place."""
    s, _ = gateway
    phone, vehicle = terminal_id(tag, 0), fleet.vehicles[0]
    lost = await Terminal.connect(s.jt808_port, phone, plate=plate(tag, 0))
    try:
        result, never_seen = await lost.register()
        assert result == RegistrationResult.SUCCESS
    finally:
        await lost.close()
    again = await Terminal.connect(s.jt808_port, phone, plate=plate(tag, 0))
    try:
        result, code = await again.register()
        assert result == RegistrationResult.SUCCESS
        assert code != never_seen
        assert await again.authenticate(never_seen) == Result.FAILURE
        assert await again.authenticate(code) == Result.SUCCESS
        assert await again.report(fixes(1)[0]) == Result.SUCCESS
        assert await again.register() == (RegistrationResult.TERMINAL_ALREADY_REGISTERED, b"")
    finally:
        await again.close()
    assert await wait_for_count(s.database_url, POSITIONS, [vehicle], 1) == 1


async def test_after_its_logout_a_phone_registers_again(
    gateway: tuple[Settings, Metrics], fleet: Devices, tag: str
) -> None:
    s, _ = gateway
    phone = terminal_id(tag, 0)
    first = await Terminal.connect(s.jt808_port, phone, plate=plate(tag, 0))
    try:
        result, old = await first.register()
        assert result == RegistrationResult.SUCCESS
        assert await first.authenticate(old) == Result.SUCCESS
        assert (await first.ask(t.LOGOUT, b"")).result == Result.SUCCESS
    finally:
        await first.close()
    # The terminal that replaced it (or the same one, after a logout it sent on being uninstalled).
    second = await Terminal.connect(s.jt808_port, phone, plate=plate(tag, 0))
    try:
        result, new = await second.register()
        assert result == RegistrationResult.SUCCESS
        assert await second.authenticate(old) == Result.FAILURE
        assert await second.authenticate(new) == Result.SUCCESS
        assert await second.report(fixes(1)[0]) == Result.SUCCESS
    finally:
        await second.close()
    assert await wait_for_count(s.database_url, POSITIONS, [fleet.vehicles[0]], 1) == 1


def forget(settings: Settings, *phones: str) -> subprocess.CompletedProcess[str]:
    """`yiwang gateway forget`, as an operator runs it: as the tables' owner."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("YIWANG_")}
    env["YIWANG_DATABASE_URL"] = settings.database_url
    return subprocess.run(
        [sys.executable, "-m", "yiwang.cli", "gateway", "forget", *phones],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_after_yiwang_gateway_forget_a_phone_registers_again(
    settings: Settings, gateway: tuple[Settings, Metrics], fleet: Devices, tag: str
) -> None:
    """A terminal that lost its code (replaced, reset to its factory settings) is let in by an operator."""
    s, _ = gateway
    phone, other = terminal_id(tag, 0), terminal_id(tag, 1)
    lost = await Terminal.connect(s.jt808_port, phone, plate=plate(tag, 0))
    try:
        result, old = await lost.register()
        assert result == RegistrationResult.SUCCESS
        assert await lost.authenticate(old) == Result.SUCCESS  # the code reached it
        # Reset: it has no code, and may not register again.
        assert (await lost.register())[0] == RegistrationResult.TERMINAL_ALREADY_REGISTERED
    finally:
        await lost.close()

    done = await asyncio.to_thread(forget, settings, phone, other)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        f"{phone}: code voided, may register again",
        f"{other}: no code held, nothing to void",
    ]

    terminal = await Terminal.connect(s.jt808_port, phone, plate=plate(tag, 0))
    try:
        assert await terminal.authenticate(old) == Result.FAILURE
        result, new = await terminal.register()
        assert result == RegistrationResult.SUCCESS
        assert await terminal.authenticate(new) == Result.SUCCESS
        assert await terminal.report(fixes(1)[0]) == Result.SUCCESS
    finally:
        await terminal.close()
    assert await wait_for_count(s.database_url, POSITIONS, [fleet.vehicles[0]], 1) == 1


async def test_a_registration_naming_another_vehicle_is_refused(
    gateway: tuple[Settings, Metrics], fleet: Devices, tag: str
) -> None:
    s, _ = gateway
    phone = terminal_id(tag, 0)
    terminal = await Terminal.connect(s.jt808_port, phone, plate=plate(tag, 0))
    try:
        # The second vehicle's plate on the first's terminal id: a terminal configured with the wrong number.
        assert await terminal.register(plate(tag, 1)) == (RegistrationResult.NO_SUCH_VEHICLE, b"")
        # The plate as people type it, without the dot, with a space and in lower case, is the vehicle's.
        typed = plate(tag, 0).replace("·", " ").lower()
        result, code = await terminal.register(typed)
        assert result == RegistrationResult.SUCCESS
        assert await terminal.authenticate(code) == Result.SUCCESS
    finally:
        await terminal.close()
    assert count(s.database_url, DEAD, [f"jt808/{phone.lstrip('0')}", "plate_mismatch"]) == 1


async def test_a_fix_at_0_0_is_recorded_and_answered(
    gateway: tuple[Settings, Metrics], fleet: Devices, tag: str
) -> None:
    s, _ = gateway
    phone = terminal_id(tag, 0)
    track = fixes(3)
    # What a terminal without a fix sends: 0, 0 and the positioned bit clear.
    nowhere = replace(track[1], latitude=0.0, longitude=0.0, status=Status.ACC)
    terminal = await Terminal.connect(s.jt808_port, phone, plate=plate(tag, 0))
    try:
        await terminal.log_in()
        # Answered with success: sending it again would not make it a place.
        assert await terminal.batch([track[0], nowhere, track[2]]) == Result.SUCCESS
    finally:
        await terminal.close()
    assert await wait_for_count(s.database_url, POSITIONS, [fleet.vehicles[0]], 2) == 2
    assert count(s.database_url, DEAD, [f"jt808/{phone.lstrip('0')}", "impossible_coordinates"]) == 1


async def test_a_terminal_without_a_fix_is_not_closed_for_it(
    gateway: tuple[Settings, Metrics], fleet: Devices, tag: str
) -> None:
    """A terminal in a garage reports 0, 0 at every fix: more of them than a connection may have refused, and still
    its connection stays and its next real fix is stored."""
    s, _ = gateway
    phone = terminal_id(tag, 0)
    track = fixes(2)
    nowhere = replace(track[0], latitude=0.0, longitude=0.0, status=Status.ACC)
    terminal = await Terminal.connect(s.jt808_port, phone, plate=plate(tag, 0))
    try:
        await terminal.log_in()
        for _ in range(s.jt808_max_refusals + 5):
            assert await terminal.report(nowhere) == Result.SUCCESS
        assert await terminal.report(track[1]) == Result.SUCCESS
    finally:
        await terminal.close()
    assert await wait_for_count(s.database_url, POSITIONS, [fleet.vehicles[0]], 1) == 1
    dead = [f"jt808/{phone.lstrip('0')}", "impossible_coordinates"]
    assert count(s.database_url, DEAD, dead) == s.jt808_max_refusals + 5


async def test_packets_of_a_terminal_that_did_not_authenticate_are_refused_not_kept(
    gateway: tuple[Settings, Metrics], fleet: Devices, tag: str
) -> None:
    """A multi-packet message is kept only for the connection's authenticated terminal: before that, each packet is
    refused at once (failure), so no connection that proved nothing holds the parts of up to a megabyte."""
    s, _ = gateway
    phone = terminal_id(tag, 0)
    packets = t.frames(t.LOCATION_BATCH, phone, 7, t.batch_body(fixes(60), blind=True), Version.V2013, packet_bytes=300)
    terminal = await Terminal.connect(s.jt808_port, phone)
    try:
        for packet in packets[:-1]:  # never the last: nothing would complete the message
            terminal.writer.write(packet)
            assert (await terminal.answer()).result == Result.FAILURE
    finally:
        await terminal.close()
    assert count(s.database_url, DEAD, [f"jt808/{phone.lstrip('0')}", "unauthenticated"]) == len(packets) - 1


async def test_a_thousand_malformed_frames_do_not_disturb_a_neighbour(
    gateway: tuple[Settings, Metrics], fleet: Devices, tag: str
) -> None:
    s, metrics = gateway
    neighbour = await Terminal.connect(s.jt808_port, terminal_id(tag, 0), plate=plate(tag, 0))
    reader, writer = await asyncio.open_connection("127.0.0.1", s.jt808_port)
    peer = "jt808/peer/{}:{}".format(*writer.get_extra_info("sockname"))
    # Frames whose check code is wrong (no byte of them a flag or an escape): each a refusal with its bytes.
    garbage = [b"\x7e" + bytes([0x02, 0x00, i % 100, 0x42, 0x13, 0xAC ^ i % 100]) + b"\x7e" for i in range(1000)]
    track = fixes(20)
    try:
        await neighbour.log_in()

        async def flood() -> bytes:
            for start in range(0, len(garbage), 50):
                writer.write(b"".join(garbage[start : start + 50]))
                with contextlib.suppress(ConnectionError):
                    await writer.drain()
                await asyncio.sleep(0)
            # The gateway closes a connection past jt808_max_refusals: the end of the stream, no answer.
            return await reader.read()

        flooding = asyncio.create_task(flood())
        for fix in track:
            assert await neighbour.report(fix) == Result.SUCCESS
        assert await asyncio.wait_for(flooding, 30) == b""
    finally:
        await neighbour.close()
        writer.close()
    assert await wait_for_count(s.database_url, POSITIONS, [fleet.vehicles[0]], 20) == 20
    assert count(s.database_url, DEAD, [peer, "bad_checksum"]) == s.jt808_max_refusals
    assert metrics.registry.get_sample_value("yiwang_gateway_refused_total", {"reason": "bad_checksum"}) == 200


async def test_connections_beyond_the_bound_and_idle_ones_are_closed(
    settings: Settings, fleet: Devices, tag: str
) -> None:
    s = gateway_settings(settings, tag, jt808_max_connections=1, jt808_idle_seconds=1.0)
    async with gatewaying(s) as metrics:
        first = await Terminal.connect(s.jt808_port, terminal_id(tag, 0), plate=plate(tag, 0))
        try:
            await first.log_in()
            second = await Terminal.connect(s.jt808_port, terminal_id(tag, 1), plate=plate(tag, 1))
            try:
                assert await second.reader.read() == b""
            finally:
                await second.close()
            assert metrics.registry.get_sample_value("yiwang_gateway_connections_refused_total") == 1
            # Silent past jt808_idle_seconds: closed, and its place taken by the next terminal.
            assert await asyncio.wait_for(first.reader.read(), 10) == b""
        finally:
            await first.close()
        await eventually(lambda: sample(metrics, "yiwang_gateway_connections") == 0)
        third = await Terminal.connect(s.jt808_port, terminal_id(tag, 1), plate=plate(tag, 1))
        try:
            await third.log_in()
        finally:
            await third.close()
