"""quota_near events (api/energy/quota_watch.py): the year so far judged against the quota pro rata as the indicator
report judges it; raised yellow when near, once; cleared when a raised quota puts it within; raised red when over
(the yellow cleared for it); an institution without readings is not "under quota"."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import date, datetime, timedelta

import psycopg
from prometheus_client import CollectorRegistry, Counter

from api.energy.quota_watch import judge, maintain
from db.pool import open_pool
from domain.registry import Institution, InstitutionYear, Meter, Organisation, RegistryDocument
from tests.support.energy_events import alerts_of
from tests.support.rollups import ZONE, read_daily
from tests.support.waiting import eventually
from yiwang.settings import Settings

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=ZONE)  # the year so far: 1 January to 28 February, 59 days


async def set_quota(url: str, institution: str, limit: int, year: int = 2026) -> None:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute(
            """INSERT INTO quota (year, indicator, institution_id, limit_value)
               VALUES (%s, 'water_per_capita', %s, %s) ON CONFLICT (year, indicator, category, institution_id)
               DO UPDATE SET limit_value = EXCLUDED.limit_value""",
            (year, institution, limit),
        )


async def once(settings: Settings, now: datetime = NOW) -> tuple[int, int]:
    async with await psycopg.AsyncConnection.connect(settings.database_url_of("api")) as conn, conn.transaction():
        return await judge(conn, settings, now)


async def test_a_quota_near_is_raised_once_cleared_when_raised_and_raised_red_when_over(
    api_settings: Settings, tag: str
) -> None:
    url = api_settings.database_url
    org, inst, idle = f"org-{tag}", f"inst-{tag}", f"idle-{tag}"
    document = RegistryDocument(
        organisations=[Organisation(id=org, name=f"单位 {tag}")],
        institutions=[
            Institution(id=inst, organisation_id=org, name=f"机关 {tag}", category="agency"),
            Institution(id=idle, organisation_id=org, name=f"无数据 {tag}", category="agency"),
        ],
        institution_years=[
            InstitutionYear(institution_id=inst, year=2026, headcount=10, floor_area_m2=1000),
            InstitutionYear(institution_id=idle, year=2026, headcount=10, floor_area_m2=1000),
        ],
        meters=[Meter(id=f"w-{tag}", institution_id=inst, energy_type="water", unit="m3")],
    )
    # 1 m³ a day from 1 January: 59 m³ over 59 days, 5.9 m³ a person (and a day more each day after NOW).
    await read_daily(url, document, {f"w-{tag}": 1.0}, first=date(2026, 1, 1), days=63)
    await set_quota(url, inst, 40)  # 6.4658 for 59 days: 91%, near (>= 90%)
    await set_quota(url, idle, 1)  # no readings: no figure, never "under" nor "over"

    await once(api_settings)
    await once(api_settings)
    [near] = await alerts_of(url, inst)
    assert (near["kind"], near["level"], near["organisation_id"], near["time"]) == (
        "quota_near", "yellow", org, datetime(2026, 2, 28, tzinfo=ZONE),
    )  # fmt: skip
    assert near["detail"] == (
        "from 2026-01-01 to 2026-02-28: water_per_capita 5.9000 m³/person is 91% of the quota for those days "
        "(6.4658 m³/person, the year's pro rata): near its quota, 91% of the year's quota at this pace"
    )
    assert await alerts_of(url, idle) == []

    # Over, the next day: the yellow one is cleared for a red one.
    await set_quota(url, inst, 30)
    await once(api_settings, NOW + timedelta(days=1))
    yellow, red = await alerts_of(url, inst)
    assert yellow["cleared_reason"].startswith("over its quota: raised again red")
    assert (red["level"], red["time"], red["cleared_at"]) == ("red", datetime(2026, 3, 1, tzinfo=ZONE), None)
    assert "122% of the quota for those days" in red["detail"]

    # The quota raised the day after, so that it is only near again: the red one cleared, a new yellow one raised.
    await set_quota(url, inst, 40)
    assert await once(api_settings, NOW + timedelta(days=2)) == (1, 1)
    _, red, again = await alerts_of(url, inst)
    assert red["cleared_reason"].startswith("now water_per_capita 6.1000 m³/person is 91% of the quota")
    assert (again["level"], again["time"], again["cleared_at"]) == ("yellow", datetime(2026, 3, 2, tzinfo=ZONE), None)

    # A raised quota: within it, the yellow one is cleared, nothing new raised.
    await set_quota(url, inst, 100)
    assert await once(api_settings, NOW + timedelta(days=2)) == (0, 1)
    *_, again = await alerts_of(url, inst)
    assert again["cleared_reason"].startswith("now water_per_capita 6.1000 m³/person is ")
    assert "within its quota" in again["cleared_reason"]


async def test_a_quota_near_of_an_ended_year_is_cleared_and_the_new_years_raised(
    api_settings: Settings, tag: str
) -> None:
    url = api_settings.database_url
    org, inst, meter = f"org-{tag}", f"inst-{tag}", f"w-{tag}"
    document = RegistryDocument(
        organisations=[Organisation(id=org, name=f"单位 {tag}")],
        institutions=[Institution(id=inst, organisation_id=org, name=f"机关 {tag}", category="agency")],
        institution_years=[
            InstitutionYear(institution_id=inst, year=year, headcount=10, floor_area_m2=1000) for year in (2026, 2027)
        ],
        meters=[Meter(id=meter, institution_id=inst, energy_type="water", unit="m3")],
    )
    await read_daily(url, document, {meter: 1.0}, first=date(2026, 1, 1), days=60)
    await read_daily(url, document, {meter: 1.0}, first=date(2027, 1, 1), days=2)
    for year in (2026, 2027):
        await set_quota(url, inst, 40, year)  # 91% of the pro rata, both years
    await once(api_settings)
    [last_year] = await alerts_of(url, inst)
    assert (last_year["level"], last_year["cleared_at"]) == ("yellow", None)

    # 2 January 2027: the year so far is 1 January (1 m³ for 10 persons, 91% of 40 m³ pro rata for one day).
    assert await once(api_settings, datetime(2027, 1, 2, 9, 0, tzinfo=ZONE)) == (1, 1)
    last_year, this_year = await alerts_of(url, inst)
    assert last_year["cleared_reason"] == "the year 2026 ended"
    assert (this_year["level"], this_year["time"], this_year["cleared_at"]) == (
        "yellow", datetime(2027, 1, 1, tzinfo=ZONE), None,
    )  # fmt: skip


async def test_the_running_quota_watch_counts_the_alerts_it_raises(api_settings: Settings, tag: str) -> None:
    url = api_settings.database_url
    org, inst, meter = f"org-{tag}", f"inst-{tag}", f"w-{tag}"
    today = datetime.now(ZONE).date()
    year = today.year
    document = RegistryDocument(
        organisations=[Organisation(id=org, name=f"单位 {tag}")],
        institutions=[Institution(id=inst, organisation_id=org, name=f"机关 {tag}", category="agency")],
        institution_years=[InstitutionYear(institution_id=inst, year=year, headcount=10, floor_area_m2=1000)],
        meters=[Meter(id=meter, institution_id=inst, energy_type="water", unit="m3")],
    )
    # 1 m³ a day for 10 persons from 1 January: 91% of 40 m³ a person pro rata, whatever the day.
    await read_daily(url, document, {meter: 1.0}, first=date(year, 1, 1), days=(today - date(year, 1, 1)).days + 1)
    await set_quota(url, inst, 40, year)
    registry = CollectorRegistry()
    raised = Counter("raised", "quota_near alerts raised", registry=registry)
    settings = api_settings.model_copy(update={"energy_watch_seconds": 0.2})
    async with open_pool(settings.database_url_of("api"), max_size=1) as pool:
        task = asyncio.create_task(maintain(pool, settings, raised))
        try:
            await eventually(lambda: (registry.get_sample_value("raised_total") or 0) >= 1, 30)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    [near] = await alerts_of(url, inst)
    assert (near["kind"], near["level"]) == ("quota_near", "yellow")
