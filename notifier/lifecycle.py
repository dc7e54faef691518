"""The alert lifecycle's sweeps: clear the alerts whose cause ended (by domain/alert_lifecycle.py's rules, on the
vehicle's newest fix: the supervisor is not involved) and escalate those left unacknowledged too long."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from psycopg import AsyncConnection

from db import alerts as alerts_db
from db.calendar import StoredCalendars
from domain.alert_lifecycle import CLEARABLE, Newest, cause_ended
from domain.supervision import Area, Rules
from yiwang.settings import Settings

_BATCH = 1000


def rules_of(settings: Settings, calendars: StoredCalendars) -> Rules:
    """What clearing needs of the supervisor's rules: the global speed limit, and the calendars as stored (what a
    calendar leaves NULL is the settings' week and hours, as for the supervisor), which say when an area applies."""
    return Rules(
        zone=settings.zone,
        speed_limit_kmh=settings.supervision_speed_limit_kmh,
        calendar=calendars.default,
        calendars=calendars.by_id,
    )


async def clear(conn: AsyncConnection, settings: Settings, calendars: StoredCalendars) -> int:
    """Clear active alerts whose cause a newer fix ended; how many. Every candidate is looked at, a batch at a time:
    those whose cause lasts (still outside the area) are many in a city and must not hide the others. The areas are
    read once per sweep, and only when there is something to judge; the calendars then too, but only when they
    changed (`calendars` follows their version, as the supervisor's does)."""
    cleared, above = 0, 0
    judged: tuple[list[Area], Rules] | None = None
    while candidates := await alerts_db.active_with_newest(conn, CLEARABLE, above_id=above, limit=_BATCH):
        if judged is None:
            await calendars.follow(conn)
            judged = (await alerts_db.all_areas(conn), rules_of(settings, calendars))
        areas, rules = judged
        reasons: dict[int, str] = {}
        for a in candidates:
            newest = Newest(a["newest_time"], a["newest_latitude"], a["newest_longitude"], a["newest_speed"])
            reason = cause_ended(a["kind"], a["time"], a["organisation_id"], newest, areas, rules)
            if reason is not None:
                reasons[a["id"]] = reason
        cleared += await alerts_db.clear(conn, reasons)
        above = candidates[-1]["id"]
    return cleared


async def escalate(conn: AsyncConnection, after_seconds: float, above_id: int, now: datetime) -> list[dict[str, Any]]:
    """Escalate alerts unacknowledged past the setting as of `now` (the notifier's clock); those alerts (the caller
    plans their deliveries in the same transaction)."""
    return await alerts_db.escalate(conn, after_seconds, above_id=above_id, now=now)
