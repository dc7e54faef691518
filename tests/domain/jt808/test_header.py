"""The header: versions, phone numbers, subpackages, and the length the properties announce."""

from __future__ import annotations

import pytest

from domain.dead_letter import Reason
from domain.jt808.errors import InvalidFrame
from domain.jt808.header import Subpackage, Version, build_packet, parse_packet


def refused(packet: bytes) -> InvalidFrame:
    with pytest.raises(InvalidFrame) as caught:
        parse_packet(packet)
    return caught.value


def test_the_same_terminal_keeps_its_phone_in_2013_and_2019() -> None:
    old = parse_packet(build_packet(0x0002, "13912344323", 7, b"", Version.V2013))
    new = parse_packet(build_packet(0x0002, "13912344323", 7, b"", Version.V2019))
    assert (old.header.phone_digits, new.header.phone_digits) == ("013912344323", "00000000013912344323")
    assert old.header.phone == new.header.phone == "13912344323"
    assert (old.header.version, new.header.version) == (Version.V2013, Version.V2019)


def test_a_subpackage_header_carries_total_and_index() -> None:
    packet = bytes.fromhex("02002003013912344323000500030002") + b"abc"
    parsed = parse_packet(packet)
    assert parsed.header.subpackage == Subpackage(total=3, index=2)
    assert parsed.body == b"abc"


@pytest.mark.parametrize(("total", "index"), [(3, 0), (3, 4), (0, 0)])
def test_a_subpackage_index_outside_its_total_is_refused(total: int, index: int) -> None:
    packet = bytes.fromhex("020020000139123443230005") + total.to_bytes(2, "big") + index.to_bytes(2, "big")
    assert refused(packet).reason is Reason.INVALID_FIELD


def test_a_body_shorter_than_announced_is_truncated() -> None:
    error = refused(build_packet(0x0200, "1", 1, b"12345", Version.V2013)[:-1])
    assert (error.reason, error.detail) == (Reason.TRUNCATED, "0x0200: body length 5, 4 bytes follow the header")


def test_a_body_longer_than_announced_is_refused() -> None:
    assert refused(build_packet(0x0200, "1", 1, b"12345", Version.V2013) + b"6").reason is Reason.INVALID_FIELD


def test_a_short_header_is_truncated() -> None:
    assert refused(bytes.fromhex("0200000001391234")).reason is Reason.TRUNCATED
    assert refused(bytes.fromhex("02004000010000000001391234432900")).reason is Reason.TRUNCATED  # 2019, 1 short


def test_a_phone_that_is_not_bcd_is_refused() -> None:
    error = refused(bytes.fromhex("0002000001391234432a0001"))
    assert (error.reason, error.detail) == (Reason.INVALID_FIELD, "header: phone: 01391234432a is not BCD")


def test_the_encryption_bits_are_read() -> None:
    packet = bytes.fromhex("020004000139123443230001")
    assert parse_packet(packet).header.encryption == 1


def test_a_platform_body_too_long_for_one_packet_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="subpackages"):
        build_packet(0x8001, "1", 1, b"x" * 1024, Version.V2013)
