"""A terminal's alarm word end to end: positions through the broker, stored whole by the collector, raised as
alerts by the supervisor once per rise, served by the API."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import orjson
import psycopg
import pytest

from domain.jt808.location import Alarm
from domain.topics import topic
from tests.support.api import AsUser, Units
from tests.support.broker import publish
from tests.support.collector import collecting
from tests.support.messages import Message
from tests.support.waiting import wait_for_count
from yiwang.settings import Settings

SHANGHAI = ZoneInfo("Asia/Shanghai")
TEN = datetime(2026, 3, 10, 10, tzinfo=SHANGHAI)  # a Tuesday morning: standing still, no other rule speaks
# Bits that mean nothing a dispatcher acts on: warnings given to the driver, faults, vendors' reserved bits.
MEANINGLESS = Alarm.OVERSPEED_WARNING | Alarm.FATIGUE_WARNING | Alarm.CAMERA_FAULT | Alarm.MAIN_POWER_LOW | (1 << 31)


def at(minute: float) -> datetime:
    return TEN + timedelta(minutes=minute)


def reports(root: str, vehicle: str, fixes: list[tuple[float, int]], *, blind: bool = False) -> list[Message]:
    """A vehicle standing with the ignition on, a fix at each minute with its alarm word."""
    return [
        (
            topic(root, "vehicle", vehicle, "position"),
            orjson.dumps(
                {
                    "time": at(minute).isoformat(),
                    "latitude": 29.3005,
                    "longitude": 117.2005,
                    "speed": 0.0,
                    "heading": 0.0,
                    "odometer": 1000.0,
                    "ignition": True,
                    "alarm": int(alarm),
                    "status": 0b11,  # ACC on, positioned
                    "blind": blind,
                }
            ),
        )
        for minute, alarm in fixes
    ]


@pytest.mark.usefixtures("supervisor")
async def test_alarm_bits_raise_one_alert_per_rise_and_the_words_stay_on_the_positions(
    api_settings: Settings, units: Units, client: httpx.AsyncClient, as_user: AsUser
) -> None:
    url, root, port = api_settings.database_url, api_settings.topic_root, api_settings.mqtt_port
    alarmed, quiet = units.a.vehicles[0], units.a.vehicles[1]
    live = [
        (0, 0),
        (1, Alarm.EMERGENCY),  # the button: raised
        (2, Alarm.EMERGENCY),  # held: nothing
        (3, Alarm.EMERGENCY | MEANINGLESS),  # held, with bits that mean nothing: nothing
        (4, 0),
        (5, Alarm.EMERGENCY),  # pressed again: raised
        (6, Alarm.GNSS_ANTENNA_CUT | Alarm.MAIN_POWER_CUT),  # the terminal pulled out: two alerts
        (7, Alarm.GNSS_ANTENNA_SHORT | Alarm.MAIN_POWER_CUT),  # still both: nothing
    ]
    # Then the blind zone, sent late: the driver tired and rested in it (raised once, at its time), and the first
    # press began half a minute before the live fix that raised it (the same press: nothing).
    blind = [(-10, 0), (-8, Alarm.FATIGUE), (-6, Alarm.FATIGUE), (-4, 0), (0.5, Alarm.EMERGENCY)]
    unmeant = [(m, MEANINGLESS if m % 2 else 0) for m in range(8)]
    async with collecting(api_settings):
        await publish(port, [*reports(root, alarmed, live), *reports(root, quiet, unmeant)])
        await publish(port, reports(root, alarmed, blind, blind=True))
        stored = await wait_for_count(
            url, "SELECT count(*) FROM position WHERE vehicle_id = ANY(%s)", ([alarmed, quiet],), 8 + 5 + 8
        )
    assert stored == 8 + 5 + 8

    query = "SELECT count(*) FROM alert WHERE vehicle_id = ANY(%s)"
    assert await wait_for_count(url, query, ([alarmed, quiet],), 5) == 5
    staff = await as_user("dispatcher")
    listed = (await client.get("/alerts", params={"vehicle_id": alarmed}, headers=staff)).json()["items"]
    raised = sorted((datetime.fromisoformat(a["time"]), a["kind"], a["level"], a["detail"]) for a in listed)
    assert raised == [
        (at(-8), "fatigue", "yellow", "alarm bit 2 (fatigue driving)"),
        (at(1), "emergency", "red", "alarm bit 0 (emergency button)"),
        (at(5), "emergency", "red", "alarm bit 0 (emergency button)"),
        (at(6), "gnss_antenna", "yellow", "alarm bit 5 (GNSS antenna cut or not connected)"),
        (at(6), "power_cut", "red", "alarm bit 8 (main power cut, the terminal may be being removed)"),
    ]
    assert (await client.get("/alerts", params={"vehicle_id": quiet}, headers=staff)).json()["items"] == []
    # The API filters by the new kinds.
    power = (await client.get("/alerts", params={"kind": "power_cut"}, headers=staff)).json()["items"]
    assert [a["vehicle_id"] for a in power if a["vehicle_id"] in (alarmed, quiet)] == [alarmed]

    # The words are stored as they came, every bit of them.
    async with await psycopg.AsyncConnection.connect(url) as conn:
        cur = await conn.execute(
            "SELECT time, alarm, status FROM position WHERE vehicle_id = %s ORDER BY time", (alarmed,)
        )
        words = [(t, a, s) for t, a, s in await cur.fetchall()]
    expected = dict(live) | {m: int(w) for m, w in blind}
    assert words == [(at(m), int(expected[m]), 0b11) for m in sorted(expected)]
