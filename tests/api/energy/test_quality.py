"""Data quality as staff read it (issue 15): completeness at each meter's own reading interval from its connection,
and readings resent with another register kept where staff can see them. Readings go through the real collector
from the meters' own broker accounts; the figures come from the API."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import orjson
import psycopg

from api.energy.quality import counted_from, expected_readings
from collector.metrics import Metrics
from db import ingest
from db.pool import open_pool
from domain.topics import topic
from tests.support.api import AsUser
from tests.support.broker import device_port, issue, publish
from tests.support.registry import Devices
from tests.support.rollups import ZONE, settle
from tests.support.waiting import eventually, wait_for_count
from yiwang.settings import Settings
from yiwang.stack import Stack

READINGS = "SELECT count(*) FROM reading WHERE meter_id = %s"
HOUR = timedelta(hours=1)


async def send(stack: Stack, settings: Settings, meter: str, readings: Sequence[tuple[datetime, float]]) -> None:
    """Publish readings as the meter does: from its own account on the devices' listener, one a message."""
    secret = await issue(stack, meter)
    name = topic(settings.mqtt_topic_root, "meter", meter, "reading")
    messages = [(name, orjson.dumps({"time": t.isoformat(), "register": v})) for t, v in readings]
    await publish(device_port(stack), messages, client_id=meter, username=meter, password=secret)


async def quality(
    client: httpx.AsyncClient, headers: dict[str, str], settings: Settings, meter: str, *, start: date, end: date
) -> dict[str, Any]:
    """The meter's row of GET /energy/quality, once the roll-up has counted what is stored."""
    async with open_pool(settings.database_url, max_size=2, configure=ingest.prepare_connection) as pool:
        await settle(pool, [meter])
    response = await client.get(
        "/energy/quality", params={"start": start.isoformat(), "end": end.isoformat()}, headers=headers
    )
    assert response.status_code == 200, response.text
    [row] = [m for m in response.json()["meters"] if m["meter_id"] == meter]
    return dict(row)


async def hourly(client: httpx.AsyncClient, headers: dict[str, str], meter: str) -> None:
    changed = await client.patch(f"/meters/{meter}", headers=headers, json={"reading_interval_seconds": 3600})
    assert changed.status_code == 200, changed.text
    assert changed.json()["reading_interval_seconds"] == 3600


def local_midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=ZONE)


async def test_an_hourly_meter_with_every_hour_is_complete(  # noqa: PLR0917
    stack: Stack, settings: Settings, devices: Devices, collector: Metrics, client: httpx.AsyncClient, as_user: AsUser
) -> None:
    # Wrong before: every meter was expected every 15 minutes, so 24 readings of 96 expected: 25 %.
    staff = await as_user("energy_staff")
    meter = devices.meters[0]
    await hourly(client, staff, meter)
    day = datetime.now(ZONE).date() - timedelta(days=2)
    await send(stack, settings, meter, [(local_midnight(day) + n * HOUR, 100.0 + n) for n in range(24)])
    assert await wait_for_count(settings.database_url, READINGS, [meter], 24) == 24

    row = await quality(client, staff, settings, meter, start=day, end=day + timedelta(days=1))
    assert (row["reading_interval_seconds"], row["readings"], row["expected"]) == (3600, 24, 24)
    assert Decimal(row["completeness"]) == 1
    # A missing hour shows: the same meter over two days, the second one silent, is half complete.
    row = await quality(client, staff, settings, meter, start=day, end=day + timedelta(days=2))
    assert (row["readings"], row["expected"], Decimal(row["completeness"])) == (24, 48, Decimal("0.5"))


