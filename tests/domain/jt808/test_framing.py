"""Framing: escapes, check code, and the stream framer's frames and reasons, whatever TCP's segments."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.dead_letter import Reason
from domain.jt808.errors import InvalidFrame
from domain.jt808.framing import BadFrame, Frame, Framer, check_code, escape, frame, unescape, unframe

HEARTBEAT = bytes.fromhex("7e0002000001234567890100008a7e")  # go-jt808's 2013 0x0002 (parse_test.go)


def test_escaping_follows_the_standard() -> None:
    assert escape(b"\x30\x7e\x08\x7d\x55") == b"\x30\x7d\x02\x08\x7d\x01\x55"
    assert unescape(b"\x30\x7d\x02\x08\x7d\x01\x55") == b"\x30\x7e\x08\x7d\x55"


@given(st.binary())
def test_escaping_round_trips_and_leaves_no_flag(data: bytes) -> None:
    escaped = escape(data)
    assert 0x7E not in escaped
    assert unescape(escaped) == data


@pytest.mark.parametrize(("raw", "following"), [(b"\x01\x7d\x03\x02", "0x03"), (b"\x01\x02\x7d", "the end")])
def test_a_bad_escape_is_refused(raw: bytes, following: str) -> None:
    with pytest.raises(InvalidFrame) as refused:
        unescape(raw)
    assert refused.value.reason is Reason.BAD_ESCAPE
    assert following in refused.value.detail


def test_the_check_code_is_the_xor_of_header_and_body() -> None:
    packet = HEARTBEAT[1:-2]
    assert check_code(packet) == 0x8A
    assert frame(packet) == HEARTBEAT
    assert unframe(HEARTBEAT[1:-1]) == packet


def test_a_wrong_check_code_is_refused() -> None:
    (bad,) = Framer().feed(HEARTBEAT[:-2] + b"\x8b\x7e")
    assert isinstance(bad, BadFrame)
    assert (bad.reason, bad.detail) == (Reason.BAD_CHECKSUM, "check code 0x8b, the bytes give 0x8a")
    assert bad.raw == HEARTBEAT[1:-2] + b"\x8b"


def test_frames_back_to_back_and_sharing_nothing_are_all_found() -> None:
    items = Framer().feed(HEARTBEAT + HEARTBEAT + b"\x7e" + HEARTBEAT)
    assert [type(item) for item in items] == [Frame, Frame, Frame]


def test_frames_sharing_one_flag_are_all_found() -> None:
    items = Framer().feed(HEARTBEAT + HEARTBEAT[1:] + HEARTBEAT[1:])
    assert [item.packet for item in items if isinstance(item, Frame)] == [HEARTBEAT[1:-2]] * 3
    assert len(items) == 3


def test_bytes_between_frames_are_a_bad_frame_and_the_next_frame_is_read() -> None:
    items = Framer().feed(HEARTBEAT + b"\r\n" + HEARTBEAT)
    assert [type(item) for item in items] == [Frame, BadFrame, Frame]
    assert isinstance(items[1], BadFrame)
    assert (items[1].reason, items[1].raw) == (Reason.BAD_CHECKSUM, b"\r\n")


def test_bytes_before_a_start_flag_are_unframed_and_the_next_frame_is_read() -> None:
    items = Framer().feed(b"GET / HTTP/1.1\r\n" + HEARTBEAT)
    assert isinstance(items[0], BadFrame)
    assert (items[0].reason, items[0].raw) == (Reason.UNFRAMED, b"GET / HTTP/1.1\r\n")
    assert isinstance(items[1], Frame)


def test_a_connection_joined_mid_frame_loses_only_that_frame() -> None:
    items = Framer().feed(HEARTBEAT[5:] + HEARTBEAT)
    assert [item.reason for item in items if isinstance(item, BadFrame)] == [Reason.UNFRAMED]
    assert [item.packet for item in items if isinstance(item, Frame)] == [HEARTBEAT[1:-2]]


def test_a_frame_over_the_limit_is_oversize_at_once_and_memory_stays_bounded() -> None:
    framer = Framer(max_frame_bytes=64)
    items = framer.feed(b"\x7e" + b"\x01" * 65)
    assert len(items) == 1
    assert isinstance(items[0], BadFrame)
    assert (items[0].reason, len(items[0].raw)) == (Reason.OVERSIZE, 64)
    assert framer.feed(b"\x01" * 100_000) == []  # skipped, not kept
    assert [type(item) for item in framer.feed(b"\x7e" + HEARTBEAT)] == [Frame]


def test_endless_bytes_without_a_flag_are_reported_in_bounded_pieces() -> None:
    items = Framer(max_frame_bytes=64).feed(b"\x00" * 200)
    assert [(item.reason, len(item.raw)) for item in items if isinstance(item, BadFrame)] == [(Reason.UNFRAMED, 64)] * 3


def test_an_unfinished_frame_waits_for_its_end_flag() -> None:
    framer = Framer()
    assert framer.feed(HEARTBEAT[:7]) == []
    assert [type(item) for item in framer.feed(HEARTBEAT[7:])] == [Frame]


def test_a_frame_cut_by_the_end_of_the_connection_is_truncated() -> None:
    framer = Framer()
    assert framer.feed(HEARTBEAT[:9]) == []
    cut = framer.close()
    assert cut == BadFrame(Reason.TRUNCATED, "the connection ended 8 bytes into a frame", HEARTBEAT[1:9])
    assert framer.close() is None


def test_a_connection_that_ends_between_frames_leaves_nothing() -> None:
    framer = Framer()
    framer.feed(HEARTBEAT + b"\x7e")  # the next frame's start flag
    assert framer.close() is None


STREAM = st.lists(
    st.one_of(
        st.binary(max_size=40).map(frame),  # a good frame
        st.binary(max_size=40),  # noise, flags and escapes included
        st.just(b"\x7e\x7d\x03\x7e"),  # a bad escape
    ),
    max_size=8,
).map(b"".join)


def _items(framer: Framer, chunks: list[bytes]) -> list[Frame | BadFrame]:
    return [item for chunk in chunks for item in framer.feed(chunk)]


@given(STREAM, st.data())
def test_a_stream_cut_anywhere_gives_the_same_frames(stream: bytes, data: st.DataObject) -> None:
    whole = Framer(max_frame_bytes=48).feed(stream)
    cuts = sorted(data.draw(st.sets(st.integers(0, len(stream)))))
    pieces = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]
    assert _items(Framer(max_frame_bytes=48), pieces) == whole


@given(STREAM)
def test_a_stream_fed_one_byte_at_a_time_gives_the_same_frames(stream: bytes) -> None:
    whole = Framer(max_frame_bytes=48).feed(stream)
    assert _items(Framer(max_frame_bytes=48), [stream[i : i + 1] for i in range(len(stream))]) == whole


@given(st.lists(st.binary(min_size=1, max_size=60), max_size=6))
def test_every_framed_packet_comes_back(packets: list[bytes]) -> None:
    items = Framer().feed(b"".join(frame(packet) for packet in packets))
    assert items == [Frame(packet, frame(packet)[1:-1]) for packet in packets]


@given(st.binary(max_size=300))
def test_random_bytes_give_frames_or_reasons_and_never_raise(noise: bytes) -> None:
    for item in Framer(max_frame_bytes=128).feed(noise):
        if isinstance(item, BadFrame):
            assert item.reason in {Reason.BAD_CHECKSUM, Reason.BAD_ESCAPE, Reason.UNFRAMED, Reason.OVERSIZE}
            assert len(item.raw) <= 128
