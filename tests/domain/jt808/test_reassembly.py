"""Multi-packet messages: joined in any order, and given up on, with a reason, past their bounds."""

from __future__ import annotations

import pytest

from domain.dead_letter import Reason
from domain.jt808.errors import InvalidFrame
from domain.jt808.header import Header, Packet, Subpackage, Version
from domain.jt808.reassembly import Incomplete, Reassembler


def part(index: int, total: int, body: bytes, first_serial: int = 100, phone: str = "013912344323") -> Packet:
    serial = (first_serial + index - 1) & 0xFFFF
    return Packet(Header(0x0704, Version.V2013, None, phone, serial, len(body), 0, Subpackage(total, index)), body)


def test_packets_in_any_order_make_the_whole_message() -> None:
    joiner = Reassembler()
    assert joiner.add(part(3, 3, b"c"), now=0) is None
    assert joiner.add(part(1, 3, b"a"), now=1) is None
    whole = joiner.add(part(2, 3, b"b"), now=2)
    assert whole is not None
    assert whole.body == b"abc"
    assert (whole.header.serial, whole.header.subpackage, whole.header.body_length) == (100, None, 3)
    assert len(joiner) == 0


def test_serials_that_wrap_around_still_join() -> None:
    joiner = Reassembler()
    assert joiner.add(part(1, 2, b"a", first_serial=0xFFFF), now=0) is None
    whole = joiner.add(part(2, 2, b"b", first_serial=0xFFFF), now=0)  # serial 0
    assert whole is not None
    assert whole.body == b"ab"


def test_a_packet_that_is_not_a_subpackage_passes_through() -> None:
    packet = Packet(Header(0x0200, Version.V2013, None, "1", 1, 1, 0, None), b"x")
    assert Reassembler().add(packet, now=0) is packet


def test_two_terminals_messages_do_not_mix() -> None:
    joiner = Reassembler()
    assert joiner.add(part(1, 2, b"a", phone="1"), now=0) is None
    assert joiner.add(part(2, 2, b"B", phone="2"), now=0) is None
    whole = joiner.add(part(2, 2, b"b", phone="1"), now=0)
    assert whole is not None
    assert whole.body == b"ab"
    assert len(joiner) == 1


def test_a_message_that_waits_too_long_is_dropped_with_what_is_missing() -> None:
    joiner = Reassembler(max_age=30)
    joiner.add(part(1, 3, b"a"), now=0)
    joiner.add(part(3, 3, b"c"), now=10)
    assert joiner.expire(now=30) == []
    assert joiner.expire(now=31) == [
        Incomplete("13912344323", 0x0704, 100, 3, (2,), Reason.INCOMPLETE_MESSAGE, "not complete after 30 s")
    ]
    assert len(joiner) == 0
    assert joiner.add(part(2, 3, b"b"), now=32) is None  # a late packet starts over, it does not resurrect


def test_too_many_unfinished_messages_drop_the_oldest() -> None:
    joiner = Reassembler(max_pending=2)
    for first in (1, 10, 20):
        joiner.add(part(1, 2, b"a", first_serial=first), now=first)
    (dropped,) = joiner.expire(now=20)
    assert (dropped.first_serial, dropped.missing, dropped.reason) == (1, (2,), Reason.INCOMPLETE_MESSAGE)
    assert len(joiner) == 2


def test_a_message_of_too_many_packets_is_oversize() -> None:
    with pytest.raises(InvalidFrame) as caught:
        Reassembler(max_packets=4).add(part(1, 5, b"a"), now=0)
    assert caught.value.reason is Reason.OVERSIZE
