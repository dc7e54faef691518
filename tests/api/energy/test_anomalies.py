"""Anomalies: a building that does not switch off at night or at weekends, and a water meter that never stops; the
working hours and weekend of the working calendar (holidays off, make-up workdays on)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import httpx
import pytest

from db import ingest
from db.pool import open_pool
from db.registry import import_document
from domain.registry import Institution, Meter, Organisation, RegistryDocument
from tests.support.rollups import settle
from yiwang.settings import Settings

SHANGHAI = ZoneInfo("Asia/Shanghai")
START = datetime(2025, 6, 2, tzinfo=SHANGHAI)  # a Monday
DAYS = 14
NAMES = {"lit": "灯火通明", "dark": "人走灯灭"}


def hourly_registers(
    rate: Callable[[datetime], float], *, hours: int = DAYS * 24, start: datetime = START
) -> list[tuple[datetime, float]]:
    """A register read at every full hour that rises by `rate(hour)` during each hour."""
    out, value = [], 1_000.0
    for n in range(hours + 1):
        moment = start + timedelta(hours=n)
        out.append((moment, value))
        value += rate(moment)
    return out


def office(
    night: float, weekend: float, workday: Callable[[date], bool] = lambda day: day.weekday() < 5
) -> Callable[[datetime], float]:
    """100 kWh an hour in working hours on workdays, `weekend` in the same hours on other days, `night` kWh from
    midnight to 6, 20 otherwise."""

    def rate(moment: datetime) -> float:
        if moment.hour < 6:
            return night
        if 9 <= moment.hour < 17:
            return 100.0 if workday(moment.date()) else weekend
        return 20.0

    return rate


async def _buildings(
    settings: Settings, tag: str, series: dict[str, Callable[[datetime], float]], start: datetime = START
) -> None:
    """The meters of `series` (`<institution>-e` electricity, `<institution>-w` water) of two institutions of one
    organisation, read every hour for DAYS days from `start`, and the roll-up up to date."""
    org = f"org-{tag}"
    institutions = sorted({meter_id.rsplit("-", 1)[0] for meter_id in series})
    document = RegistryDocument(
        organisations=[Organisation(id=org, name="单位")],
        institutions=[
            Institution(id=i, organisation_id=org, name=f"{NAMES[i.split('-')[0]]} {tag}", category="agency")
            for i in institutions
        ],
        meters=[
            Meter(
                id=meter_id,
                institution_id=meter_id.rsplit("-", 1)[0],
                energy_type="electricity" if meter_id.endswith("-e") else "water",
                unit="kWh" if meter_id.endswith("-e") else "m3",
            )
            for meter_id in series
        ],
    )
    received = datetime.now(UTC)
    async with open_pool(settings.database_url, max_size=1, configure=ingest.prepare_connection) as pool:
        async with pool.connection() as conn:
            await import_document(conn, document)
            await conn.commit()
        for meter_id, rate in series.items():
            readings = [(meter_id, t, v, received) for t, v in hourly_registers(rate, start=start)]
            async with pool.connection() as conn, conn.transaction():
                await ingest.insert_readings(conn, readings)
        await settle(pool, list(series))


@pytest.fixture
async def buildings(api_settings: Settings, tag: str) -> dict[str, str]:
    lit, dark = f"lit-{tag}", f"dark-{tag}"
    series = {
        f"{lit}-e": office(night=60.0, weekend=80.0),  # stays on at night and at weekends
        f"{dark}-e": office(night=10.0, weekend=20.0),
        f"{lit}-w": lambda moment: 0.2 if moment.hour < 6 else 1.5,  # never stops: a leak
        f"{dark}-w": lambda moment: 0.0 if 1 <= moment.hour < 5 else 1.5,
    }
    await _buildings(api_settings, tag, series)
    return {"organisation": f"org-{tag}", "lit": lit, "dark": dark}


async def test_night_and_weekend_load_and_a_leak_are_found_and_a_tidy_building_is_not(
    client: httpx.AsyncClient, as_user: Callable[..., Awaitable[dict[str, str]]], buildings: dict[str, str]
) -> None:
    staff = await as_user("energy_staff")
    response = await client.get(
        "/energy/anomalies",
        params={"start": "2025-06-02", "end": "2025-06-16", "organisation_id": buildings["organisation"]},
        headers=staff,
    )
    assert response.status_code == 200, response.text
    found = {(a["kind"], a["institution_id"]): a for a in response.json()["anomalies"]}
    # The tidy building: 10 / 100 at night, 20 / 100 at weekends, water still from 1 to 5 h.
    assert set(found) == {
        ("night_base_load", buildings["lit"]),
        ("weekend_load", buildings["lit"]),
        ("night_water_flow", buildings["lit"]),
    }
    assert Decimal(found[("night_base_load", buildings["lit"])]["value"]) == Decimal("0.6")  # 60 / 100
    assert Decimal(found[("weekend_load", buildings["lit"])]["value"]) == Decimal("0.8")  # 80 / 100
    assert found[("night_water_flow", buildings["lit"])]["meter_id"] == f"{buildings['lit']}-w"
    assert Decimal(found[("night_water_flow", buildings["lit"])]["value"]) == Decimal("0.2")


# 2024's May Day, as the State Council set it: 1-5 May off (Wednesday to Sunday), Saturday 11 May worked (调休).
MAY_DAY = datetime(2024, 4, 29, tzinfo=SHANGHAI)  # a Monday; the period runs two weeks, to 13 May
MAY_DAY_DAYS = [
    *({"day": f"2024-05-0{d}", "kind": "holiday", "name": "劳动节"} for d in range(1, 6)),
    {"day": "2024-04-28", "kind": "workday", "name": "劳动节调休"},
    {"day": "2024-05-11", "kind": "workday", "name": "劳动节调休"},
]


def may_day_workday(day: date) -> bool:
    """What the offices of the test do: work on 11 May, not from 1 to 5 May."""
    if day == date(2024, 5, 11):
        return True
    return day.weekday() < 5 and not date(2024, 5, 1) <= day <= date(2024, 5, 5)


@pytest.fixture
async def may_day_calendar(
    client: httpx.AsyncClient, as_user: Callable[..., Awaitable[dict[str, str]]]
) -> AsyncIterator[None]:
    admin = await as_user("admin")
    response = await client.put("/calendar/years/2024", json={"days": MAY_DAY_DAYS}, headers=admin)
    assert response.status_code == 200, response.text
    yield
    cleared = await client.put("/calendar/years/2024", json={"days": []}, headers=admin)
    assert cleared.status_code == 200, cleared.text


async def test_a_holiday_is_weekend_load_and_a_make_up_saturday_is_working_hours(
    api_settings: Settings,
    tag: str,
    client: httpx.AsyncClient,
    as_user: Callable[..., Awaitable[dict[str, str]]],
    may_day_calendar: None,
) -> None:
    """An office that works as the calendar says: 100 kWh an hour in working hours, 80 on days off. Counted by the
    plain week, the holiday's weekdays lowered its working-hours load and the worked Saturday raised its weekend
    load (night 60 / 94 = 0.64, weekend 85 / 94 = 0.90); counted by the calendar, they are 0.6 and 0.8 exactly."""
    lit, dark = f"lit-{tag}", f"dark-{tag}"
    series = {
        f"{lit}-e": office(night=60.0, weekend=80.0, workday=may_day_workday),
        f"{dark}-e": office(night=10.0, weekend=20.0, workday=may_day_workday),
    }
    await _buildings(api_settings, tag, series, start=MAY_DAY)
    staff = await as_user("energy_staff")
    response = await client.get(
        "/energy/anomalies",
        params={"start": "2024-04-29", "end": "2024-05-13", "organisation_id": f"org-{tag}"},
        headers=staff,
    )
    assert response.status_code == 200, response.text
    found = {(a["kind"], a["institution_id"]): a for a in response.json()["anomalies"]}
    assert set(found) == {("night_base_load", lit), ("weekend_load", lit)}
    assert Decimal(found[("night_base_load", lit)]["value"]) == Decimal("0.6")  # 60 / 100
    assert Decimal(found[("weekend_load", lit)]["value"]) == Decimal("0.8")  # 80 / 100
    assert found[("weekend_load", lit)]["days"] == 14
