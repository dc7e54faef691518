"""Alerts raised before their parameters were kept: migration 0041 gives them the parameters their English text
states, so that they too are told in each reader's language; any other keeps its English text."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

import db
from db.alerts import store
from domain.supervision import Alert
from domain.vocabulary import told
from yiwang.stack import Stack

MIGRATION = Path(db.__file__).parent / "migrations" / "0042_alert_params.sql"
OLD = [  # (kind, the detail the supervisor wrote before 0041) and what a Chinese reader is told now
    ("no_dispatch", "moved over 50 m without a dispatched request", "无派车单行驶超过 50 米"),
    ("speeding", "63 km/h, limit 60", "车速 63 km/h，限速 60 km/h"),
    ("speeding", "41 km/h, limit 30 in area 12", "车速 41 km/h，区域 12 内限速 30 km/h"),
    ("off_hours", "in use outside working hours without a dispatched request", "非工作时间无派车单用车"),
    ("area_exit", "left the permitted area", "驶出允许区域"),
    ("parking", "parked outside designated places outside working hours", "非工作时间停放在指定停放点以外"),
    ("silent", "no report for 0:10:00 with the ignition on", "no report for 0:10:00 with the ignition on"),
    ("parking", "a text of another form", "a text of another form"),
]


async def test_old_alerts_get_the_parameters_their_english_text_states(stack: Stack) -> None:
    url = stack.postgres.url
    vehicle = f"v-old-{uuid.uuid4().hex[:8]}"
    at = datetime(2026, 3, 2, 12, tzinfo=UTC)
    alerts = [
        Alert(vehicle, kind, "yellow", at + timedelta(minutes=i), at, 29.3, 117.2, 40.0, detail)  # no params
        for i, (kind, detail, _) in enumerate(OLD)
    ]
    updates = [s for s in MIGRATION.read_text().split(";") if s.strip().startswith("UPDATE")]
    assert len(updates) == 3
    async with await psycopg.AsyncConnection.connect(url) as conn:
        ids = await store(conn, alerts, {vehicle: "org-old"})
        for statement in updates:  # as the migration runs them on a database of such alerts
            await conn.execute(statement)
        cur = await conn.execute("SELECT kind, params, detail FROM alert WHERE id = ANY(%s) ORDER BY time", (ids,))
        rows = await cur.fetchall()
        await conn.rollback()
    assert [told("zh", kind, params, detail) for kind, params, detail in rows] == [zh for _, _, zh in OLD]
    assert rows[0][1] == {"moved_m": 50}
    assert rows[2][1] == {"form": "speeding_in_area", "speed": 41, "limit": 30, "area": 12}
    assert rows[6][1] is None  # the silent alert's text states its span in words of one language only
