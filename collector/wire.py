"""MQTT on the wire, as the collector reads it: many packets per socket read, and PUBLISH decoded to what it uses.

paho reads each packet with three or more `recv` calls (its type byte, each byte of its length, its body), one
packet per wake-up of the event loop, and decodes each PUBLISH into an MQTTMessage (at MQTT 5 with a table of
its properties) before matching its topic against per-topic callbacks. That was over half of a message's time in
the collector, and most of the gap between MQTT 3.1.1 and MQTT 5 (docs/figures.md, "Where a message's time
goes"). Here one socket read serves many packets (ReadAhead); whole PUBLISH packets at QoS 0 and 1 are taken
straight from its bytes (`take_publish`), and any other packet (CONNACK, SUBACK, PINGRESP, DISCONNECT, QoS 2,
one cut by the end of a read) is left to paho's parser, which reads it through the same ReadAhead.

The collector uses a message's topic, payload, packet id and QoS, nothing else: no property of a PUBLISH changes
what it stores (it announces no Topic Alias Maximum, so the broker sends every topic in full), and skipping them
unread also spares it paho's refusal of U+FEFF in them, which MQTT allows [MQTT-1.5.4-3].

No paho here; collector/mqtt.py plugs this into its paho client.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

# One socket read: about a thousand single-item messages of the device contract. Read whole before the
# event loop runs anything else, so it also bounds how long the writer may wait for the loop.
READ_AHEAD_BYTES = 65536
_PUBLISH = 0x30  # the packet type, in the high nibble of the first byte


class Malformed(ValueError):
    """A PUBLISH whose lengths do not add up: the broker broke the protocol (the connection is closed)."""


class Publish(NamedTuple):
    """What the collector takes from a PUBLISH packet."""

    topic: str
    payload: bytes
    mid: int  # the packet id; 0 at QoS 0
    qos: int


def decode_publish(header: int, body: bytes | bytearray | memoryview, *, v5: bool) -> Publish:
    """Decode a PUBLISH packet's variable header and payload, skipping MQTT 5 properties unread.

    Args:
        header: the fixed header's first byte (type and flags).
        body: everything after the remaining length.
        v5: the connection speaks MQTT 5 (a properties block follows the packet id).

    A topic that is not UTF-8 (which the protocol forbids and Mosquitto refuses from publishers) is decoded
    with replacement characters, so that the collector records it as an unknown topic rather than losing the
    connection over it.

    Raises:
        Malformed: the lengths inside the packet overrun it, or the QoS bits are 3.
    """
    qos = (header >> 1) & 3
    if qos == 3:
        raise Malformed("QoS 3")
    size = len(body)
    if size < 2:
        raise Malformed("no topic length")
    at = 2 + ((body[0] << 8) | body[1])
    view = memoryview(body)
    topic = str(view[2:at], "utf-8", "replace")
    mid = 0
    if qos:
        if at + 2 > size:
            raise Malformed("no packet id")
        mid = (body[at] << 8) | body[at + 1]
        at += 2
    if v5:
        length, at = _varint(body, at)
        at += length
    if at > size:
        raise Malformed(f"variable header of {at} bytes in a packet of {size}")
    return Publish(topic, bytes(view[at:]), mid, qos)


def _varint(body: bytes | bytearray | memoryview, at: int) -> tuple[int, int]:
    """A variable byte integer at `at`, and where it ends."""
    value = 0
    for shift in (0, 7, 14, 21):
        if at >= len(body):
            raise Malformed("truncated properties length")
        byte = body[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, at
    raise Malformed("properties length over four bytes")


class ReadAhead:
    """A socket's `recv` that reads `size` bytes at once and serves the small reads of a packet parser from them.

    It reads the socket at most once per `allow_read`: the caller allows one read per readiness of the socket,
    then parses until `exhausted`, so that bytes never wait in here unseen by the selector while the parser
    could take them.

    Args:
        recv: the socket's read, raising BlockingIOError when it has nothing.
        size: bytes asked of each socket read.
    """

    def __init__(self, recv: Callable[[int], bytes], size: int = READ_AHEAD_BYTES) -> None:
        self._recv = recv
        self._size = size
        self._data = b""
        self._at = 0
        self._may_read = False

    def allow_read(self) -> None:
        """Let the next read that finds nothing buffered read the socket once."""
        self._may_read = True

    @property
    def buffered(self) -> int:
        """Bytes read from the socket and not yet handed out."""
        return len(self._data) - self._at

    @property
    def exhausted(self) -> bool:
        """Nothing buffered, and the socket already read since the last `allow_read`."""
        return not self._may_read and self._at >= len(self._data)

    def take_publish(self) -> tuple[int, memoryview] | None:
        """The next packet, taken out of the buffer, if it is a whole PUBLISH at QoS 0 or 1: its header's first byte
        and its body (for decode_publish). Anything else (another packet, QoS 2, a packet not all read yet, a length
        over four bytes) stays for the packet parser: None."""
        data, start = self._data, self._at
        end = len(data)
        if start + 2 > end:
            return None
        header = data[start]
        if header & 0xF0 != _PUBLISH or header & 0x06 >= 0x04:
            return None
        length, shift, at = 0, 0, start + 1
        while True:
            if at >= end or shift > 21:
                return None
            byte = data[at]
            at += 1
            length |= (byte & 0x7F) << shift
            if not byte & 0x80:
                break
            shift += 7
        if at + length > end:
            return None
        self._at = at + length
        return header, memoryview(data)[at : at + length]

    def __call__(self, bufsize: int) -> bytes:
        """Up to `bufsize` bytes: buffered ones, or those of one socket read (b"" when the peer closed).

        Raises:
            BlockingIOError: nothing buffered and the socket may not be read now (or has nothing).
        """
        if self._at >= len(self._data):
            if not self._may_read:
                raise BlockingIOError
            self._may_read = False
            data = self._recv(max(bufsize, self._size))
            if not data:
                return b""
            self._data, self._at = data, 0
        start = self._at
        self._at = min(start + bufsize, len(self._data))
        if start == 0 and self._at == len(self._data):
            return self._data
        return self._data[start : self._at]
