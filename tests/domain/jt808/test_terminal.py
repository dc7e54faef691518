"""The terminal's encoders (used by the simulator, the benchmark and the end-to-end tests) write the frames that
public sources publish, byte for byte: a misread field would show here, not only in a round trip."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from domain.jt808.header import Version
from domain.jt808.location import Alarm, Location, Status
from domain.jt808.messages import LocationBatch
from domain.jt808.stream import Kept, Received, TerminalStream
from domain.jt808.terminal import (
    AUTHENTICATION,
    LOCATION_BATCH,
    LOCATION_REPORT,
    REGISTRATION,
    authentication_body,
    batch_body,
    frames,
    location_body,
    registration_body,
)
from tests.support.jt808 import GO_0100, wire


@pytest.mark.parametrize("version", list(Version))
def test_registration_as_go_jt808_publishes_it(version: Version) -> None:
    body = registration_body(
        version,
        province=31,
        city=115,
        maker="cd",
        model="www.808.com",
        terminal_id="7654321",
        plate_color=1,
        plate="测A1234",
    )
    phone = {Version.V2013: "12345678901", Version.V2019: "17299841738"}[version]
    assert frames(REGISTRATION, phone, 0, body, version) == [wire(GO_0100[version])]


def test_authentication_2019_as_go_jt808_publishes_it() -> None:
    body = authentication_body(Version.V2019, b"17299841738", imei="123456789012345", software_version="3.7.15")
    assert frames(AUTHENTICATION, "17299841738", 0, body, Version.V2019) == [
        wire(
            "7e0102402f010000000001729984173800000b3137323939383431373338313233343536373839303132333435332e372e3135"
            "0000000000000000000000000000227e"
        )
    ]


def test_batch_2013_as_go_jt808_publishes_it_with_its_escape() -> None:
    fix = Location(
        alarm=Alarm(1024),
        status=Status(2048),
        latitude=119.552894,
        longitude=40.058359,
        altitude=312,
        speed=0.3,
        direction=99,
        time=datetime(2024, 10, 1, 15, 59, 59, tzinfo=UTC),
    )
    assert frames(LOCATION_BATCH, "12345678901", 0, batch_body([fix, fix], blind=False), Version.V2013) == [
        wire(
            "7e0704003f0123456789010000000200001c000004000000080007203b7d0202633df7013800030063241001235959001c000004"
            "000000080007203b7d0202633df7013800030063241001235959b67e"
        )
    ]


def test_location_2019_as_xtream_codec_publishes_it() -> None:
    fix = Location(
        alarm=Alarm(111),
        status=Status(0x16),
        latitude=-31.234567,
        longitude=121.987654,
        altitude=123,
        speed=6.6,
        direction=3,
        time=datetime(2025, 1, 29, 14, 33, 44, tzinfo=UTC),
        mileage=1.2,
        fuel=10.0,
    )
    # Their items come fuel first (0x02, then 0x01): the order is the terminal's, so it is given as extra here.
    body = location_body(
        replace(fix, mileage=None, fuel=None, extra=((0x02, b"\x00\x64"), (0x01, b"\x00\x00\x00\x0c")))
    )
    assert frames(LOCATION_REPORT, "13912344329", 0, body, Version.V2019) == [
        wire(
            "7e02004026010000000001391234432900000000006f0000001601dc9a0707456246007b0042000325012922334402020064010400"
            "00000c417e"
        )
    ]


@pytest.mark.parametrize("version", list(Version))
def test_a_long_batch_is_split_into_packets_that_the_platform_joins(version: Version) -> None:
    fixes = [
        Location(
            Alarm(0),
            Status.ACC | Status.POSITIONED,
            30.5 + i / 1e4,
            114.25,
            20,
            42.5,
            90,
            datetime(2026, 1, 2, 3, 4, i, tzinfo=UTC),
            mileage=1000 + i / 10,
            satellites=9,
        )
        for i in range(50)
    ]
    sent = frames(LOCATION_BATCH, "13800138000", 65534, batch_body(fixes, blind=True), version, packet_bytes=300)
    assert len(sent) > 3
    events = TerminalStream(holder="13800138000").feed(b"".join(sent), now=0)
    assert all(isinstance(e, Kept) for e in events[:-1])
    last = events[-1]
    assert isinstance(last, Received)
    assert last.header.serial == 65534
    assert last.last.serial == (65534 + len(sent) - 1) % 65536
    assert isinstance(last.message, LocationBatch)
    assert last.message.blind
    assert list(last.message.locations) == fixes
