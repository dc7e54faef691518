"""The inbox's timed batches: full batches go at once, partial ones wait at most batch_wait, none is lost."""

from __future__ import annotations

import asyncio
import time

from collector.inbox import Inbox


def put(inbox: Inbox, mid: int) -> None:
    inbox.put("yiwang/meter/m1/reading", b"{}", mid, 1)


async def test_a_full_batch_is_handed_out_without_waiting() -> None:
    inbox = Inbox(batch_size=3, batch_wait=10.0)
    for mid in range(1, 5):
        put(inbox, mid)
    started = time.monotonic()
    batch = await asyncio.wait_for(inbox.take(), 1)
    assert time.monotonic() - started < 1
    assert [r.mid for r in batch] == [1, 2, 3]
    assert inbox.qsize() == 1


async def test_a_partial_batch_waits_for_more_then_goes_after_batch_wait() -> None:
    inbox = Inbox(batch_size=100, batch_wait=0.2)
    put(inbox, 1)
    taking = asyncio.create_task(inbox.take())
    await asyncio.sleep(0.05)
    assert not taking.done()
    put(inbox, 2)
    batch = await asyncio.wait_for(taking, 1)
    assert [r.mid for r in batch] == [1, 2]


async def test_a_batch_filling_up_while_waiting_goes_at_once() -> None:
    inbox = Inbox(batch_size=2, batch_wait=10.0)
    put(inbox, 1)
    taking = asyncio.create_task(inbox.take())
    await asyncio.sleep(0.01)
    put(inbox, 2)
    batch = await asyncio.wait_for(taking, 1)
    assert [r.mid for r in batch] == [1, 2]


async def test_every_message_comes_out_once_in_order_across_batches() -> None:
    inbox = Inbox(batch_size=7, batch_wait=0.01)
    taken: list[int] = []

    async def consume() -> None:
        while batch := await inbox.take():
            taken.extend(r.mid for r in batch)

    consumer = asyncio.create_task(consume())
    for mid in range(1, 501):
        put(inbox, mid)
        if mid % 13 == 0:
            await asyncio.sleep(0)
    await asyncio.sleep(0.05)
    inbox.close()
    await asyncio.wait_for(consumer, 2)
    assert taken == list(range(1, 501))


async def test_closing_hands_out_what_waits_then_ends() -> None:
    inbox = Inbox(batch_size=10, batch_wait=10.0)
    put(inbox, 1)
    inbox.close()
    put(inbox, 2)  # after close: not taken, so never acknowledged; the broker resends it
    assert [r.mid for r in await asyncio.wait_for(inbox.take(), 1)] == [1]
    assert await asyncio.wait_for(inbox.take(), 1) == []


class Recorder:
    """A flow that notes when the inbox asks it to pause and resume."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def pause(self) -> None:
        self.calls.append("pause")

    def resume(self) -> None:
        self.calls.append("resume")


async def test_a_full_inbox_pauses_its_flow_and_resumes_it_once_a_batch_has_left() -> None:
    inbox = Inbox(batch_size=10, batch_wait=10.0, limit=30)
    flow = Recorder()
    inbox.flow = flow
    for mid in range(1, 30):
        put(inbox, mid)
    assert flow.calls == []
    put(inbox, 30)
    assert flow.calls == ["pause"]
    assert inbox.paused
    await inbox.take()  # 20 left: room for another batch
    assert flow.calls == ["pause", "resume"]
    assert not inbox.paused
