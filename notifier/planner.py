"""Deliveries from alerts: each new (or escalated) alert matched against the enabled rules (domain/notifications.py)
and planned as a delivery, due now, after quiet hours, or at its digest's end."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from psycopg import AsyncConnection

from db import notifications as notifications_db
from domain.notifications import Event, Rule, matching, plan


async def plan_alerts(  # noqa: PLR0917
    conn: AsyncConnection,
    rules: Sequence[Rule],
    alerts: Sequence[Mapping[str, Any]],
    event: Event,
    now: datetime,
    zone: ZoneInfo,
) -> int:
    """Plan the deliveries of these alerts (id, organisation_id, kind, level) for this event; how many."""
    planned = 0
    for a in alerts:
        for rule in matching(
            rules, organisation_id=a["organisation_id"], kind=a["kind"], level=a["level"], event=event
        ):
            bucket, due = plan(rule, a["level"], now, zone)
            if bucket is not None:
                key = f"{event}-digest:{bucket}"
            else:
                key = f"{'alert' if event == 'new' else 'escalation'}:{a['id']}"
            await notifications_db.plan(conn, rule, key, a["id"], due, digest=bucket is not None)
            planned += 1
    return planned
