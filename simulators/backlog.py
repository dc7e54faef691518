"""What a JT/T 808 terminal keeps until the platform has answered it: fixes to report live, fixes held for a
blind-zone batch, and the messages on the wire waiting for their 0x8001. Pure: no sockets, the clock is passed in.

A terminal forgets a fix only when the platform acknowledged it (0x8001 success), which the gateway sends only once
the broker holds the fix. The rules, as terminals follow the standard:

- A live fix goes out at once as a 0x0200 while the terminal is authenticated (at most `window` of them unanswered
  at once: an accelerated simulation makes fixes faster than a real terminal would); else it is held.
- A fix that the vehicle's own coverage gap kept back (the fleet's blind upload) is held too.
- Held fixes go out as 0x0704 type 1 (blind zone) in fix order, one batch on the wire at a time, so that batches
  reach the platform in the order of their fix times.
- An unanswered message is sent again with its serial after the answer timeout T, then 2T, then 3T (the standard's
  T(n+1) = T(n) x (n+1)); after the last retry the connection counts as lost.
- When the connection is lost, everything on the wire or still to be reported live is held: it goes out as
  blind-zone batches after the next authentication, in fix order with what was held already.
- An answer of "failure" leaves the message to its timeout (the platform could not take it now); "message error"
  or "not supported" drops it, counted as refused: sending the same bytes again would only be refused again.
- The held fixes are bounded, as a terminal's blind-zone memory is: beyond `capacity` the oldest are dropped and
  counted, so a simulator left running without its gateway does not grow without end.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from heapq import merge
from operator import attrgetter

from domain.jt808.responses import GeneralResponse, Result
from domain.position import Position

_BY_TIME = attrgetter("time")


@dataclass(slots=True)
class Sent:
    """A message on the wire: its serial (what 0x8001 answers), id, fixes, when it last went out, and how often."""

    serial: int
    message_id: int
    fixes: list[Position]
    at: float
    tries: int = 1
    blind: bool = False


@dataclass(frozen=True, slots=True)
class Answered:
    """What one 0x8001 settled: fixes the platform acknowledged, and fixes it refused for good."""

    acknowledged: list[Position] = field(default_factory=list)
    refused: list[Position] = field(default_factory=list)


class Lost(Exception):
    """A message stayed unanswered through every retry: the terminal drops the connection and reconnects."""


class Backlog:
    """One terminal's unacknowledged fixes.

    Args:
        timeout: seconds to wait for the first answer (terminal parameter 0x0002).
        retries: how often a message is sent again before the connection counts as lost (parameter 0x0003).
        batch: fixes per 0x0704 at most (so that a batch fits one packet: see `simulators.terminal`).
        window: live reports unanswered at once, at most.
        capacity: held fixes kept at most; older ones are dropped (`dropped` counts them).
    """

    def __init__(self, *, timeout: float, retries: int, batch: int, window: int, capacity: int) -> None:
        if batch < 1 or window < 1:
            raise ValueError("a batch holds at least one fix, and the window lets one report out")
        self.timeout = timeout
        self.retries = retries
        self.batch = batch
        self.window = window
        self.capacity = capacity
        self.dropped = 0
        self.live: deque[Position] = deque()
        self.held: list[Position] = []  # in fix order
        self.sent: dict[int, Sent] = {}

    def __len__(self) -> int:
        """Fixes not yet acknowledged."""
        return len(self.live) + len(self.held) + sum(len(s.fixes) for s in self.sent.values())

    def add(self, fixes: list[Position], *, blind: bool, online: bool) -> None:
        """New fixes from the vehicle: live ones to report at once if `online` (authenticated), else held."""
        if blind or not online:
            self._hold(fixes)
        else:
            self.live.extend(fixes)

    def next_live(self) -> Position | None:
        """The next fix to send as 0x0200, oldest first; None when there is none or the window is full."""
        if not self.live or sum(not s.blind for s in self.sent.values()) >= self.window:
            return None
        return self.live.popleft()

    def next_batch(self) -> list[Position]:
        """The next blind-zone batch, oldest fixes first; empty while one is on the wire or nothing is held."""
        if not self.held or any(s.blind for s in self.sent.values()):
            return []
        batch, self.held = self.held[: self.batch], self.held[self.batch :]
        return batch

    def record(self, serial: int, message_id: int, fixes: list[Position], now: float, *, blind: bool = False) -> None:
        """A message just sent, waiting for its answer."""
        self.sent[serial] = Sent(serial, message_id, fixes, now, blind=blind)

    def answer(self, response: GeneralResponse) -> Answered:
        """The platform's 0x8001: which fixes it settles (none if it answers no message on the wire)."""
        sent = self.sent.get(response.reply_serial)
        if sent is None or sent.message_id != response.reply_id:
            return Answered()  # a late answer to a resent message, or to a heartbeat
        if response.accepted:
            del self.sent[sent.serial]
            return Answered(acknowledged=sent.fixes)
        if response.result in (Result.MESSAGE_ERROR, Result.NOT_SUPPORTED):
            del self.sent[sent.serial]
            return Answered(refused=sent.fixes)
        return Answered()  # failure: sent again at its timeout

    def due(self, now: float) -> list[Sent]:
        """The messages whose answer is overdue, to send again now (their clocks restart, tries counted).

        Raises:
            Lost: one was already sent 1 + `retries` times.
        """
        out = []
        for sent in self.sent.values():
            if now - sent.at >= self.timeout * sent.tries:
                if sent.tries > self.retries:
                    raise Lost(f"0x{sent.message_id:04x} serial {sent.serial} unanswered after {sent.tries} tries")
                sent.tries += 1
                sent.at = now
                out.append(sent)
        return out

    def next_deadline(self) -> float | None:
        """When the first unanswered message falls due (for the caller's wait), or None."""
        return min((s.at + self.timeout * s.tries for s in self.sent.values()), default=None)

    def offline(self) -> None:
        """The connection is gone: every fix on the wire or still to report live is held for a blind-zone batch."""
        waiting = [fix for sent in self.sent.values() for fix in sent.fixes] + list(self.live)
        self.sent.clear()
        self.live.clear()
        self._hold(waiting)

    def _hold(self, fixes: list[Position]) -> None:
        self.held = list(merge(self.held, sorted(fixes, key=_BY_TIME), key=_BY_TIME))
        if len(self.held) > self.capacity:
            self.dropped += len(self.held) - self.capacity
            del self.held[: len(self.held) - self.capacity]
