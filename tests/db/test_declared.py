"""The yearly consumption the survey and cost reports read: meters' totals in each type's report unit."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from db import declared
from db.pool import open_pool
from domain.registry import Institution, InstitutionYear, Meter, Organisation, RegistryDocument
from tests.support.rollups import read_daily
from yiwang.settings import Settings


async def test_a_year_of_meters_counts_main_meters_in_report_units(settings: Settings, tag: str) -> None:
    org, p, q = f"org-{tag}-d", f"p-{tag}", f"q-{tag}"
    document = RegistryDocument(
        organisations=[Organisation(id=org, name="丁单位")],
        institutions=[
            Institution(id=p, organisation_id=org, name=f"档案馆 {tag}", category="venue"),
            Institution(id=q, organisation_id=org, name=f"无表 {tag}", category="venue"),
        ],
        institution_years=[InstitutionYear(institution_id=p, year=2025, floor_area_m2=1000, headcount=20)],
        meters=[
            Meter(id=f"{p}-e", institution_id=p, energy_type="electricity", unit="MWh"),
            # A sub-item meter measures part of what the main meter measures: it does not count again.
            Meter(id=f"{p}-ac", institution_id=p, energy_type="electricity", unit="kWh", sub_item="air_conditioning"),
            Meter(id=f"{p}-w", institution_id=p, energy_type="water", unit="t"),
        ],
    )
    # 2.5 MWh and 3 t a day over the ten days from 2025-03-01 (ten readings: nine days between them).
    per_day = {f"{p}-e": 2.5, f"{p}-ac": 700.0, f"{p}-w": 3.0}
    await read_daily(settings.database_url, document, per_day, first=date(2025, 3, 1), days=10)
    async with open_pool(settings.database_url, max_size=1) as pool, pool.connection() as conn:
        rows = await declared.yearly(conn, 2025, [p, q])
        earlier = await declared.yearly(conn, 2024, [p, q])
    assert {(r.institution_id, r.energy_type): r.quantity for r in rows} == {
        (p, "electricity"): Decimal("22500"),  # 9 x 2.5 MWh in kWh
        (p, "water"): Decimal("27"),
    }
    assert all(r.source == "meters" and r.cost is None and r.purpose == "building" for r in rows)
    assert earlier == []  # nothing reported: no row, never a zero
