"""One connection's bytes to events, as the gateway will run the codec: messages, kept packets, refusals."""

from __future__ import annotations

from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st

from domain.dead_letter import Reason
from domain.jt808.framing import check_code, escape
from domain.jt808.location import Location
from domain.jt808.messages import Authentication, LocationBatch, LocationReport
from domain.jt808.stream import Kept, Received, Refused, TerminalStream

# Huabao's 0x0102 and 0x0200, published with their breakdown (see test_published.py):
# https://huabaotelematics.com/blog/jt808-common-message-parsing-of-gps-electronic-lock-huabaotelematics-com_b9
# The terminal of subpackage(): a stream keeps multi-packet messages only for the one its connection authenticated.
PHONE = "13912344323"
AUTHENTICATION = bytes.fromhex("7E0102000D002002604325000138333030323030323630343332137E")
LOCATION = bytes.fromhex(
    "7E 02 00 00 52 00 20 02 60 43 23 00 A4 00 02 00 00 00 0C 00 02 01 58 B9 1B 06 CB 70 61 00 46 00 00 00 59 21 09"
    " 22 16 37 58 01 04 00 00 00 01 03 02 00 00 25 04 00 00 00 01 30 01 11 31 01 10 E3 01 00 D5 1B 02 20 02 60 43 23"
    " 27 95 93 78 61 60 00 12 20 00 00 12 34 27 95 93 78 61 58 00 12 86 7E"
)


def subpackage(index: int, total: int, body: bytes, first_serial: int = 40) -> bytes:
    """A 2013 0x0704 packet `index` of `total` (terminals split long batches; the platform never does)."""
    properties = (1 << 13) | len(body)
    packet = (
        bytes.fromhex("0704")
        + properties.to_bytes(2, "big")
        + bytes.fromhex("013912344323")
        + (first_serial + index - 1).to_bytes(2, "big")
        + total.to_bytes(2, "big")
        + index.to_bytes(2, "big")
        + body
    )
    return b"\x7e" + escape(packet + bytes([check_code(packet)])) + b"\x7e"


def huabao_location_body() -> bytes:
    return LOCATION[13:-2]


def test_published_frames_and_noise_become_messages_and_reasons() -> None:
    events = TerminalStream().feed(b"\r\n" + AUTHENTICATION + LOCATION + LOCATION[:-3] + b"\x00\x7e", now=0)
    assert [type(event) for event in events] == [Refused, Received, Received, Refused]
    noise, authentication, report, damaged = events
    assert isinstance(noise, Refused)
    assert (noise.reason, noise.raw) == (Reason.UNFRAMED, b"\r\n")
    assert isinstance(authentication, Received)
    assert authentication.message == Authentication(code=b"8300200260432")
    assert isinstance(report, Received)
    assert isinstance(report.message, LocationReport)
    assert report.header.serial == 0xA4
    assert isinstance(damaged, Refused)
    assert damaged.reason is Reason.BAD_CHECKSUM


def test_a_message_the_platform_does_not_read_is_refused_with_its_header() -> None:
    packet = bytes.fromhex("090000010139123443230007") + b"x"
    (event,) = TerminalStream().feed(b"\x7e" + packet + bytes([check_code(packet)]) + b"\x7e", now=0)
    assert isinstance(event, Refused)
    assert event.reason is Reason.UNSUPPORTED_MESSAGE
    assert event.header is not None
    assert (event.header.message_id, event.header.serial) == (0x0900, 7)


def test_a_batch_in_two_packets_is_one_message() -> None:
    item = huabao_location_body()
    body = (2).to_bytes(2, "big") + b"\x01" + (len(item).to_bytes(2, "big") + item) * 2
    half = len(body) // 2
    stream = TerminalStream(holder=PHONE)
    first = stream.feed(subpackage(2, 2, body[half:]), now=0)
    assert [type(event) for event in first] == [Kept]
    (event,) = stream.feed(subpackage(1, 2, body[:half]), now=1)
    assert isinstance(event, Received)
    assert isinstance(event.message, LocationBatch)
    assert event.message.blind
    assert all(isinstance(fix, Location) for fix in event.message.locations)
    assert (event.header.serial, event.last.serial) == (40, 40)


def test_a_batch_missing_a_packet_is_refused_when_it_expires() -> None:
    stream = TerminalStream(max_age=60, holder=PHONE)
    assert stream.pending == 0  # nothing to expire: the gateway need not wake a silent connection
    assert [type(event) for event in stream.feed(subpackage(1, 3, b"abc"), now=0)] == [Kept]
    assert stream.pending == 1
    assert stream.expire(now=60) == []
    (event,) = stream.expire(now=61)
    assert stream.pending == 0
    assert isinstance(event, Refused)
    assert event.reason is Reason.INCOMPLETE_MESSAGE
    assert event.detail == ("0x0704 from 13912344323, serial 40: not complete after 60 s, missing packets [2, 3] of 3")


def test_packets_of_anyone_but_the_authenticated_terminal_are_refused_not_kept() -> None:
    for holder in (None, "13800138000"):
        stream = TerminalStream(holder=holder)
        (event,) = stream.feed(subpackage(1, 3, b"abc"), now=0)
        assert isinstance(event, Refused)
        assert event.reason is Reason.UNAUTHENTICATED
        assert event.header is not None  # so the gateway answers it (failure)
        assert stream.pending == 0


def test_packets_of_a_message_the_platform_does_not_read_are_refused_at_the_first() -> None:
    # 0x0900 (data uplink, not read), packet 1 of 3, serial 40.
    properties = ((1 << 13) | 3).to_bytes(2, "big")
    packet = bytes.fromhex("0900") + properties + bytes.fromhex("013912344323") + bytes.fromhex("0028 0003 0001")
    packet += b"abc"
    stream = TerminalStream(holder=PHONE)
    (event,) = stream.feed(b"\x7e" + escape(packet + bytes([check_code(packet)])) + b"\x7e", now=0)
    assert isinstance(event, Refused)
    assert event.reason is Reason.UNSUPPORTED_MESSAGE
    assert stream.pending == 0


def test_closing_reports_the_cut_frame_and_every_unfinished_message() -> None:
    stream = TerminalStream(holder=PHONE)
    stream.feed(subpackage(1, 2, b"ab") + LOCATION[:20], now=0)
    cut, unfinished = stream.close()
    assert isinstance(cut, Refused)
    assert (cut.reason, cut.raw) == (Reason.TRUNCATED, LOCATION[1:20])
    assert isinstance(unfinished, Refused)
    assert unfinished.reason is Reason.INCOMPLETE_MESSAGE
    assert "the connection ended, missing packets [2] of 2" in unfinished.detail


@given(st.lists(st.integers(0, len(AUTHENTICATION + LOCATION)), max_size=10))
def test_the_events_do_not_depend_on_where_tcp_cuts(cuts: list[int]) -> None:
    data = b"junk" + AUTHENTICATION + LOCATION
    edges = [0, *sorted(cuts), len(data)]
    pieces = [data[a:b] for a, b in pairwise(edges)]
    stream = TerminalStream()
    assert [event for piece in pieces for event in stream.feed(piece, now=0)] == TerminalStream().feed(data, now=0)


@given(st.binary(max_size=400), st.floats(0, 1e6))
def test_random_bytes_become_events_and_never_raise(noise: bytes, now: float) -> None:
    for event in TerminalStream(max_frame_bytes=128).feed(noise, now):
        assert isinstance(event, Received | Kept | Refused)
