"""Where received messages wait, and the writer takes them in timed batches.

aiomqtt's message iterator costs a task per message and is not safe to cancel, so a timed
"up to N or T ms" batch cannot be built on it. The connection (collector/mqtt.py) puts each
message here as paho parses it; this keeps them in a list and hands out whole batches.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import NamedTuple, Protocol


class Received(NamedTuple):
    """A message as it reached us, and the wall-clock time (epoch seconds) it did."""

    at: float
    topic: str
    payload: bytes
    mid: int
    qos: int


class Flow(Protocol):
    """What delivers into the inbox, and can stop and start doing so."""

    def pause(self) -> None: ...

    def resume(self) -> None: ...


class Inbox:
    """A batch queue for one broker connection, bounded by pausing its reader.

    The broker's in-flight window alone does not bound it: Mosquitto 2.0.11 sends a resumed
    session's whole backlog once the first acknowledgements arrive (DEVELOPERS.md), so after an
    outage the collector would read faster than it writes until memory runs out.

    Args:
        batch_size: a batch is handed out as soon as this many messages wait.
        batch_wait: seconds a batch may wait, from its first message, for more.
        limit: above this many waiting messages the flow is paused, until a batch has left and
            at most `limit - batch_size` wait.
    """

    def __init__(self, batch_size: int, batch_wait: float, limit: int | None = None) -> None:
        self.batch_size = batch_size
        self.batch_wait = batch_wait
        self.limit = max(limit or 4 * batch_size, 2 * batch_size)
        self.flow: Flow | None = None
        self._paused = False
        self._pending: list[Received] = []
        self._arrived = asyncio.Event()
        self._full = asyncio.Event()
        self._closed = False

    def put(self, topic: str, payload: bytes, mid: int, qos: int) -> None:
        """Called for every message as it is read, on the event loop."""
        if self._closed:
            # Not taken, so never acknowledged: the broker keeps it and sends it again.
            return
        self._pending.append(Received(time.time(), topic, payload, mid, qos))
        if len(self._pending) == 1:
            self._arrived.set()
        if len(self._pending) >= self.batch_size:
            self._full.set()
        if len(self._pending) >= self.limit and not self._paused and self.flow is not None:
            self._paused = True
            self.flow.pause()

    @property
    def paused(self) -> bool:
        return self._paused

    def qsize(self) -> int:
        return len(self._pending)

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Take no more messages; `take` still hands out those waiting, then an empty batch."""
        self._closed = True
        self._arrived.set()
        self._full.set()

    async def take(self) -> list[Received]:
        """The next batch, or an empty list once the inbox is closed and empty."""
        while not self._pending:
            if self._closed:
                return []
            self._arrived.clear()
            await self._arrived.wait()
        if len(self._pending) < self.batch_size and not self._closed:
            remaining = self._pending[0].at + self.batch_wait - time.time()
            if remaining > 0:
                self._full.clear()
                # asyncio.timeout keeps a cancellation that arrives as the batch fills (3.11's wait_for drops it).
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(remaining):
                        await self._full.wait()
        batch = self._pending[: self.batch_size]
        del self._pending[: self.batch_size]
        if self._paused and len(self._pending) <= self.limit - self.batch_size and self.flow is not None:
            self._paused = False
            self.flow.resume()
        return batch
