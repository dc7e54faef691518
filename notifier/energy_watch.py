"""The energy watch: every energy_watch_seconds, in the notifier's sweep, judge meters' silence and the night
anomalies by domain/energy_events.py's rules (the anomaly report's, domain/anomalies.py, on the same working
calendar as supervision), clear the energy events whose cause ended and raise the new ones as alerts, which the same
sweep then plans by the notification rules like any alert.

Why in the notifier: it already follows alerts and clears them from data, it needs no broker, and energy events then
reach the rules in the sweep that raised them; its role reads what the judgement needs (db/roles.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from psycopg import AsyncConnection

from db import alerts as alerts_db
from db import energy_events as events_db
from db import energy_reports
from db.calendar import StoredCalendars
from db.energy_reports import Filters
from db.scope import Scope
from domain.anomalies import HOURLY, Hours, gather
from domain.energy_events import WATCHED, night_cleared, night_events, silence_ended, silent_meters
from yiwang.settings import Settings


async def watch(
    conn: AsyncConnection, settings: Settings, now: datetime, calendars: StoredCalendars
) -> tuple[int, int]:
    """One judgement, in the caller's transaction: (alerts raised, alerts cleared). Clearing comes first, so that a
    cause that ended and began again raises a new alert. `calendars`: the notifier's, followed here (read again only
    when they changed)."""
    zone = settings.zone
    today = now.astimezone(zone).date()
    # Whole days before today: at least the nights a leak needs, and the days night load is measured over.
    days = max(settings.energy_watch_days, settings.energy_leak_nights)
    start = today - timedelta(days=days)
    night_ratio = Decimal(str(settings.energy_night_load_ratio))
    rows = await energy_reports.hourly_days(conn, Scope(None), Filters(), start=start, end=today, hourly=HOURLY)
    await calendars.follow(conn)
    calendar = calendars.default
    hours = gather(rows, calendar.workday)
    # Night load over the last energy_watch_days only (the report's rule over that period).
    load_start = today - timedelta(days=settings.energy_watch_days)
    loads = gather((r for r in rows if r[5] >= load_start), calendar.workday)  # r[5]: the row's day
    night = Hours(names=hours.names, loads=loads.loads, nights=hours.nights)

    active = await events_db.active(conn, WATCHED)
    last = await events_db.readings_after(
        conn, {a["meter_id"]: a["time"] for a in active if a["kind"] == "meter_silent"}
    )
    reasons: dict[int, str] = {}
    for a in active:
        if a["kind"] == "meter_silent":
            reason = silence_ended(a["time"], last.get(a["meter_id"]))
        else:
            subject = (a["institution_id"], a["meter_id"])
            reason = night_cleared(
                a["kind"], a["time"], subject, night, start=load_start, end=today, night_ratio=night_ratio, zone=zone
            )
        if reason is not None:
            reasons[a["id"]] = reason
    cleared = await alerts_db.clear(conn, reasons)

    seen_since = now - timedelta(seconds=settings.energy_silent_seconds, days=settings.energy_silent_lookback_days)
    in_service = await events_db.meters_in_service(conn, today, seen_since)
    events = silent_meters(in_service, now, settings.energy_silent_seconds)
    events += night_events(
        night, start=load_start, end=today, night_ratio=night_ratio, leak_nights=settings.energy_leak_nights, zone=zone
    )
    raised = await events_db.raise_events(conn, events)
    return len(raised), cleared
