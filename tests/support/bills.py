"""Institutions with meters, bills and neither, for the tests of entries, the declared source and costs."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx

from domain.registry import Institution, InstitutionYear, Meter, Organisation, RegistryDocument
from tests.support.rollups import read_daily
from yiwang.settings import Settings


async def register_three(settings: Settings, tag: str) -> tuple[str, str, str, str]:
    """An organisation and three institutions of 1,000 m² and 10 people in 2025, named so that they list in order:
    P with an electricity meter read 100 kWh a day over ten days of March 2025 (1,000 kWh), Q and R without meters.
    Returns (organisation, P, Q, R)."""
    org, p, q, r = f"org-{tag}-s", f"p-{tag}", f"q-{tag}", f"r-{tag}"
    document = RegistryDocument(
        organisations=[Organisation(id=org, name="来源单位")],
        institutions=[
            Institution(id=p, organisation_id=org, name=f"A 有表 {tag}", category="agency"),
            Institution(id=q, organisation_id=org, name=f"B 无表 {tag}", category="agency"),
            Institution(id=r, organisation_id=org, name=f"C 无数 {tag}", category="agency"),
        ],
        institution_years=[
            InstitutionYear(institution_id=i, year=2025, floor_area_m2=1000, headcount=10) for i in (p, q, r)
        ],
        meters=[Meter(id=f"{p}-e", institution_id=p, energy_type="electricity", unit="kWh")],
    )
    await read_daily(settings.database_url, document, {f"{p}-e": 100.0}, first=date(2025, 3, 1), days=11)
    return org, p, q, r


async def enter(client: httpx.AsyncClient, headers: dict[str, str], bodies: list[dict[str, Any]]) -> list[int]:
    """Enter each body through POST /energy/entries; their ids."""
    ids = []
    for body in bodies:
        made = await client.post("/energy/entries", headers=headers, json=body)
        assert made.status_code == 201, made.text
        ids.append(made.json()["id"])
    return ids