async def test_a_meter_connected_during_the_period_is_judged_from_its_first_reading(  # noqa: PLR0917
    stack: Stack, settings: Settings, devices: Devices, collector: Metrics, client: httpx.AsyncClient, as_user: AsUser
) -> None:
    # Wrong before: a meter without an installation date that began reporting twelve hours ago was expected from
    # the start of the year, and showed well under 1 % complete.
    staff = await as_user("energy_staff")
    meter = devices.meters[1]
    await hourly(client, staff, meter)
    last = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    connected = last - 12 * HOUR
    # A last reading at local midnight closes its day and opens none (domain/counters.py): it is one of a day's
    # readings only once the next one arrives. From 16:00 to 17:00 UTC the meter has not sent it yet.
    hours = range(12 if last.astimezone(ZONE).hour == 0 else 13)
    await send(stack, settings, meter, [(connected + n * HOUR, 50.0 + n) for n in hours])
    assert await wait_for_count(settings.database_url, READINGS, [meter], len(hours)) == len(hours)

    today = datetime.now(ZONE).date()
    row = await quality(client, staff, settings, meter, start=date(today.year, 1, 1), end=date(today.year + 1, 1, 1))
    assert Decimal(row["completeness"]) == 1
    assert datetime.fromisoformat(row["counted_from"]) == connected
    # Twelve or thirteen whole hours from the first reading to now (the hour may turn meanwhile): every one there.
    assert row["readings"] == len(hours)
    assert row["expected"] in (12, 13)


async def test_a_meter_with_an_installation_date_is_judged_from_it(  # noqa: PLR0917
    stack: Stack, settings: Settings, devices: Devices, collector: Metrics, client: httpx.AsyncClient, as_user: AsUser
) -> None:
    # Installed two days ago and hourly: readings missing after its installation count as missing, from its first
    # local midnight, whatever its first reading.
    staff = await as_user("energy_staff")
    meter = devices.meters[2]
    day = datetime.now(ZONE).date() - timedelta(days=2)
    changed = await client.patch(
        f"/meters/{meter}", headers=staff, json={"reading_interval_seconds": 3600, "installed_on": day.isoformat()}
    )
    assert changed.status_code == 200, changed.text
    await send(stack, settings, meter, [(local_midnight(day) + n * HOUR, 10.0 + n) for n in range(12, 24)])
    assert await wait_for_count(settings.database_url, READINGS, [meter], 12) == 12

    row = await quality(client, staff, settings, meter, start=date(day.year, 1, 1), end=day + timedelta(days=1))
    assert datetime.fromisoformat(row["counted_from"]) == local_midnight(day)
    assert (row["readings"], row["expected"], Decimal(row["completeness"])) == (12, 24, Decimal("0.5"))


async def test_a_reading_interval_out_of_bounds_is_refused(
    devices: Devices, client: httpx.AsyncClient, as_user: AsUser
) -> None:
    staff = await as_user("energy_staff")
    for wrong in (0, -900, 32 * 86_400, 900.5):
        changed = await client.patch(
            f"/meters/{devices.meters[0]}", headers=staff, json={"reading_interval_seconds": wrong}
        )
        assert changed.status_code == 422, (wrong, changed.text)
    assert (await client.get(f"/meters/{devices.meters[0]}", headers=staff)).json()["reading_interval_seconds"] == 900


def duplicates(metrics: Metrics) -> float:
    return metrics.registry.get_sample_value("yiwang_collector_rows_duplicate_total", {"family": "reading"}) or 0


