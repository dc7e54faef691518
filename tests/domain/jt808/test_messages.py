"""Message bodies: what is read, what is refused and why, and that nothing else ever escapes the codec."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.dead_letter import Reason
from domain.jt808.errors import InvalidFrame
from domain.jt808.header import Header, Version, parse_packet
from domain.jt808.location import Alarm, Status, decode_location
from domain.jt808.messages import (
    AUTHENTICATION,
    LOCATION_BATCH,
    LOCATION_REPORT,
    REGISTRATION,
    LocationBatch,
    Logout,
    TerminalResponse,
    decode,
)


def header(message_id: int, version: Version = Version.V2013, encryption: int = 0) -> Header:
    return Header(message_id, version, None, "013912344323", 1, 0, encryption, None)


def location_body(status: int = 0, items: bytes = b"", time: str = "261206123000") -> bytes:
    return (
        (Alarm.EMERGENCY | Alarm.MAIN_POWER_CUT).to_bytes(4, "big")
        + status.to_bytes(4, "big")
        + (31_230_416).to_bytes(4, "big")
        + (121_473_701).to_bytes(4, "big")
        + (4).to_bytes(2, "big")
        + (523).to_bytes(2, "big")
        + (270).to_bytes(2, "big")
        + bytes.fromhex(time)
        + items
    )


def refused(message_id: int, body: bytes, version: Version = Version.V2013) -> InvalidFrame:
    with pytest.raises(InvalidFrame) as caught:
        decode(header(message_id, version), body)
    return caught.value


def test_a_location_is_read_in_the_units_of_the_position_contract() -> None:
    items = bytes.fromhex("0104000004d20202007b030201f430011931010ce40201ff")
    fix = decode_location(location_body(Status.ACC | Status.POSITIONED | Status.MOVING, items))
    assert (fix.latitude, fix.longitude, fix.altitude, fix.speed, fix.direction) == (
        31.230416,
        121.473701,
        4,
        52.3,
        270,
    )
    assert fix.time == datetime(2026, 12, 6, 4, 30, tzinfo=UTC)  # 12:30 in Beijing
    assert (fix.mileage, fix.fuel, fix.recorder_speed, fix.signal, fix.satellites) == (123.4, 12.3, 50.0, 25, 12)
    assert fix.extra == ((0xE4, b"\x01\xff"),)
    assert fix.ignition
    assert fix.positioned
    assert Alarm.MAIN_POWER_CUT in fix.alarm
    assert fix.load == "empty"


def test_south_and_west_bits_sign_the_coordinates() -> None:
    fix = decode_location(location_body(Status.SOUTH | Status.WEST))
    assert (fix.latitude, fix.longitude) == (-31.230416, -121.473701)


def test_the_load_is_read_from_two_bits() -> None:
    assert decode_location(location_body(Status.LOAD_LOW)).load == "half"
    assert decode_location(location_body(Status.LOAD_LOW | Status.LOAD_HIGH)).load == "full"


def test_bits_without_a_name_are_kept() -> None:
    body = (0xFFFFFFFF).to_bytes(4, "big") + (0xFFFFFFFF).to_bytes(4, "big") + location_body()[8:]
    fix = decode_location(body)
    assert (int(fix.alarm), int(fix.status)) == (0xFFFFFFFF, 0xFFFFFFFF)


@pytest.mark.parametrize("time", ["000000000000", "261306123000", "2612061230ff"])
def test_a_time_that_is_no_date_is_refused(time: str) -> None:
    assert refused(LOCATION_REPORT, location_body(time=time)).reason is Reason.INVALID_FIELD


def test_a_known_item_of_the_wrong_length_is_refused() -> None:
    error = refused(LOCATION_REPORT, location_body(items=bytes.fromhex("010200ff")))
    assert (error.reason, error.detail) == (Reason.INVALID_FIELD, "0x0200: item 0x01 has 2 bytes, not 4")


def test_an_item_cut_short_is_truncated() -> None:
    assert refused(LOCATION_REPORT, location_body(items=bytes.fromhex("0104000004"))).reason is Reason.TRUNCATED
    assert refused(LOCATION_REPORT, location_body()[:27]).reason is Reason.TRUNCATED


def batch(kind: int, *bodies: bytes, count: int | None = None) -> bytes:
    items = b"".join(len(body).to_bytes(2, "big") + body for body in bodies)
    return (len(bodies) if count is None else count).to_bytes(2, "big") + bytes([kind]) + items


def test_a_blind_zone_batch_keeps_its_order() -> None:
    first, second = location_body(time="261206120000"), location_body(time="261206120010")
    message = decode(header(LOCATION_BATCH), batch(1, first, second))
    assert isinstance(message, LocationBatch)
    assert message.blind
    assert [fix.time.second for fix in message.locations] == [0, 10]


def test_a_batch_that_miscounts_its_items_is_refused() -> None:
    assert refused(LOCATION_BATCH, batch(0, location_body(), count=2)).reason is Reason.TRUNCATED
    assert refused(LOCATION_BATCH, batch(0, location_body(), count=0)).reason is Reason.INVALID_FIELD


def test_a_batch_of_an_unknown_type_is_refused() -> None:
    assert refused(LOCATION_BATCH, batch(2, location_body())).reason is Reason.INVALID_FIELD


def test_a_bad_item_of_a_batch_is_named() -> None:
    error = refused(LOCATION_BATCH, batch(0, location_body(), location_body(time="000000000000")))
    assert error.detail == "0x0704 item 1: time 000000000000 is not a date"


def test_a_short_registration_is_truncated_in_either_version() -> None:
    body_2013 = bytes(4) + b"maker" + b"model".ljust(20, b"\x00") + b"1234567"  # no colour
    assert refused(REGISTRATION, body_2013).reason is Reason.TRUNCATED
    assert refused(REGISTRATION, body_2013 + b"\x01", Version.V2019).reason is Reason.TRUNCATED


def test_a_plate_that_is_not_gbk_is_refused() -> None:
    body = bytes(4) + b"maker" + bytes(20) + b"1234567" + b"\x01" + b"\xff\xff"
    assert refused(REGISTRATION, body).reason is Reason.INVALID_FIELD


def test_a_2019_authentication_whose_code_runs_past_the_body_is_truncated() -> None:
    assert refused(AUTHENTICATION, b"\x20" + b"code", Version.V2019).reason is Reason.TRUNCATED


def test_logout_and_terminal_response_are_read() -> None:
    assert decode(header(0x0003), b"") == Logout()
    assert decode(header(0x0001), bytes.fromhex("007b010203")) == TerminalResponse(123, 0x0102, 3)


def test_an_unknown_message_is_unsupported() -> None:
    error = refused(0x0900, b"anything")
    assert (error.reason, error.detail) == (Reason.UNSUPPORTED_MESSAGE, "message id 0x0900")


def test_an_encrypted_body_is_unsupported() -> None:
    with pytest.raises(InvalidFrame) as caught:
        decode(header(LOCATION_REPORT, encryption=1), location_body())
    assert caught.value.reason is Reason.UNSUPPORTED_MESSAGE


READ_REASONS = {None, Reason.TRUNCATED, Reason.INVALID_FIELD, Reason.UNSUPPORTED_MESSAGE}


def refusal(read: Callable[[], object]) -> Reason | None:
    """The reason `read` was refused, None when it was not; any other exception fails the test."""
    try:
        read()
    except InvalidFrame as error:
        return error.reason
    return None


IDS = st.sampled_from([0x0001, 0x0002, 0x0003, 0x0100, 0x0102, 0x0200, 0x0704, 0x0900])


@given(IDS, st.sampled_from(list(Version)), st.binary(max_size=200))
def test_random_bodies_decode_or_raise_the_codecs_own_error(message_id: int, version: Version, body: bytes) -> None:
    assert refusal(lambda: decode(header(message_id, version), body)) in READ_REASONS


@given(st.binary(max_size=120))
def test_random_packets_parse_or_raise_the_codecs_own_error(packet: bytes) -> None:
    def read() -> object:
        parsed = parse_packet(packet)
        return decode(parsed.header, parsed.body)

    assert refusal(read) in READ_REASONS
