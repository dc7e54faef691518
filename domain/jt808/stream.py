"""One terminal connection's bytes in, its messages (or the reasons they were refused) out: framing, header,
reassembly and decoding chained as the gateway runs them, still without sockets or a clock of its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.dead_letter import Reason
from domain.jt808.errors import InvalidFrame
from domain.jt808.framing import MAX_FRAME_BYTES, BadFrame, Framer
from domain.jt808.header import Header, parse_packet
from domain.jt808.messages import READABLE, Message, decode
from domain.jt808.reassembly import Incomplete, Reassembler


@dataclass(frozen=True, slots=True)
class Received:
    """A message read whole. `header` is the message's (a multi-packet message's: its first packet's, serial
    included); `last` is the header of the packet that completed it, the one a general response answers. `raw` is
    that packet's frame between its flags, as received, for a dead letter should the platform refuse the message."""

    header: Header
    last: Header
    message: Message
    raw: bytes = b""


@dataclass(frozen=True, slots=True)
class Kept:
    """A packet of a multi-packet message, kept until the others arrive."""

    header: Header


@dataclass(frozen=True, slots=True)
class Refused:
    """Bytes or a message that could not be read: the dead letter's reason, detail and bytes (the frame between
    its flags, as received; empty for a multi-packet message given up on). `header` is the packet's when it
    could be read, so the gateway can answer it (0x8001 with "message error" or "not supported")."""

    reason: Reason
    detail: str
    raw: bytes
    header: Header | None = None


Event = Received | Kept | Refused


class TerminalStream:
    """Reads one connection: `feed` its bytes as they arrive, `expire` now and then.

    Args:
        max_frame_bytes: see `framing.Framer`.
        max_pending, max_age, max_packets: see `reassembly.Reassembler`.
    """

    def __init__(
        self,
        max_frame_bytes: int = MAX_FRAME_BYTES,
        max_pending: int = 8,
        max_age: float = 60.0,
        max_packets: int = 128,
        holder: str | None = None,
    ) -> None:
        self._framer = Framer(max_frame_bytes)
        self._reassembler = Reassembler(max_pending, max_age, max_packets)
        # Whose multi-packet messages are kept: the connection's authenticated terminal (its phone), set by the
        # gateway. A packet of anyone else's is refused at once: up to a megabyte of parts held for a connection
        # that proved nothing would let unauthenticated connections exhaust the gateway's memory.
        self.holder = holder

    @property
    def pending(self) -> int:
        """The multi-packet messages begun and not yet whole: while there are any, `expire` has work to do."""
        return len(self._reassembler)

    def feed(self, data: bytes, now: float) -> list[Event]:
        """What `data` completes, in the order sent, then any multi-packet message given up on by then.

        Args:
            data: the bytes just received.
            now: the caller's clock in seconds (monotonic), for the multi-packet bounds.
        """
        events: list[Event] = []
        for item in self._framer.feed(data):
            if isinstance(item, BadFrame):
                events.append(Refused(item.reason, item.detail, item.raw))
                continue
            header = None
            try:
                packet = parse_packet(item.packet)
                header = packet.header
                if header.subpackage is not None:
                    self._may_keep(header)
                whole = self._reassembler.add(packet, now)
                if whole is None:
                    events.append(Kept(header))
                else:
                    events.append(Received(whole.header, header, decode(whole.header, whole.body), item.raw))
            except InvalidFrame as refused:
                events.append(Refused(refused.reason, refused.detail, item.raw, header))
        events += self.expire(now)
        return events

    def _may_keep(self, header: Header) -> None:
        what = f"0x{header.message_id:04x} packet {header.subpackage.index if header.subpackage else 1}"
        if header.message_id not in READABLE:
            raise InvalidFrame(Reason.UNSUPPORTED_MESSAGE, f"{what}: message id not read, its packets not kept")
        if header.phone != self.holder:
            who = "no terminal" if self.holder is None else f"terminal {self.holder}"
            raise InvalidFrame(
                Reason.UNAUTHENTICATED, f"{what} from {header.phone}: the connection authenticated {who}"
            )

    def close(self) -> list[Event]:
        """What the connection's end leaves unread: a frame cut short, and every unfinished multi-packet message."""
        events: list[Event] = []
        cut = self._framer.close()
        if cut is not None:
            events.append(Refused(cut.reason, cut.detail, cut.raw))
        return events + self._refused(self._reassembler.close())

    def expire(self, now: float) -> list[Event]:
        """The multi-packet messages given up on (too old, or pushed out by newer ones) since the last call."""
        return self._refused(self._reassembler.expire(now))

    @staticmethod
    def _refused(dropped: list[Incomplete]) -> list[Event]:
        return [
            Refused(
                message.reason,
                f"0x{message.message_id:04x} from {message.phone}, serial {message.first_serial}: {message.detail}, "
                f"missing packets {list(message.missing)} of {message.total}",
                b"",
            )
            for message in dropped
        ]
