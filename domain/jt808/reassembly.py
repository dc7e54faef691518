"""Multi-packet messages: a body too long for one packet comes as `total` packets, each with its `index` (1-based)
and its own serial, consecutive from the first packet's (JT/T 808 section 4.4.3). This joins them, with bounds.

One reassembler serves one connection: its bounds are how many messages may wait unfinished, how long one may
wait, and how many packets one may have. A message dropped by a bound is reported as `incomplete_message` with the
indexes still missing (the gateway may ask for them again with 0x8003); the clock is the caller's, in seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from domain.dead_letter import Reason
from domain.jt808.errors import InvalidFrame
from domain.jt808.header import Header, Packet


@dataclass(frozen=True, slots=True)
class Incomplete:
    """A multi-packet message given up on, and why."""

    phone: str
    message_id: int
    first_serial: int
    total: int
    missing: tuple[int, ...]
    reason: Reason
    detail: str


@dataclass(slots=True)
class _Pending:
    first: Header
    started: float
    parts: dict[int, bytes] = field(default_factory=dict)


_Key = tuple[str, int, int, int]  # phone, message id, first packet's serial, total


class Reassembler:
    """Joins the packets of multi-packet messages, whatever their order; a repeated packet replaces the earlier.

    Args:
        max_pending: messages that may wait unfinished at once; a new one beyond this drops the oldest.
        max_age: seconds a message may wait for its last packet.
        max_packets: the most packets one message may announce (each at most 1023 bytes).
    """

    def __init__(self, max_pending: int = 8, max_age: float = 60.0, max_packets: int = 128) -> None:
        self._max_pending = max_pending
        self._max_age = max_age
        self._max_packets = max_packets
        self._pending: dict[_Key, _Pending] = {}
        self._dropped: list[Incomplete] = []

    def __len__(self) -> int:
        return len(self._pending)

    def add(self, packet: Packet, now: float) -> Packet | None:
        """The whole message once `packet` completes it (its header is the first packet's, without the subpackage
        item), else None. A packet that is not a subpackage is returned as it is.

        Raises:
            InvalidFrame: `oversize` for a message of more than `max_packets` packets.
        """
        header = packet.header
        part = header.subpackage
        if part is None:
            return packet
        if part.total > self._max_packets:
            raise InvalidFrame(
                Reason.OVERSIZE, f"0x{header.message_id:04x}: {part.total} packets, limit {self._max_packets}"
            )
        first_serial = (header.serial - part.index + 1) & 0xFFFF
        key = (header.phone, header.message_id, first_serial, part.total)
        pending = self._pending.get(key)
        if pending is None:
            self._drop_old(now)
            while len(self._pending) >= self._max_pending:
                oldest = next(iter(self._pending))
                self._drop(oldest, f"more than {self._max_pending} messages unfinished")
            pending = self._pending[key] = _Pending(header, now)
        if part.index == 1:
            pending.first = header
        pending.parts[part.index] = packet.body
        if len(pending.parts) < part.total:
            return None
        del self._pending[key]
        body = b"".join(pending.parts[index] for index in range(1, part.total + 1))
        whole = pending.first
        return Packet(
            Header(
                message_id=whole.message_id,
                version=whole.version,
                protocol_version=whole.protocol_version,
                phone_digits=whole.phone_digits,
                serial=first_serial,
                body_length=len(body),
                encryption=whole.encryption,
                subpackage=None,
            ),
            body,
        )

    def expire(self, now: float) -> list[Incomplete]:
        """Drops the messages older than `max_age` and returns every message dropped since the last call (by age
        or by `max_pending`): the gateway calls it after each `add` and now and then on an idle connection."""
        self._drop_old(now)
        dropped, self._dropped = self._dropped, []
        return dropped

    def close(self) -> list[Incomplete]:
        """Drops every unfinished message, at the connection's end, and returns all those dropped."""
        for key in list(self._pending):
            self._drop(key, "the connection ended")
        return self.expire(now=float("-inf"))

    def _drop_old(self, now: float) -> None:
        for key in [key for key, pending in self._pending.items() if now - pending.started > self._max_age]:
            self._drop(key, f"not complete after {self._max_age:g} s")

    def _drop(self, key: _Key, detail: str) -> None:
        pending = self._pending.pop(key)
        phone, message_id, first_serial, total = key
        missing = tuple(index for index in range(1, total + 1) if index not in pending.parts)
        self._dropped.append(
            Incomplete(phone, message_id, first_serial, total, missing, Reason.INCOMPLETE_MESSAGE, detail)
        )
