"""The supervisor killed mid-drive (SIGKILL, a real `yiwang supervise` process) and started again raises every alert
once: none repeated (speeding within its repeat interval, an alarm still held) and none missed (a vehicle that left
its anchor or its area before the kill)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import orjson
import psycopg
import pytest
from psycopg.types.json import Jsonb

from collector.supervisor import rules_from
from db import alerts as db_alerts
from db import calendar as db_calendar
from domain.position import Position
from domain.supervision import Watch
from domain.topics import topic
from tests.support.broker import publish_steadily
from tests.support.messages import Message
from tests.support.registry import Devices
from tests.support.waiting import count, eventually
from yiwang.settings import Settings
from yiwang.stack import free_port

pytestmark = pytest.mark.slow

# A Tuesday night: every drive is outside working hours.
START = datetime(2026, 3, 3, 1, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
MINUTES = 90
CITY = {"type": "Polygon", "coordinates": [[[117.1, 29.2], [117.3, 29.2], [117.3, 29.4], [117.1, 29.4], [117.1, 29.2]]]}
CAR_PARK = {
    "type": "Polygon",
    "coordinates": [[[117.20, 29.30], [117.201, 29.30], [117.201, 29.301], [117.20, 29.301], [117.20, 29.30]]],
}


def drive(vehicle: str) -> list[Position]:
    """A night of one vehicle, a fix a minute: parked in the car park; a drive east out of the city, speeding for
    20 minutes; parked outside it; a drive back. The emergency button is held all night but for the next to last
    fix, so its last fix raises `emergency` again: when that alert is stored, the vehicle's night has been judged."""
    out = []
    for m in range(MINUTES):
        lon, speed, ignition = 117.2005, 0.0, False
        if 10 <= m < 50:
            lon, speed, ignition = 117.2005 + (m - 10) * 0.004, 130.0 if 20 <= m < 40 else 60.0, True
        elif 50 <= m < 70:
            lon = 117.2005 + 40 * 0.004
        elif m >= 70:
            lon, speed, ignition = 117.2005 + (MINUTES - m) * 0.008, 50.0, True
        at = START + timedelta(minutes=m)
        alarm = 0 if m == MINUTES - 2 else 1
        out.append(Position(vehicle, at, at, 29.3005, lon, speed, 90.0, ignition, alarm=alarm))
    return out


def message(root: str, fix: Position) -> Message:
    body = {
        "time": int(fix.time.timestamp() * 1000),
        "latitude": fix.latitude,
        "longitude": fix.longitude,
        "speed": fix.speed,
        "heading": fix.heading,
        "ignition": fix.ignition,
        "alarm": fix.alarm,
    }
    return topic(root, "vehicle", fix.vehicle_id, "position"), orjson.dumps(body)


def spawn_supervisor(settings: Settings, client_id: str, metrics_port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "YIWANG_DATABASE_URL": settings.database_url,
        "YIWANG_SUPERVISOR_DATABASE_URL": settings.database_url_of("supervisor"),
        "YIWANG_MQTT_PORT": str(settings.mqtt_port),
        "YIWANG_MQTT_USERNAME": str(settings.mqtt_username),
        "YIWANG_MQTT_PASSWORD": str(settings.mqtt_password),
        "YIWANG_MQTT_TOPIC_ROOT": settings.topic_root,
        "YIWANG_SUPERVISOR_CLIENT_ID": client_id,
        "YIWANG_SUPERVISOR_METRICS_PORT": str(metrics_port),
        "YIWANG_BATCH_SIZE": "10",
        "YIWANG_BATCH_WAIT_MS": "20",
        "YIWANG_LOG_LEVEL": "WARNING",
    }
    return subprocess.Popen([sys.executable, "-m", "yiwang.cli", "supervise"], env=env)


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


async def expected(
    settings: Settings, devices: Devices, nights: dict[str, list[Position]]
) -> set[tuple[str, str, datetime]]:
    """The alerts the rules raise on each night judged from start to end without a stop."""
    async with await psycopg.AsyncConnection.connect(settings.database_url) as conn:
        rules = rules_from(settings)
        default, calendars = await db_calendar.work_calendars(conn, rules.calendar)
        areas = [a for a in await db_alerts.all_areas(conn) if a.organisation_id == devices.organisation]
    rules = replace(rules, calendar=default, calendars=calendars)
    out = set()
    for fixes in nights.values():
        watch = Watch()
        for f in fixes:
            out |= {(a.vehicle_id, a.kind, a.time) for a in watch.judge(f, dispatched=False, areas=areas, rules=rules)}
    return out


def stored(settings: Settings, vehicles: list[str]) -> list[tuple[str, str, datetime]]:
    with psycopg.connect(settings.database_url) as conn:
        rows = conn.execute(
            "SELECT vehicle_id, kind, time FROM alert WHERE vehicle_id = ANY(%s) AND kind <> 'silent'", (vehicles,)
        ).fetchall()
    return [(v, k, t) for v, k, t in rows]


async def test_a_supervisor_killed_mid_drive_neither_repeats_nor_misses_an_alert(
    settings: Settings, devices: Devices, tag: str
) -> None:
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        for name, kind, geometry in (("city", "permitted", CITY), ("car park", "parking", CAR_PARK)):
            conn.execute(
                "INSERT INTO area (name, kind, organisation_id, geometry) VALUES (%s, %s, %s, %s)",
                (f"{tag} {name}", kind, devices.organisation, Jsonb(geometry)),
            )
    nights = {v: drive(v) for v in devices.vehicles}
    want = await expected(settings, devices, nights)
    kinds = {k for _, k, _ in want}
    assert kinds >= {"emergency", "off_hours", "no_dispatch", "speeding", "area_exit", "parking"}
    last = {(v, "emergency", fixes[-1].time) for v, fixes in nights.items()}
    assert last <= want
    stream = [message(settings.topic_root, nights[v][m]) for m in range(MINUTES) for v in devices.vehicles]
    client_id, port = f"yiwang-supervisor-{tag}", free_port()
    sentinel = "SELECT count(*) FROM alert WHERE vehicle_id = ANY(%s) AND kind = 'emergency' AND time = %s"
    vehicles = list(devices.vehicles)

    first = spawn_supervisor(settings, client_id, port)
    try:
        await eventually(lambda: healthy(port), 30)
        publishing = publish_steadily(settings.mqtt_port, stream, rate=40, window=10, client_id=f"test-pub-{tag}")
        task = asyncio.create_task(publishing)
        await eventually(lambda: len(stored(settings, vehicles)) >= len(want) // 3, 60)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        at_kill = len(stored(settings, vehicles))
        assert count(settings.database_url, sentinel, [vehicles, START + timedelta(minutes=MINUTES - 1)]) == 0, (
            "the kill must land in the middle of the night"
        )
        second = spawn_supervisor(settings, client_id, free_port())
        try:
            assert await task == len(stream)
            end = START + timedelta(minutes=MINUTES - 1)
            await eventually(lambda: count(settings.database_url, sentinel, [vehicles, end]) == len(vehicles), 60)
        finally:
            second.send_signal(signal.SIGTERM)
            assert second.wait(30) == 0
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    got = stored(settings, vehicles)
    assert 0 < at_kill < len(want)
    assert sorted(set(got) - want) == [], "repeated (or spurious) after the restart"
    assert sorted(want - set(got)) == [], "missed across the restart"
