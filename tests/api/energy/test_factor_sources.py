"""Which carbon factor a figure was made with, and what the factor set says it is (issue 15, point 8).

Institution Z uses 100 kWh of electricity and 2 m³ of natural gas a day through 2025: 36,500 kWh and 730 m³.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import httpx
import openpyxl
import pytest

from domain.registry import Institution, InstitutionYear, Meter, Organisation, RegistryDocument
from tests.support.api import AsUser
from tests.support.files import csv_body
from tests.support.rollups import read_daily
from yiwang.settings import Settings

DAY0 = date(2025, 1, 1)
DAYS = 366  # the midnights of 2025-01-01 .. 2026-01-01


@pytest.fixture
async def institution(api_settings: Settings, tag: str) -> str:
    org, z = f"org-{tag}-f", f"z-{tag}"
    meters = {f"{z}-e": ("electricity", "kWh", 100.0), f"{z}-g": ("natural_gas", "m3", 2.0)}
    document = RegistryDocument(
        organisations=[Organisation(id=org, name="丙单位")],
        institutions=[
            Institution(id=z, organisation_id=org, name=f"图书馆 {tag}", category="venue", district="珠山区")
        ],
        institution_years=[InstitutionYear(institution_id=z, year=2025, floor_area_m2=1000, headcount=20)],
        meters=[Meter(id=m, institution_id=z, energy_type=e, unit=u) for m, (e, u, _) in meters.items()],
    )
    await read_daily(
        api_settings.database_url, document, {m: rise for m, (_, _, rise) in meters.items()}, first=DAY0, days=DAYS
    )
    return z


async def year_2025(client: httpx.AsyncClient, headers: dict[str, str], z: str, **params: Any) -> dict[str, Any]:
    response = await client.get(
        "/energy/indicators", params={"start": "2025-01-01", "end": "2026-01-01", "institution_id": z, **params},
        headers=headers,
    )  # fmt: skip
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_the_national_average_2022_version_gives_the_carbon_of_0_5366(
    client: httpx.AsyncClient, as_user: AsUser, institution: str
) -> None:
    staff = await as_user("energy_staff")
    body = await year_2025(client, staff, institution, carbon_version="cn-2022-average")
    assert body["factors"]["carbon"] == "cn-2022-average"
    assert body["factors"]["electricity_carbon_year"] == 2022  # the newest published year not after 2025
    assert body["factors"]["carbon_missing"] == []
    # 36,500 kWh x 0.5366 + 730 m³ x 2.1622 = 19,585.9 + 1,578.406 kg
    assert Decimal(body["rows"][0]["current"]["carbon_tco2"]) == Decimal("21.164306")


async def test_the_2023_version_applies_0_5306_to_2023_and_keeps_2022_for_last_year(
    client: httpx.AsyncClient, as_user: AsUser, institution: str
) -> None:
    staff = await as_user("energy_staff")
    body = await year_2025(client, staff, institution, carbon_version="cn-2023-average")
    assert body["factors"]["electricity_carbon_year"] == 2023
    # 36,500 x 0.5306 + 730 x 2.1622 = 19,366.9 + 1,578.406 kg
    assert Decimal(body["rows"][0]["current"]["carbon_tco2"]) == Decimal("20.945306")


async def test_a_provincial_electricity_factor_keeps_the_national_gas_factor(
    client: httpx.AsyncClient, as_user: AsUser, institution: str
) -> None:
    staff = await as_user("energy_staff")
    body = await year_2025(client, staff, institution, carbon_version="cn-2022-average", region="hebei")
    assert body["factors"]["carbon_region"] == "hebei"
    # Natural gas burns the same in Hebei: its national factor applies; before, it was named missing.
    assert body["factors"]["carbon_missing"] == []
    # 36,500 x 0.7252 + 730 x 2.1622 = 26,469.8 + 1,578.406 kg
    assert Decimal(body["rows"][0]["current"]["carbon_tco2"]) == Decimal("28.048206")
    # A region with no electricity factor gets none rather than the national one, and says so.
    unknown = await year_2025(client, staff, institution, carbon_version="cn-2022-average", region="atlantis")
    assert unknown["factors"]["carbon_missing"] == ["electricity"]


async def test_the_listing_names_each_sets_source_use_and_what_is_unconfirmed(
    client: httpx.AsyncClient, as_user: AsUser
) -> None:
    staff = await as_user("energy_staff")
    response = await client.get("/factors", headers=staff)
    assert response.status_code == 200, response.text
    versions = {v["version"]: v for v in response.json()}
    average = versions["cn-2022-average"]
    assert average["published_on"] == "2024-12-20"
    assert "关于发布2022年电力二氧化碳排放因子的公告" in average["source"]
    assert "电力消费" in average["intended_use"]
    grid = versions["cn-2022"]
    assert "greenhouse-gas reports" in grid["title"]
    assert "announcement of the 2022" not in grid["source"]
    assert grid["unconfirmed"]  # its notice was not read: the listing says so
    assert versions["gb2589-2020-equivalent"]["published_on"] == "2020-09-29"
    assert "当量值" in versions["gb2589-2020-equivalent"]["title"]


async def test_the_workbook_and_the_csv_say_which_factors_made_the_figures_and_their_sources(
    client: httpx.AsyncClient, as_user: AsUser, institution: str
) -> None:
    staff = await as_user("energy_staff")
    period = {"start": "2025-01-01", "end": "2026-01-01", "institution_id": institution}
    response = await client.get(
        "/exports/energy.xlsx", params={**period, "carbon_version": "cn-2022-average"}, headers=staff
    )
    assert response.status_code == 200, response.text
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    sheet = book["计算因子"]
    header = [c.value for c in sheet[1]]
    rows = [dict(zip(header, r, strict=True)) for r in sheet.iter_rows(min_row=2, values_only=True)]
    electricity = next(r for r in rows if r["因子类别"] == "碳排放因子" and r["能源品种"] == "electricity")
    assert electricity["因子版本"] == "cn-2022-average"
    assert Decimal(str(electricity["系数"])) == Decimal("0.5366")
    assert electricity["系数单位"] == "kgCO2/kWh"
    assert electricity["因子年份"] == 2022
    assert electricity["地区"] == "national"
    assert "关于发布2022年电力二氧化碳排放因子的公告" in electricity["来源"]
    assert electricity["发布日期"] == datetime(2024, 12, 20)  # openpyxl reads a date cell back as a datetime
    coal = next(r for r in rows if r["因子类别"] == "折标准煤系数" and r["能源品种"] == "electricity")
    assert coal["因子版本"] == "gb2589-2020-equivalent"
    assert "当量值" in coal["名称与方法"]
    assert Decimal(str(coal["系数"])) == Decimal("0.1229")

    listed = await client.get(
        "/exports/energy.csv",
        params={**period, "view": "factors", "language": "en", "carbon_version": "cn-2022"},
        headers=staff,
    )
    assert listed.status_code == 200, listed.text
    factors = list(csv.DictReader(io.StringIO(csv_body(listed.text))))
    grid = next(r for r in factors if r["kind"] == "carbon" and r["energy_type"] == "electricity")
    assert grid["version"] == "cn-2022"  # the default (until another is added), named with what it is
    assert Decimal(grid["factor"]) == Decimal("0.5703")
    assert "greenhouse-gas reports" in grid["title"]
    assert grid["unconfirmed"]
