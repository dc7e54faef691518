"""A JT/T 808 terminal's memory of unanswered fixes (simulators/backlog.py): nothing is forgotten before the platform
acknowledges it, and what waited goes out as blind-zone batches in fix order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.jt808.messages import LOCATION_BATCH, LOCATION_REPORT
from domain.jt808.responses import GeneralResponse, Result
from domain.position import Position
from simulators.backlog import Backlog, Lost

T0 = datetime(2026, 3, 2, 1, tzinfo=UTC)


def fix(second: int) -> Position:
    return Position("v-1", T0 + timedelta(seconds=second), T0, 29.3, 117.2, 30.0, 90.0, True)


def backlog(*, batch: int = 3, window: int = 4, capacity: int = 1000) -> Backlog:
    return Backlog(timeout=10.0, retries=2, batch=batch, window=window, capacity=capacity)


def ack(serial: int, message_id: int = LOCATION_REPORT, result: int = Result.SUCCESS) -> GeneralResponse:
    return GeneralResponse(serial, message_id, result)


def test_a_live_fix_is_kept_until_acknowledged() -> None:
    memory = backlog()
    memory.add([fix(0)], blind=False, online=True)
    sent = memory.next_live()
    assert sent == fix(0)
    memory.record(7, LOCATION_REPORT, [sent], now=0.0)
    assert len(memory) == 1
    # An answer to another serial, or to another message with this serial, settles nothing.
    assert memory.answer(ack(8)).acknowledged == []
    assert memory.answer(ack(7, LOCATION_BATCH)).acknowledged == []
    assert memory.answer(ack(7)).acknowledged == [fix(0)]
    assert len(memory) == 0
    # The same answer again (to a resend) counts nothing twice.
    assert memory.answer(ack(7)).acknowledged == []


def test_an_alarm_confirmation_acknowledges_too() -> None:
    memory = backlog()
    memory.record(1, LOCATION_REPORT, [fix(0)], now=0.0)
    assert memory.answer(ack(1, result=Result.ALARM_CONFIRMED)).acknowledged == [fix(0)]


def test_unanswered_goes_again_after_t_2t_3t_then_the_connection_is_lost() -> None:
    memory = backlog()
    memory.record(1, LOCATION_REPORT, [fix(0)], now=100.0)
    assert memory.next_deadline() == 110.0
    assert memory.due(109.9) == []
    (again,) = memory.due(110.0)
    assert (again.serial, again.tries) == (1, 2)
    assert memory.next_deadline() == 130.0  # T(n+1) = T(n) x (n+1)
    assert memory.due(129.0) == []
    (again,) = memory.due(130.0)
    assert again.tries == 3
    assert memory.due(159.0) == []
    with pytest.raises(Lost):
        memory.due(160.0)
    assert len(memory) == 1  # lost connection, not lost fix


def test_failure_waits_for_the_timeout_while_a_message_error_drops_the_fix() -> None:
    memory = backlog()
    memory.record(1, LOCATION_REPORT, [fix(0)], now=0.0)
    memory.record(2, LOCATION_REPORT, [fix(10)], now=0.0)
    assert memory.answer(ack(1, result=Result.FAILURE)) == memory.answer(ack(99))  # nothing settled
    assert [s.serial for s in memory.due(10.0)] == [1, 2]
    refused = memory.answer(ack(2, result=Result.MESSAGE_ERROR))
    assert (refused.acknowledged, refused.refused) == ([], [fix(10)])
    assert len(memory) == 1


def test_fixes_made_offline_are_held_and_go_as_blind_batches_in_fix_order() -> None:
    memory = backlog(batch=3)
    for second in (0, 10, 20, 30):
        memory.add([fix(second)], blind=False, online=False)
    assert memory.next_live() is None
    first = memory.next_batch()
    assert first == [fix(0), fix(10), fix(20)]
    memory.record(5, LOCATION_BATCH, first, now=0.0, blind=True)
    assert memory.next_batch() == []  # one batch on the wire at a time: batches arrive in fix order
    assert memory.answer(ack(5, LOCATION_BATCH)).acknowledged == first
    assert memory.next_batch() == [fix(30)]


def test_on_disconnection_what_was_unanswered_joins_the_held_fixes_in_fix_order() -> None:
    memory = backlog(batch=10, window=2)
    memory.add([fix(5)], blind=True, online=True)  # the vehicle's own coverage gap
    for second in (10, 20, 30):
        memory.add([fix(second)], blind=False, online=True)
    for serial, second in ((1, 10), (2, 20)):
        live = memory.next_live()
        assert live == fix(second)
        memory.record(serial, LOCATION_REPORT, [live], now=0.0)
    assert memory.next_live() is None  # the window is full
    memory.add([fix(0)], blind=False, online=False)  # older than all, made while reconnecting
    memory.offline()
    assert memory.sent == {}
    assert memory.next_live() is None
    assert memory.next_batch() == [fix(0), fix(5), fix(10), fix(20), fix(30)]


def test_a_blind_batch_does_not_hold_up_live_reports() -> None:
    memory = backlog(window=1)
    memory.add([fix(0), fix(10)], blind=True, online=True)
    memory.add([fix(20)], blind=False, online=True)
    batch = memory.next_batch()
    memory.record(1, LOCATION_BATCH, batch, now=0.0, blind=True)
    assert memory.next_live() == fix(20)


def test_the_held_fixes_are_bounded_and_the_oldest_go_first() -> None:
    memory = backlog(batch=10, capacity=3)
    memory.add([fix(30), fix(10)], blind=False, online=False)
    memory.add([fix(20), fix(0), fix(40)], blind=True, online=True)
    assert memory.dropped == 2
    assert memory.next_batch() == [fix(20), fix(30), fix(40)]
