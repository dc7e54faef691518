"""Where aiomqtt leaves messages (its `queue_type` seam) and the writer takes them in timed batches.

aiomqtt's message iterator costs a task per message and is not safe to cancel, so a timed
"up to N or T ms" batch cannot be built on it. aiomqtt instead puts each message into its queue
with `put_nowait`; this queue keeps them in a list and hands out whole batches.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import NamedTuple

from aiomqtt import Message


class Received(NamedTuple):
    """A message and the wall-clock time (epoch seconds) it reached us."""

    at: float
    message: Message


class Inbox(asyncio.Queue[Message]):
    """A batch queue for one broker connection. Its size is bounded by the broker's in-flight window,
    because nothing is acknowledged before it is committed.

    Args:
        batch_size: a batch is handed out as soon as this many messages wait.
        batch_wait: seconds a batch may wait, from its first message, for more.
    """

    def __init__(self, batch_size: int, batch_wait: float) -> None:
        super().__init__()
        self.batch_size = batch_size
        self.batch_wait = batch_wait
        self._pending: list[Received] = []
        self._arrived = asyncio.Event()
        self._full = asyncio.Event()
        self._closed = False

    def put_nowait(self, item: Message) -> None:
        """Called by aiomqtt for every message, on the event loop."""
        if self._closed:
            # Not taken, so never acknowledged: the broker keeps it and sends it again.
            return
        self._pending.append(Received(time.time(), item))
        if len(self._pending) == 1:
            self._arrived.set()
        if len(self._pending) >= self.batch_size:
            self._full.set()

    def qsize(self) -> int:
        return len(self._pending)

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self, *, drop: bool = False) -> None:
        """Take no more messages. With `drop`, forget those waiting (their connection is gone and
        the broker will send them again); without, `take` still hands them out."""
        self._closed = True
        if drop:
            self._pending.clear()
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
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._full.wait(), remaining)
        batch = self._pending[: self.batch_size]
        del self._pending[: self.batch_size]
        return batch
