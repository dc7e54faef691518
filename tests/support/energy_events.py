"""Energy events in tests: a test's institution with its meters, readings stored as the collector stores them (the
roll-up brought up to date), the energy watch judged as the notifier judges it, and the alerts it raised."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row

from db import ingest
from db.calendar import StoredCalendars, settings_calendar
from db.pool import open_pool
from db.registry import import_document
from domain.registry import Institution, Meter, Organisation, RegistryDocument
from notifier import energy_watch
from tests.support.rollups import ZONE, settle
from yiwang.settings import Settings


async def institution(url: str, tag: str, meters: dict[str, str]) -> tuple[str, str]:
    """An organisation with one institution `inst-<tag>` (名 `测试机关 <tag>`) and these meters (id: energy type);
    (organisation, institution)."""
    org, inst = f"org-{tag}", f"inst-{tag}"
    document = RegistryDocument(
        organisations=[Organisation(id=org, name=f"测试单位 {tag}")],
        institutions=[Institution(id=inst, organisation_id=org, name=f"测试机关 {tag}", category="agency")],
        meters=[
            Meter(id=m, institution_id=inst, energy_type=kind, unit="kWh" if kind == "electricity" else "m3")  # type: ignore[arg-type]
            for m, kind in meters.items()
        ],
    )
    async with await psycopg.AsyncConnection.connect(url) as conn:
        await import_document(conn, document)
        await conn.commit()
    return org, inst


async def read(url: str, meter: str, registers: list[tuple[datetime, float]]) -> None:
    """Store a meter's readings and bring the consumption roll-up up to date."""
    received = datetime.now(UTC)
    async with open_pool(url, max_size=1, configure=ingest.prepare_connection) as pool:
        async with pool.connection() as conn, conn.transaction():
            await ingest.insert_readings(conn, [(meter, t, v, received) for t, v in registers])
        await settle(pool, [meter])


def hourly(rate: Callable[[datetime], float], first: datetime, hours: int) -> list[tuple[datetime, float]]:
    """A register read at every full hour from `first`, rising by `rate(hour)` during each hour."""
    out, value = [], 1_000.0
    for n in range(hours + 1):
        moment = first + timedelta(hours=n)
        out.append((moment, value))
        value += rate(moment)
    return out


def local_midnight(days_ago: int, now: datetime | None = None) -> datetime:
    """The local midnight (the tests' zone) `days_ago` days before today's."""
    today = (now or datetime.now(UTC)).astimezone(ZONE).date() - timedelta(days=days_ago)
    return datetime(today.year, today.month, today.day, tzinfo=ZONE)


async def judge(settings: Settings, now: datetime) -> tuple[int, int]:
    """One judgement of the energy watch at `now`, as the notifier's role: (raised, cleared)."""
    url = settings.database_url_of("notifier")
    async with await psycopg.AsyncConnection.connect(url) as conn, conn.transaction():
        return await energy_watch.watch(conn, settings, now, StoredCalendars(settings_calendar(settings)))


async def alerts_of(url: str, institution_id: str) -> list[dict[str, Any]]:
    """An institution's alerts, in id order."""
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        cur = conn.cursor(row_factory=dict_row)
        await cur.execute("SELECT * FROM alert WHERE institution_id = %s ORDER BY id", (institution_id,))
        return await cur.fetchall()
