"""Frames on the wire: the 0x7e flags, the 0x7d escapes and the XOR check code (JT/T 808 section 4.4).

A frame is `7e <escaped: header, body, check code> 7e`. On sending, 0x7e becomes 7d 02 and 0x7d becomes 7d 01 after
the check code (the XOR of every header and body byte) is computed; on receiving, the reverse, then the check.
`Framer` splits one TCP connection's byte stream, which TCP may cut anywhere, into frames with bounded memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import reduce
from operator import xor

from domain.dead_letter import Reason
from domain.jt808.errors import InvalidFrame

FLAG = 0x7E
ESCAPE = 0x7D
_ESCAPED = {0x01: ESCAPE, 0x02: FLAG}

# The longest frame the standard allows: a 2019 multi-packet header (21 bytes), the largest body the length field
# can say (1023) and the check code, every byte escaped. Longer is not a JT/T 808 frame.
MAX_FRAME_BYTES = 2 * (21 + 1023 + 1)


@dataclass(frozen=True, slots=True)
class Frame:
    """A frame whose escapes and check code are right: `packet` is its header and body, unescaped, without the
    check code; `raw` the bytes between the flags as received (for a dead letter if the packet is refused later)."""

    packet: bytes
    raw: bytes


@dataclass(frozen=True, slots=True)
class BadFrame:
    """Bytes that are no frame, and why; `raw` is what was received (at most the frame limit)."""

    reason: Reason
    detail: str
    raw: bytes


def check_code(data: bytes) -> int:
    """The XOR of every byte: the check code of a header and body."""
    return reduce(xor, data, 0)


def escape(data: bytes) -> bytes:
    return data.replace(b"\x7d", b"\x7d\x01").replace(b"\x7e", b"\x7d\x02")


def unescape(data: bytes) -> bytes:
    """Reverses `escape`; a 0x7d followed by anything but 01 or 02 (or by nothing) is `bad_escape`."""
    if ESCAPE not in data:
        return data
    parts = data.split(b"\x7d")
    out = bytearray(parts[0])
    for index, part in enumerate(parts[1:], start=1):
        if not part or part[0] not in _ESCAPED:
            following = f"0x{part[0]:02x}" if part else "the end of the frame"
            raise InvalidFrame(Reason.BAD_ESCAPE, f"0x7d followed by {following} (escape {index})")
        out.append(_ESCAPED[part[0]])
        out += part[1:]
    return bytes(out)


def frame(packet: bytes) -> bytes:
    """A header and body as sent on the wire: check code appended, escaped, between flags."""
    return b"\x7e" + escape(packet + bytes([check_code(packet)])) + b"\x7e"


def unframe(raw: bytes) -> bytes:
    """The header and body of the bytes between two flags: unescaped and their check code verified.

    Raises:
        InvalidFrame: `bad_escape` or `bad_checksum`.
    """
    data = unescape(raw)
    packet, code = data[:-1], data[-1]
    if check_code(packet) != code:
        raise InvalidFrame(Reason.BAD_CHECKSUM, f"check code 0x{code:02x}, the bytes give 0x{check_code(packet):02x}")
    return packet


class Framer:
    """Splits one connection's byte stream into frames, whatever the TCP segments.

    Every 0x7e delimits: what lies between two flags is a frame, so frames back to back (`7e A 7e 7e B 7e`) and
    frames sharing a flag (`7e A 7e B 7e`, which some terminals send) are all read, and nothing between two flags
    is an empty frame. Bytes before the connection's first flag are `unframed` (a connection joined mid-frame, or
    not JT/T 808); a frame longer than `max_frame_bytes` is `oversize` at once and the rest of it, up to the next
    flag, is skipped, so memory stays bounded by the limit whatever is sent.

    Args:
        max_frame_bytes: the most bytes between two flags, escaped, that make a frame.
    """

    def __init__(self, max_frame_bytes: int = MAX_FRAME_BYTES) -> None:
        self._limit = max_frame_bytes
        self._started = False  # the connection's first flag was seen
        self._skipping = False  # the current frame went over the limit: drop it up to the next flag
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[Frame | BadFrame]:
        """The frames and bad frames that `data` completes, in the order they were sent."""
        out: list[Frame | BadFrame] = []
        at = 0
        while at < len(data):
            flag = data.find(FLAG, at)
            end = len(data) if flag < 0 else flag
            if self._started:
                self._collect(data[at:end], out)
            else:
                self._collect_unframed(data[at:end], out)
            if flag >= 0:
                self._delimit(out)
            at = end + 1
        return out

    def close(self) -> BadFrame | None:
        """What the connection's end leaves unread: a frame without its end flag is `truncated`, bytes before the
        first flag `unframed`; None when the stream ended on a flag."""
        raw = bytes(self._buffer)
        started, skipping = self._started, self._skipping
        self._buffer.clear()
        self._started = self._skipping = False
        if skipping or not raw:  # an oversize frame was reported when it went over the limit
            return None
        if started:
            return BadFrame(Reason.TRUNCATED, f"the connection ended {len(raw)} bytes into a frame", raw)
        return BadFrame(Reason.UNFRAMED, f"{len(raw)} bytes before the connection ended", raw)

    def _delimit(self, out: list[Frame | BadFrame]) -> None:
        if not self._started:
            if self._buffer:
                out.append(BadFrame(Reason.UNFRAMED, f"{len(self._buffer)} bytes before a 0x7e", bytes(self._buffer)))
            self._started = True
        elif self._buffer and not self._skipping:
            out.append(_read(bytes(self._buffer)))
        self._buffer.clear()
        self._skipping = False

    def _collect(self, chunk: bytes, out: list[Frame | BadFrame]) -> None:
        if self._skipping:
            return
        self._buffer += chunk
        if len(self._buffer) > self._limit:
            out.append(
                BadFrame(
                    Reason.OVERSIZE,
                    f"more than {self._limit} bytes without a 0x7e",
                    bytes(self._buffer[: self._limit]),
                )
            )
            self._buffer.clear()
            self._skipping = True

    def _collect_unframed(self, chunk: bytes, out: list[Frame | BadFrame]) -> None:
        self._buffer += chunk
        while len(self._buffer) >= self._limit:
            out.append(
                BadFrame(Reason.UNFRAMED, f"{self._limit} bytes without a 0x7e", bytes(self._buffer[: self._limit]))
            )
            del self._buffer[: self._limit]


def _read(raw: bytes) -> Frame | BadFrame:
    try:
        return Frame(unframe(raw), raw)
    except InvalidFrame as refused:
        return BadFrame(refused.reason, refused.detail, raw)
