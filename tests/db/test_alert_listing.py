"""Listing alerts (db/alerts.py alerts): `since` is a query parameter beside the filters' and the page's, each
placeholder taking its own value."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg

from api.supervision.alerts import AlertPublic
from db.alerts import alerts
from db.scope import Scope
from tests.support.notifier import raise_alert
from tests.support.registry import register_devices
from yiwang.stack import Stack


async def test_alerts_since_a_time_with_a_filter_and_a_state(stack: Stack, tag: str) -> None:
    url = stack.postgres.url
    unit = await register_devices(url, f"l{tag}", meters=0, vehicles=2)
    one, other = unit.vehicles
    now = datetime.now(UTC).replace(microsecond=0)
    old = await raise_alert(url, one, unit.organisation, "parking", "yellow", now - timedelta(days=2))
    new = await raise_alert(url, one, unit.organisation, "speeding", "red", now - timedelta(hours=1))
    await raise_alert(url, other, unit.organisation, "speeding", "red", now - timedelta(hours=1))
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        found = await alerts(
            conn, Scope(None), AlertPublic, before=None, limit=10, filters={"vehicle_id": one}, open_only=False,
            since=now - timedelta(days=1), states=["active_unack"],
        )  # fmt: skip
        assert [a.id for a in found] == [new]
        every = await alerts(
            conn, Scope(None), AlertPublic, before=new + 1, limit=10, filters={"vehicle_id": one}, open_only=True,
            since=now - timedelta(days=3),
        )  # fmt: skip
        assert [a.id for a in every] == [new, old]
