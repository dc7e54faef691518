"""While the broker is away the gateway answers no location report, so the terminal keeps it and sends it again;
once the broker is back the resent report is published, answered, and stored once."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator

import pytest

from db.migrate import migrate
from domain.jt808 import terminal as t
from domain.jt808.responses import Result
from tests.support.broker import open_broker_from_database
from tests.support.collector import collecting
from tests.support.gateway import gateway_settings, gatewaying, sample
from tests.support.registry import plate, register_devices, terminal_id
from tests.support.stack import make_stack_home, settings_for
from tests.support.terminal import Terminal, fixes
from tests.support.waiting import eventually, wait_for_count
from yiwang.stack import Stack, free_port

pytestmark = pytest.mark.slow

POSITIONS = "SELECT count(*) FROM position WHERE vehicle_id = %s"


@pytest.fixture
def own_stack() -> Iterator[Stack]:
    """A stack of the test's own, since the test stops its broker."""
    home = make_stack_home("gateway")
    s = Stack.at(home, free_port(), free_port(), shared_buffers="128MB")
    s.up()
    migrate(s.postgres.url)
    s.postgres.grant()
    asyncio.run(open_broker_from_database(s.postgres.url, s.mosquitto))
    try:
        yield s
    finally:
        s.down()
        shutil.rmtree(home, ignore_errors=True)


async def test_while_the_broker_is_away_nothing_is_answered(own_stack: Stack, tag: str) -> None:
    settings = gateway_settings(settings_for(own_stack, tag), tag)
    devices = await register_devices(settings.database_url, tag, meters=0, vehicles=1, terminals=True)
    vehicle = devices.vehicles[0]
    first, second = fixes(2)
    async with collecting(settings), gatewaying(settings) as metrics:
        terminal = await Terminal.connect(settings.jt808_port, terminal_id(tag, 0), plate=plate(tag, 0))
        try:
            await terminal.log_in()
            assert await terminal.report(first) == Result.SUCCESS
            await asyncio.to_thread(own_stack.mosquitto.stop)
            await eventually(lambda: sample(metrics, "yiwang_gateway_mqtt_connected") == 0, 20)
            await terminal.send(t.LOCATION_REPORT, t.location_body(second))
            # No answer: a terminal that hears nothing sends the report again (JT/T 808 4.4.5, its retransmission
            # timeout is 10 s by default, here 3).
            with pytest.raises(TimeoutError):
                await terminal.answer(3)
            assert sample(metrics, "yiwang_gateway_unanswered_total") == 1
            await asyncio.to_thread(own_stack.mosquitto.start)
            await eventually(lambda: sample(metrics, "yiwang_gateway_mqtt_connected") == 1, 30)
            assert await terminal.report(second) == Result.SUCCESS
        finally:
            await terminal.close()
        assert await wait_for_count(settings.database_url, POSITIONS, [vehicle], 2) == 2
