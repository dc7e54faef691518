"""quota_near events (api/energy/quota_watch.py): the year so far judged against the quota pro rata as the indicator
report judges it; raised yellow when near, once; cleared when a raised quota puts it within; raised red when over
(the yellow cleared for it); an institution without readings is not "under quota"."""

from __future__ import annotations

from datetime import date, datetime

import psycopg

from api.energy.quota_watch import judge
from domain.registry import Institution, InstitutionYear, Meter, Organisation, RegistryDocument
from tests.support.energy_events import alerts_of
from tests.support.rollups import ZONE, read_daily
from yiwang.settings import Settings

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=ZONE)  # the year so far: 1 January to 28 February, 59 days


async def set_quota(url: str, institution: str, limit: int) -> None:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute(
            """INSERT INTO quota (year, indicator, institution_id, limit_value)
               VALUES (2026, 'water_per_capita', %s, %s) ON CONFLICT (year, indicator, category, institution_id)
               DO UPDATE SET limit_value = EXCLUDED.limit_value""",
            (institution, limit),
        )


async def once(settings: Settings) -> tuple[int, int]:
    async with await psycopg.AsyncConnection.connect(settings.database_url_of("api")) as conn, conn.transaction():
        return await judge(conn, settings, NOW)


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
    # 1 m³ a day from 1 January: 59 m³ over 59 days, 5.9 m³ a person.
    await read_daily(url, document, {f"w-{tag}": 1.0}, first=date(2026, 1, 1), days=61)
    await set_quota(url, inst, 40)  # 6.4658 for 59 days: 91%, near (>= 90%)
    await set_quota(url, idle, 1)  # no readings: no figure, never "under" nor "over"

    await once(api_settings)
    await once(api_settings)
    [near] = await alerts_of(url, inst)
    assert (near["kind"], near["level"], near["organisation_id"], near["time"]) == (
        "quota_near", "yellow", org, datetime(2026, 1, 1, tzinfo=ZONE),
    )  # fmt: skip
    assert near["detail"] == (
        "from 2026-01-01 to 2026-02-28: water_per_capita 5.9000 m³/person is 91% of the quota for those days "
        "(6.4658 m³/person, the year's pro rata): near its quota, 91% of the year's quota at this pace"
    )
    assert await alerts_of(url, idle) == []

    # Over: the yellow one is cleared for a red one.
    await set_quota(url, inst, 30)
    await once(api_settings)
    yellow, red = await alerts_of(url, inst)
    assert yellow["cleared_reason"].startswith("over its quota: raised again red")
    assert (red["level"], red["cleared_at"]) == ("red", None)
    assert "122% of the quota for those days" in red["detail"]

    # A raised quota: within it, the red one is cleared, nothing new raised.
    await set_quota(url, inst, 100)
    assert await once(api_settings) == (0, 1)
    _, red = await alerts_of(url, inst)
    assert red["cleared_reason"].startswith("now water_per_capita 5.9000 m³/person is 36% of the quota")
