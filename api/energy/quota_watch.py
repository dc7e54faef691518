"""The quota watch (docs/notifications.md "Energy events"): every energy_watch_seconds, the indicator report of the
year so far (1 January to yesterday, all institutions, no comparison periods) judged by domain/energy_events.py's
quota rule, quota_near alerts raised and cleared. The notifier's energy watch judges the other energy events
(notifier/energy_watch.py); this one runs in the API because the indicator report (standard-coal factors, entries and
fuel statements beside the meters, the quotas of institutions and categories) is the API's, and the notifier may not
import it (the layers).
Several API processes judge alike: raising is idempotent."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from decimal import Decimal

from prometheus_client import Counter
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from api.energy import factors as factor_data
from api.energy import indicators
from api.energy.factors import UnknownFactorVersion
from db import alerts as alerts_db
from db import energy_events as events_db
from db.energy_reports import Filters
from db.scope import Scope
from domain.energy_events import QuotaFigure, quota_cleared, quota_event
from domain.periods import Period
from yiwang.periodic import periodically
from yiwang.settings import Settings


def year_so_far(today: date) -> Period:
    """The whole days of this year before today; on 1 January, the whole of last year."""
    start = date(today.year, 1, 1) if today > date(today.year, 1, 1) else date(today.year - 1, 1, 1)
    return Period(start, today)


async def judge(conn: AsyncConnection, settings: Settings, now: datetime) -> tuple[int, int]:
    """One judgement, in the caller's transaction: (alerts raised, alerts cleared).

    Raises:
        UnknownFactorVersion: no standard-coal or carbon factors are loaded (`yiwang factors` loads them).
    """
    zone = settings.zone
    period = year_so_far(now.astimezone(zone).date())
    factors = await factor_data.choose(
        conn, year=period.start.year, coal_version=None, carbon_version=None, region="national"
    )
    report = await indicators.report(
        conn,
        Scope(None),
        period=period,
        group="institution",
        factors=factors,
        filters=Filters(),
        zone=settings.time_zone,
        near=Decimal(str(settings.energy_quota_near)),
        key_unit_tce=Decimal(str(settings.energy_key_unit_threshold_tce)),
        comparisons=False,  # the year so far only: every turn, in every API process
    )
    figures = {
        row.institution_id: [QuotaFigure(q.indicator, q.value, q.limit, q.status) for q in row.quotas]
        for row in report.rows
        if row.institution_id is not None
    }
    judged = {
        institution_id: quota_event(institution_id, found, start=period.start, end=period.end, zone=zone)
        for institution_id, found in figures.items()
    }
    reasons: dict[int, str] = {}
    for a in await events_db.active(conn, ["quota_near"]):
        year = a["time"].astimezone(zone).year
        if year < period.start.year:
            # Its year is over (and judged no more): cleared, or it would keep this year's from being raised (one
            # active per subject and kind).
            reasons[a["id"]] = f"the year {year} ended"
            continue
        if a["institution_id"] not in figures:
            continue  # an institution no longer registered
        event = judged[a["institution_id"]]
        if a["level"] == "yellow" and event is not None and event.level == "red":
            reasons[a["id"]] = f"over its quota: raised again red ({event.detail})"
        elif (reason := quota_cleared(a["level"], figures[a["institution_id"]])) is not None:
            reasons[a["id"]] = reason
    cleared = await alerts_db.clear(conn, reasons)
    events = [e for _, e in sorted(judged.items()) if e is not None]
    return len(await events_db.raise_events(conn, events)), cleared


async def maintain(pool: AsyncConnectionPool[AsyncConnection], settings: Settings, raised_count: Counter) -> None:
    """Judge every energy_watch_seconds until cancelled, the first time after one interval (an API starting does not
    wait for it), counting the alerts raised on `raised_count`; a failure is logged and tried again at the next
    turn."""

    async def turn() -> int:
        async with pool.connection() as conn, conn.transaction():
            raised, _ = await judge(conn, settings, datetime.now(UTC))
        raised_count.inc(raised)
        return raised

    await asyncio.sleep(settings.energy_watch_seconds)
    await periodically(turn, settings.energy_watch_seconds, "quota watch", refusals=(UnknownFactorVersion,))
