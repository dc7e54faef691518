"""The alert lifecycle's sweeps: clear the alerts whose cause ended (by domain/alert_lifecycle.py's rules, on the
vehicle's newest fix: the supervisor is not involved) and escalate those left unacknowledged too long."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection

from db import alerts as alerts_db
from domain.alert_lifecycle import CLEARABLE, Newest, cause_ended

_BATCH = 1000


async def clear(conn: AsyncConnection, speed_limit_kmh: float) -> int:
    """Clear active alerts whose cause a newer fix ended; how many. Every candidate is looked at, a batch at a time:
    those whose cause lasts (still outside the area) are many in a city and must not hide the others."""
    cleared, above, areas = 0, 0, None
    while candidates := await alerts_db.active_with_newest(conn, CLEARABLE, above_id=above, limit=_BATCH):
        areas = areas if areas is not None else await alerts_db.all_areas(conn)
        reasons: dict[int, str] = {}
        for a in candidates:
            newest = Newest(a["newest_time"], a["newest_latitude"], a["newest_longitude"], a["newest_speed"])
            reason = cause_ended(a["kind"], a["time"], a["organisation_id"], newest, areas, speed_limit_kmh)
            if reason is not None:
                reasons[a["id"]] = reason
        cleared += await alerts_db.clear(conn, reasons)
        above = candidates[-1]["id"]
    return cleared


async def escalate(conn: AsyncConnection, after_seconds: float, above_id: int) -> list[dict[str, Any]]:
    """Escalate alerts unacknowledged past the setting; those alerts (the caller plans their deliveries in the same
    transaction)."""
    return await alerts_db.escalate(conn, after_seconds, above_id=above_id)
