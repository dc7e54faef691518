"""A wrong clock does not spread a meter's delta over decades: a reading before the meter's installation is refused
by the collector with its reason, and a delta over a long gap is held for staff, in no day, and listed as flagged."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import httpx
import orjson
import psycopg

from collector.metrics import Metrics
from db import ingest
from db.pool import open_pool
from domain.topics import topic
from tests.support.api import AsUser
from tests.support.broker import publish
from tests.support.registry import Devices, register_devices
from tests.support.rollups import settle
from tests.support.waiting import wait_for_count
from yiwang.settings import Settings

SHANGHAI = ZoneInfo("Asia/Shanghai")
READINGS_OF = "SELECT count(*) FROM reading WHERE meter_id = %s"


def message(settings: Settings, meter_id: str, time: datetime, register: float) -> tuple[str, bytes]:
    return topic(settings.topic_root, "meter", meter_id, "reading"), orjson.dumps(
        {"time": time.isoformat(), "register": register}
    )


async def test_a_reading_before_the_meters_installation_day_is_refused_with_its_reason(
    settings: Settings, devices: Devices, collector: Metrics
) -> None:
    meter_id = devices.meters[0]
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute("UPDATE meter SET installed_on = '2024-03-01' WHERE id = %s", (meter_id,))
    times = [
        datetime(2001, 5, 1, tzinfo=UTC),  # a clock that lost its battery
        datetime(2024, 2, 29, 23, 59, tzinfo=SHANGHAI),  # the evening before, local time
        datetime(2024, 3, 1, 0, 30, tzinfo=SHANGHAI),  # the day itself: still 29 February in UTC
        datetime(2026, 3, 1, tzinfo=SHANGHAI),
    ]
    await publish(settings.mqtt_port, [message(settings, meter_id, t, 100.0 + n) for n, t in enumerate(times)])

    url = settings.database_url
    refused = "SELECT count(*) FROM dead_letter WHERE device_id = %s AND reason = 'before_installation'"
    assert await wait_for_count(url, refused, [meter_id], 2) == 2
    assert await wait_for_count(url, READINGS_OF, [meter_id], 2) == 2
    with psycopg.connect(url) as conn:
        stored = [
            row[0] for row in conn.execute("SELECT time FROM reading WHERE meter_id = %s ORDER BY time", (meter_id,))
        ]
        details = [
            row[0]
            for row in conn.execute("SELECT detail FROM dead_letter WHERE device_id = %s ORDER BY detail", (meter_id,))
        ]
    assert stored == times[2:]
    assert all("before the meter's installation on 2024-03-01" in d for d in details)
    assert (
        collector.registry.get_sample_value("yiwang_collector_rejected_total", {"reason": "before_installation"}) == 2
    )


async def test_a_reading_dated_2001_is_held_as_a_gap_for_staff_not_spread_over_every_day_since(
    settings: Settings,
    devices: Devices,
    collector: Metrics,
    client: httpx.AsyncClient,
    as_user: AsUser,
) -> None:
    # A meter without an installation date: the collector has no bound but its `oldest_time` (2000).
    meter_id = devices.meters[1]
    times = [
        datetime(2001, 5, 1, tzinfo=UTC),
        datetime(2026, 3, 1, 8, tzinfo=SHANGHAI),
        datetime(2026, 3, 1, 9, tzinfo=SHANGHAI),
    ]
    registers = [100.0, 1_170.0, 1_175.0]
    await publish(
        settings.mqtt_port, [message(settings, meter_id, t, r) for t, r in zip(times, registers, strict=True)]
    )
    assert await wait_for_count(settings.database_url, READINGS_OF, [meter_id], 3) == 3
    async with open_pool(settings.database_url, max_size=1, configure=ingest.prepare_connection) as pool:
        await settle(pool, [meter_id])
        async with pool.connection() as conn:
            cur = await conn.execute(
                "SELECT day, amount FROM consumption_day WHERE meter_id = %s ORDER BY day", (meter_id,)
            )
            stored = await cur.fetchall()
            cur = await conn.execute(
                'SELECT change, start, "end", amount FROM consumption_event WHERE meter_id = %s', (meter_id,)
            )
            held = await cur.fetchall()
    # Two days with readings; none of the 9,000-odd days between them is made up, and only the 5 kWh of the
    # hour the meter was read twice counts.
    assert [(d, a) for d, a in stored] == [(date(2001, 5, 1), Decimal(0)), (date(2026, 3, 1), Decimal(5))]
    assert held == [("gap", times[0], times[1], Decimal(1_070))]

    staff = await as_user("energy_staff")
    response = await client.get(
        "/energy/flagged", params={"start": "2026-03-01", "end": "2026-04-01", "meter_id": meter_id}, headers=staff
    )
    assert response.status_code == 200, response.text
    [flagged] = response.json()
    assert (flagged["change"], Decimal(flagged["amount"])) == ("gap", Decimal(1_070))
    assert datetime.fromisoformat(flagged["start"]) == times[0]
    assert "held unapportioned for staff" in flagged["reason"]


async def test_staff_decide_a_held_gap_spread_or_left_out_and_the_audit_log_has_it(
    api_settings: Settings, tag: str, client: httpx.AsyncClient, as_user: AsUser
) -> None:
    devices = await register_devices(api_settings.database_url, tag, meters=1, vehicles=0)
    meter_id = devices.meters[0]
    times = [datetime(2025, 1, 10, 8, tzinfo=SHANGHAI), datetime(2025, 3, 1, 8, tzinfo=SHANGHAI)]
    async with open_pool(api_settings.database_url, max_size=1, configure=ingest.prepare_connection) as pool:

        async def totals() -> tuple[Decimal, int, list[str]]:
            await settle(pool, [meter_id])
            async with pool.connection() as conn:
                cur = await conn.execute(
                    "SELECT coalesce(sum(amount), 0), count(*) FROM consumption_day WHERE meter_id = %s", (meter_id,)
                )
                row = await cur.fetchone()
                assert row is not None
                cur = await conn.execute("SELECT change FROM consumption_event WHERE meter_id = %s", (meter_id,))
                return row[0], row[1], [c for (c,) in await cur.fetchall()]

        async with pool.connection() as conn, conn.transaction():
            await ingest.insert_readings(
                conn, [(meter_id, t, r, datetime.now(UTC)) for t, r in zip(times, [100.0, 1_516.0], strict=True)]
            )
        # 50 days apart: held, and only the two days with a reading are made.
        assert await totals() == (Decimal(0), 2, ["gap"])

        staff = await as_user("energy_staff")
        url = f"/energy/gaps/{meter_id}"
        body = {"start": times[0].isoformat(), "end": times[1].isoformat(), "decision": "spread", "note": "坏表修复"}
        response = await client.put(url, json=body, headers=staff)
        assert response.status_code == 200, response.text
        assert (response.json()["decision"], Decimal(response.json()["amount"])) == ("spread", Decimal(1_416))
        # Spread as the rules would: 1,416 over 50 days, every day of the gap made.
        assert await totals() == (Decimal(1_416), 51, [])

        response = await client.put(url, json={**body, "decision": "exclude", "note": "时钟错误"}, headers=staff)
        assert response.status_code == 200, response.text
        assert await totals() == (Decimal(0), 2, ["gap"])

        listed = await client.get("/energy/gaps", params={"meter_id": meter_id}, headers=staff)
        assert listed.status_code == 200, listed.text
        assert [(d["decision"], d["note"]) for d in listed.json()] == [("exclude", "时钟错误")]

        other = {**body, "end": datetime(2025, 3, 2, tzinfo=SHANGHAI).isoformat()}
        response = await client.put(url, json=other, headers=staff)
        assert response.status_code == 404, response.text
        assert "no held gap" in response.json()["detail"]
        unit = await as_user("unit_user", devices.organisation)
        assert (await client.put(url, json=body, headers=unit)).status_code == 403

        async with pool.connection() as conn:
            cur = await conn.execute(
                "SELECT params->>'decision', outcome FROM audit_log WHERE %s = ANY(resource_ids) ORDER BY id",
                (meter_id,),
            )
            assert await cur.fetchall() == [
                ("spread", "ok"),
                ("exclude", "ok"),
                ("spread", "not_found"),
                (None, "denied"),  # the unit user, refused before the body was read
            ]
