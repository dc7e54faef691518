"""The collector's PUBLISH decoder agrees with paho's, and its read-ahead serves a socket's bytes whole and in order."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st
from paho.mqtt._packet import decode_publish as paho_decode_publish
from paho.mqtt.enums import MQTTProtocolVersion
from paho.mqtt.exception import MalformedPacket
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from collector.wire import Malformed, Publish, ReadAhead, decode_publish

PUBLISH = 0x30


def header(qos: int, *, dup: bool = False, retain: bool = False) -> int:
    return PUBLISH | (dup << 3) | (qos << 1) | retain


def body(topic: bytes, payload: bytes, *, qos: int, mid: int = 0, properties: bytes | None = None) -> bytes:
    """A PUBLISH packet after its remaining length; `properties` (with their length first) at MQTT 5."""
    out = len(topic).to_bytes(2, "big") + topic
    if qos:
        out += mid.to_bytes(2, "big")
    if properties is not None:
        out += properties
    return out + payload


def publish_properties(
    user: list[tuple[str, str]], content_type: str | None, expiry: int | None, correlation: bytes | None
) -> bytes:
    props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    if user:
        props.UserProperty = user
    if content_type is not None:
        props.ContentType = content_type
    if expiry is not None:
        props.MessageExpiryInterval = expiry
    if correlation is not None:
        props.CorrelationData = correlation
    packed: bytes = props.pack()  # type: ignore[no-untyped-call]
    return packed


# What brokers send: UTF-8 topics without NUL (the protocol's rule), any payload.
topics = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1, max_size=80)
# paho refuses NUL and U+FEFF in a property's text (MQTT allows U+FEFF: see the test after the next).
texts = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\ufeff"), max_size=20)
properties = st.builds(
    publish_properties,
    st.lists(st.tuples(texts, texts), max_size=4),
    st.none() | texts,
    st.none() | st.integers(0, 2**32 - 1),
    st.none() | st.binary(max_size=20),
)


@given(topic=topics, payload=st.binary(max_size=300), qos=st.integers(0, 1), mid=st.integers(1, 65535))
def test_an_mqtt_3_publish_decodes_as_paho_decodes_it(topic: str, payload: bytes, qos: int, mid: int) -> None:
    packet = bytearray(body(topic.encode(), payload, qos=qos, mid=mid))
    theirs = paho_decode_publish(header(qos), packet, MQTTProtocolVersion.MQTTv311)
    assert decode_publish(header(qos), packet, v5=False) == Publish(
        theirs.topic.decode(), bytes(theirs.payload), theirs.mid, theirs.qos
    )


@given(
    topic=topics, payload=st.binary(max_size=300), qos=st.integers(0, 1), mid=st.integers(1, 65535), props=properties
)
def test_an_mqtt_5_publish_decodes_as_paho_decodes_it_its_properties_skipped(
    topic: str, payload: bytes, qos: int, mid: int, props: bytes
) -> None:
    packet = bytearray(body(topic.encode(), payload, qos=qos, mid=mid, properties=props))
    theirs = paho_decode_publish(header(qos, dup=True, retain=True), packet, MQTTProtocolVersion.MQTTv5)
    assert decode_publish(header(qos, dup=True, retain=True), packet, v5=True) == Publish(
        theirs.topic.decode(), bytes(theirs.payload), theirs.mid, theirs.qos
    )


def test_properties_that_paho_refuses_but_mqtt_allows_are_skipped() -> None:
    # MQTT 5 [MQTT-1.5.4-3]: U+FEFF is a character like any other, not to be stripped; paho's decoder calls the
    # packet malformed, and a collector relying on it lost its connection over the message at every redelivery.
    packet = body(b"a/b", b"{}", qos=1, mid=9, properties=publish_properties([("note", "\ufeff")], None, None, None))
    with pytest.raises(MalformedPacket):
        paho_decode_publish(header(1), packet, MQTTProtocolVersion.MQTTv5)
    assert decode_publish(header(1), packet, v5=True) == Publish("a/b", b"{}", 9, 1)


def test_a_payload_that_looks_like_a_properties_block_is_left_whole_at_mqtt_3() -> None:
    packet = body(b"a/b", b"\x00\x05hello", qos=1, mid=7)
    assert decode_publish(header(1), packet, v5=False) == Publish("a/b", b"\x00\x05hello", 7, 1)


def test_a_topic_that_is_not_utf8_is_kept_with_replacement_characters_not_a_lost_connection() -> None:
    decoded = decode_publish(header(1), body(b"yiwang/meter/\xff/reading", b"{}", qos=1, mid=1), v5=False)
    assert decoded.topic == "yiwang/meter/\ufffd/reading"


@pytest.mark.parametrize(
    ("packet", "v5", "qos"),
    [
        (b"\x00", False, 0),  # no room for the topic length
        (b"\x00\x09a/b", False, 0),  # the topic overruns the packet
        (b"\x00\x03a/b\x00", False, 1),  # half a packet id
        (b"\x00\x03a/b\x00\x01\x05\x01", True, 1),  # properties longer than the packet
        (b"\x00\x03a/b\x00\x01\x80\x80", True, 1),  # their length cut short
        (b"\x00\x03a/b\x00\x01\x80\x80\x80\x80\x01", True, 1),  # their length in five bytes
        (b"\x00\x03a/b", False, 3),  # QoS 3 does not exist
    ],
)
def test_lengths_that_do_not_add_up_are_malformed(packet: bytes, v5: bool, qos: int) -> None:
    with pytest.raises(Malformed):
        decode_publish(header(qos), packet, v5=v5)


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    with ours, theirs:
        yield ours, theirs


def test_read_ahead_reads_the_socket_once_per_allowance_and_hands_out_every_byte_in_order(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    ours, theirs = pair
    reads: list[int] = []

    def recv(size: int) -> bytes:
        data = ours.recv(size)
        reads.append(len(data))
        return data

    ahead = ReadAhead(recv, size=10)
    sent = bytes(range(25))
    theirs.sendall(sent)
    with pytest.raises(BlockingIOError):
        ahead(1)  # not allowed yet: the socket is read only when the selector said so
    got = b""
    for _ in range(3):
        ahead.allow_read()
        while not ahead.exhausted:
            try:
                got += ahead(3)
            except BlockingIOError:
                break
    assert got == sent
    assert reads == [10, 10, 5]
    ahead.allow_read()
    with pytest.raises(BlockingIOError):
        ahead(1)  # the socket has nothing: as a non-blocking socket says


def test_a_read_larger_than_the_read_ahead_gets_what_one_socket_read_gives(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    ours, theirs = pair
    ahead = ReadAhead(ours.recv, size=4)
    theirs.sendall(b"0123456789")
    ahead.allow_read()
    assert ahead(10) == b"0123456789"
    assert ahead.buffered == 0
    assert ahead.exhausted


def test_read_ahead_says_when_the_peer_closed(pair: tuple[socket.socket, socket.socket]) -> None:
    ours, theirs = pair
    ahead = ReadAhead(ours.recv)
    theirs.sendall(b"ab")
    theirs.shutdown(socket.SHUT_WR)
    ahead.allow_read()
    assert ahead(1) == b"a"
    assert ahead.buffered == 1
    assert ahead(5) == b"b"
    ahead.allow_read()
    assert ahead(1) == b""


def packet(first: int, rest: bytes) -> bytes:
    """A whole packet: its first byte, its remaining length, the rest."""
    length, encoded = len(rest), b""
    while True:
        byte, length = length & 0x7F, length >> 7
        encoded += bytes([byte | (0x80 if length else 0)])
        if not length:
            return bytes([first]) + encoded + rest


def test_whole_publish_packets_are_taken_from_the_buffer_and_everything_else_left_in_order(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    ours, theirs = pair
    small = packet(header(1), body(b"a/b", b"1", qos=1, mid=1))
    large = packet(header(0), body(b"a/c", b"x" * 300, qos=0))  # a remaining length of two bytes
    suback = packet(0x90, b"\x00\x02\x01")
    exactly_once = packet(header(2), body(b"a/d", b"2", qos=2, mid=3))
    cut = packet(header(1), body(b"a/e", b"3", qos=1, mid=4))
    theirs.sendall(small + large + suback + small + exactly_once + cut[:6])
    ahead = ReadAhead(ours.recv)
    ahead.allow_read()
    ahead(0)  # the socket read, as paho's reader makes it
    taken = []
    while (frame := ahead.take_publish()) is not None:
        taken.append(decode_publish(*frame, v5=False))
    assert taken == [Publish("a/b", b"1", 1, 1), Publish("a/c", b"x" * 300, 0, 0)]
    assert ahead(len(suback)) == suback  # left for paho, and the PUBLISH after it taken once paho has it
    assert decode_publish(*ahead.take_publish() or (0, b""), v5=False) == Publish("a/b", b"1", 1, 1)
    assert ahead.take_publish() is None  # QoS 2 is paho's to answer
    assert ahead(len(exactly_once)) == exactly_once
    assert ahead.take_publish() is None  # not all read yet
    assert ahead.buffered == 6