async def conflicts(client: httpx.AsyncClient, headers: dict[str, str], meter: str, day: date) -> list[dict[str, Any]]:
    response = await client.get(
        "/energy/conflicts",
        params={"start": day.isoformat(), "end": (day + timedelta(days=1)).isoformat(), "meter_id": meter},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()
    return found


async def test_a_resend_with_another_register_is_kept_for_staff_and_the_first_stays(  # noqa: PLR0917
    stack: Stack,
    settings: Settings,
    devices: Devices,
    collector: Metrics,
    client: httpx.AsyncClient,
    as_user: AsUser,
    db: psycopg.Connection,
) -> None:
    # Wrong before: the resent copy was dropped without a trace (ON CONFLICT DO NOTHING).
    staff = await as_user("energy_staff")
    meter = devices.meters[0]
    day = datetime.now(ZONE).date() - timedelta(days=1)
    at = local_midnight(day) + 9 * HOUR
    await send(stack, settings, meter, [(at, 1000.0), (at + HOUR, 1010.0)])
    assert await wait_for_count(settings.database_url, READINGS, [meter], 2) == 2

    await send(stack, settings, meter, [(at, 1234.5)])
    await eventually(lambda: duplicates(collector) >= 1)
    [conflict] = await conflicts(client, staff, meter, day)
    assert datetime.fromisoformat(conflict["time"]) == at
    assert (conflict["stored_register"], conflict["resent_register"], conflict["resends"]) == (1000.0, 1234.5, 1)
    # The first copy stays, and counts.
    assert db.execute("SELECT register FROM reading WHERE meter_id = %s AND time = %s", [meter, at]).fetchall() == [
        (1000.0,)
    ]
    # The data-quality view counts it, for the meter and its institution.
    row = await quality(client, staff, settings, meter, start=day, end=day + timedelta(days=1))
    assert row["conflicts"] == 1

    # Sent again, and once more with yet another register: one record, the latest register, the copies counted.
    await send(stack, settings, meter, [(at, 1234.5)])
    await eventually(lambda: duplicates(collector) >= 2)
    await send(stack, settings, meter, [(at, 999.0)])
    await eventually(lambda: duplicates(collector) >= 3)
    [conflict] = await conflicts(client, staff, meter, day)
    assert (conflict["stored_register"], conflict["resent_register"], conflict["resends"]) == (1000.0, 999.0, 3)


async def test_a_resend_with_the_same_register_leaves_no_record(  # noqa: PLR0917
    stack: Stack, settings: Settings, devices: Devices, collector: Metrics, client: httpx.AsyncClient, as_user: AsUser
) -> None:
    # A QoS 1 redelivery, or a blind-zone batch sent twice: normal, nothing for staff to judge.
    staff = await as_user("energy_staff")
    meter = devices.meters[1]
    day = datetime.now(ZONE).date() - timedelta(days=1)
    at = local_midnight(day) + 9 * HOUR
    await send(stack, settings, meter, [(at, 1000.0)])
    assert await wait_for_count(settings.database_url, READINGS, [meter], 1) == 1
    await send(stack, settings, meter, [(at, 1000.0)])
    await eventually(lambda: duplicates(collector) >= 1)
    assert await conflicts(client, staff, meter, day) == []


async def test_two_registers_for_one_time_in_one_message_keep_the_first_and_record_the_second(  # noqa: PLR0917
    stack: Stack, settings: Settings, devices: Devices, collector: Metrics, client: httpx.AsyncClient, as_user: AsUser
) -> None:
    # The two copies meet in one batch, before either is stored: the first wins there too, and the second is kept.
    staff = await as_user("energy_staff")
    meter = devices.meters[2]
    day = datetime.now(ZONE).date() - timedelta(days=1)
    at = local_midnight(day) + 9 * HOUR
    secret = await issue(stack, meter)
    body = [{"time": at.isoformat(), "register": 500.0}, {"time": at.isoformat(), "register": 501.0}]
    name = topic(settings.mqtt_topic_root, "meter", meter, "reading")
    await publish(device_port(stack), [(name, orjson.dumps(body))], client_id=meter, username=meter, password=secret)
    # The reading and the record of its other copy are committed together.
    assert await wait_for_count(settings.database_url, READINGS, [meter], 1) == 1
    [conflict] = await conflicts(client, staff, meter, day)
    assert (conflict["stored_register"], conflict["resent_register"], conflict["resends"]) == (500.0, 501.0, 1)


def test_the_count_starts_at_the_later_of_the_period_start_and_the_connection() -> None:
    begin = datetime(2026, 1, 1, tzinfo=ZONE)
    reading = datetime(2026, 6, 1, 3, 30, tzinfo=UTC)
    # The installation date, when the registry has one, whatever the first reading.
    assert counted_from(begin, date(2026, 3, 1), reading, ZONE) == datetime(2026, 3, 1, tzinfo=ZONE)
    assert counted_from(begin, date(2025, 3, 1), reading, ZONE) == begin
    # Else the first reading of the period (none older: the query gives none when one is).
    assert counted_from(begin, None, reading, ZONE) == reading
    assert counted_from(begin, None, None, ZONE) == begin
    # Whole intervals only, none after a stop before the start.
    assert expected_readings(begin, begin + timedelta(days=1), 3600) == 24
    assert expected_readings(begin, begin + timedelta(minutes=59), 3600) == 0
    assert expected_readings(begin, begin - timedelta(days=1), 900) == 0
