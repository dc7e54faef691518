"""The inbox's timed batches: full batches go at once, partial ones wait at most batch_wait, none is lost."""

from __future__ import annotations

import asyncio
import time

from aiomqtt import Message

from collector.inbox import Inbox


def message(mid: int) -> Message:
    return Message("yiwang/meter/m1/reading", b"{}", qos=1, retain=False, mid=mid, properties=None)


async def test_a_full_batch_is_handed_out_without_waiting() -> None:
    inbox = Inbox(batch_size=3, batch_wait=10.0)
    for mid in range(1, 5):
        inbox.put_nowait(message(mid))
    started = time.monotonic()
    batch = await asyncio.wait_for(inbox.take(), 1)
    assert time.monotonic() - started < 1
    assert [r.message.mid for r in batch] == [1, 2, 3]
    assert inbox.qsize() == 1


async def test_a_partial_batch_waits_for_more_then_goes_after_batch_wait() -> None:
    inbox = Inbox(batch_size=100, batch_wait=0.2)
    inbox.put_nowait(message(1))
    taking = asyncio.create_task(inbox.take())
    await asyncio.sleep(0.05)
    assert not taking.done()
    inbox.put_nowait(message(2))
    batch = await asyncio.wait_for(taking, 1)
    assert [r.message.mid for r in batch] == [1, 2]


async def test_a_batch_filling_up_while_waiting_goes_at_once() -> None:
    inbox = Inbox(batch_size=2, batch_wait=10.0)
    inbox.put_nowait(message(1))
    taking = asyncio.create_task(inbox.take())
    await asyncio.sleep(0.01)
    inbox.put_nowait(message(2))
    batch = await asyncio.wait_for(taking, 1)
    assert [r.message.mid for r in batch] == [1, 2]


async def test_every_message_comes_out_once_in_order_across_batches() -> None:
    inbox = Inbox(batch_size=7, batch_wait=0.01)
    taken: list[int] = []

    async def consume() -> None:
        while batch := await inbox.take():
            taken.extend(r.message.mid for r in batch)

    consumer = asyncio.create_task(consume())
    for mid in range(1, 501):
        inbox.put_nowait(message(mid))
        if mid % 13 == 0:
            await asyncio.sleep(0)
    await asyncio.sleep(0.05)
    inbox.close()
    await asyncio.wait_for(consumer, 2)
    assert taken == list(range(1, 501))


async def test_closing_hands_out_what_waits_then_ends() -> None:
    inbox = Inbox(batch_size=10, batch_wait=10.0)
    inbox.put_nowait(message(1))
    inbox.close()
    inbox.put_nowait(message(2))  # after close: not taken, so never acknowledged; the broker resends it
    assert [r.message.mid for r in await asyncio.wait_for(inbox.take(), 1)] == [1]
    assert await asyncio.wait_for(inbox.take(), 1) == []


async def test_closing_with_drop_forgets_the_waiting_messages() -> None:
    inbox = Inbox(batch_size=10, batch_wait=10.0)
    inbox.put_nowait(message(1))
    waiting = asyncio.create_task(inbox.take())
    await asyncio.sleep(0.01)
    inbox.close(drop=True)
    assert await asyncio.wait_for(waiting, 1) == []


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
        inbox.put_nowait(message(mid))
    assert flow.calls == []
    inbox.put_nowait(message(30))
    assert flow.calls == ["pause"]
    assert inbox.paused
    await inbox.take()  # 20 left: room for another batch
    assert flow.calls == ["pause", "resume"]
    assert not inbox.paused
