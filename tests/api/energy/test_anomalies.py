"""Anomalies: a building that does not switch off at night or at weekends, and a water meter that never stops."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
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


def hourly_registers(rate: Callable[[datetime], float], *, hours: int = DAYS * 24) -> list[tuple[datetime, float]]:
    """A register read at every full hour that rises by `rate(hour)` during each hour."""
    out, value = [], 1_000.0
    for n in range(hours + 1):
        moment = START + timedelta(hours=n)
        out.append((moment, value))
        value += rate(moment)
    return out


def office(night: float, weekend: float) -> Callable[[datetime], float]:
    """100 kWh an hour in working hours on weekdays, `weekend` in the same hours at weekends, `night` kWh from
    midnight to 6, 20 otherwise."""

    def rate(moment: datetime) -> float:
        if moment.hour < 6:
            return night
        if 9 <= moment.hour < 17:
            return 100.0 if moment.weekday() < 5 else weekend
        return 20.0

    return rate


@pytest.fixture
async def buildings(api_settings: Settings, tag: str) -> dict[str, str]:
    org = f"org-{tag}"
    lit, dark = f"lit-{tag}", f"dark-{tag}"
    series = {
        f"{lit}-e": office(night=60.0, weekend=80.0),  # stays on at night and at weekends
        f"{dark}-e": office(night=10.0, weekend=20.0),
        f"{lit}-w": lambda moment: 0.2 if moment.hour < 6 else 1.5,  # never stops: a leak
        f"{dark}-w": lambda moment: 0.0 if 1 <= moment.hour < 5 else 1.5,
    }
    document = RegistryDocument(
        organisations=[Organisation(id=org, name="单位")],
        institutions=[
            Institution(id=lit, organisation_id=org, name=f"灯火通明 {tag}", category="agency"),
            Institution(id=dark, organisation_id=org, name=f"人走灯灭 {tag}", category="agency"),
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
    async with open_pool(api_settings.database_url, max_size=1, configure=ingest.prepare_connection) as pool:
        async with pool.connection() as conn:
            await import_document(conn, document)
            await conn.commit()
        for meter_id, rate in series.items():
            async with pool.connection() as conn, conn.transaction():
                await ingest.insert_readings(conn, [(meter_id, t, v, received) for t, v in hourly_registers(rate)])
        await settle(pool, list(series))
    return {"organisation": org, "lit": lit, "dark": dark}


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
