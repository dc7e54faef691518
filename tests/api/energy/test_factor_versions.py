"""The equivalent-value (等价值) standard-coal set beside the calorific (当量值) one, and provincial electricity carbon
factors, each with its source and publication date (issue 15, point 8).

Institution P uses 100 kWh of electricity a day through 2025 and nothing else: 36,500 kWh.
"""

from __future__ import annotations

import csv
import io
from datetime import date
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
KWH = Decimal(36_500)

CALORIFIC = "gb2589-2020-equivalent"
EQUIVALENT_VALUE = "cec-2024-equivalent-value"
PROVINCES = "cn-2023-average-provinces"
# The versions the migrations seed (tests add their own beside them).
SEEDED = {CALORIFIC, EQUIVALENT_VALUE, "cn-2022", "cn-2022-average", "cn-2023-average", PROVINCES}


@pytest.fixture
async def institution(api_settings: Settings, tag: str) -> str:
    org, p = f"org-{tag}-v", f"p-{tag}"
    document = RegistryDocument(
        organisations=[Organisation(id=org, name="丁单位")],
        institutions=[
            Institution(id=p, organisation_id=org, name=f"档案馆 {tag}", category="venue", district="珠山区")
        ],
        institution_years=[InstitutionYear(institution_id=p, year=2025, floor_area_m2=1000, headcount=20)],
        meters=[Meter(id=f"{p}-e", institution_id=p, energy_type="electricity", unit="kWh")],
    )
    await read_daily(api_settings.database_url, document, {f"{p}-e": 100.0}, first=DAY0, days=DAYS)
    return p


async def year_2025(client: httpx.AsyncClient, headers: dict[str, str], p: str, **params: Any) -> httpx.Response:
    return await client.get(
        "/energy/indicators", params={"start": "2025-01-01", "end": "2026-01-01", "institution_id": p, **params},
        headers=headers,
    )  # fmt: skip


async def figures(client: httpx.AsyncClient, headers: dict[str, str], p: str, **params: Any) -> dict[str, Any]:
    response = await year_2025(client, headers, p, **params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_the_listing_names_each_standard_coal_sets_method_source_and_values(
    client: httpx.AsyncClient, as_user: AsUser
) -> None:
    staff = await as_user("energy_staff")
    response = await client.get("/factors", headers=staff)
    assert response.status_code == 200, response.text
    versions = {v["version"]: v for v in response.json()}
    assert versions[CALORIFIC]["method"] == "calorific_equivalent"
    value = versions[EQUIVALENT_VALUE]
    assert value["method"] == "equivalent_value"
    assert "等价值" in value["title"]
    assert "中国电力行业年度发展报告2025" in value["source"]
    assert "302.4" in value["source"]
    assert value["unconfirmed"]  # read in a secondary source: the listing says so
    assert versions["cn-2022"]["method"] is None  # a carbon set has no standard-coal method

    calorific = (await client.get(f"/factors/{CALORIFIC}", headers=staff)).json()
    equivalent = (await client.get(f"/factors/{EQUIVALENT_VALUE}", headers=staff)).json()
    by_energy = {c["energy_type"]: Decimal(c["kgce_per_unit"]) for c in equivalent["coal"]}
    assert by_energy.pop("electricity") == Decimal("0.3024")
    # A fuel burned on site counts at its calorific value in either method.
    assert by_energy == {
        c["energy_type"]: Decimal(c["kgce_per_unit"]) for c in calorific["coal"] if c["energy_type"] != "electricity"
    }


async def test_every_seeded_version_has_its_publication_date_or_says_why_not(
    client: httpx.AsyncClient, as_user: AsUser
) -> None:
    staff = await as_user("energy_staff")
    versions = {v["version"]: v for v in (await client.get("/factors", headers=staff)).json()}
    assert set(versions) >= SEEDED
    for name in SEEDED:
        v = versions[name]
        assert v["published_on"] or "published_on is empty" in v["unconfirmed"], name
    assert versions["cn-2023-average"]["published_on"] == "2025-12-31"  # 公告2025年第47号
    assert "t20251231_1139517.html" in versions["cn-2023-average"]["source"]
    assert versions[PROVINCES]["published_on"] == "2025-12-31"
    assert "t20241226_1099413.html" in versions["cn-2022-average"]["source"]  # 公告2024年第33号


async def test_the_equivalent_value_set_changes_comprehensive_energy_by_the_ratio_of_electricity_factors(
    client: httpx.AsyncClient, as_user: AsUser, institution: str
) -> None:
    staff = await as_user("energy_staff")
    default = await figures(client, staff, institution)
    assert default["factors"]["standard_coal"] == CALORIFIC  # 当量值 unless another method is asked for
    chosen = await figures(client, staff, institution, coal_version=EQUIVALENT_VALUE)
    assert chosen["factors"]["standard_coal"] == EQUIVALENT_VALUE
    calorific, equivalent = (Decimal(b["rows"][0]["current"]["energy_kgce"]) for b in (default, chosen))
    assert calorific == KWH * Decimal("0.1229")  # 4,485.85 kgce
    assert equivalent == KWH * Decimal("0.3024")  # 11,037.6 kgce
    assert equivalent * Decimal("0.1229") == calorific * Decimal("0.3024")  # exactly the ratio of the factors
    # Per capita and per floor area follow; carbon does not depend on the standard-coal method.
    assert Decimal(chosen["rows"][0]["current"]["energy_per_capita"]) == equivalent / 20
    assert chosen["rows"][0]["current"]["carbon_tco2"] == default["rows"][0]["current"]["carbon_tco2"]
    # A version of another method than the one named is refused, with the reason.
    mismatch = await year_2025(client, staff, institution, coal_version=CALORIFIC, coal_method="equivalent_value")
    assert mismatch.status_code == 422
    assert "calorific_equivalent" in mismatch.text


async def test_a_newer_equivalent_value_set_is_chosen_by_its_method_and_never_becomes_the_default(
    client: httpx.AsyncClient, as_user: AsUser, institution: str, tag: str
) -> None:
    staff = await as_user("energy_staff")
    version = f"ev-{tag}"
    body = {
        "version": version,
        "kind": "standard_coal",
        "method": "equivalent_value",
        "title": "等价值 test set",
        "source": "a yearly figure",
        "published_on": "2026-07-01",
        "coal": [{"energy_type": "electricity", "unit": "kWh", "kgce_per_unit": "0.3"}],
    }
    unnamed = {k: v for k, v in body.items() if k != "method"}
    refused = await client.post("/factors", json=unnamed, headers=staff)
    assert refused.status_code == 422  # a standard-coal set says which method it is
    assert "method" in refused.text
    created = await client.post("/factors", json=body, headers=staff)
    assert created.status_code == 201, created.text
    assert created.json()["version"]["method"] == "equivalent_value"
    # The newest standard-coal set is now an equivalent-value one; the default stays the calorific equivalent.
    default = await figures(client, staff, institution)
    assert default["factors"]["standard_coal"] == CALORIFIC
    assert Decimal(default["rows"][0]["current"]["energy_kgce"]) == KWH * Decimal("0.1229")
    chosen = await figures(client, staff, institution, coal_method="equivalent_value")
    assert chosen["factors"]["standard_coal"] == version
    assert Decimal(chosen["rows"][0]["current"]["energy_kgce"]) == KWH * Decimal("0.3")


async def test_a_provinces_electricity_factor_changes_carbon_exactly(
    client: httpx.AsyncClient, as_user: AsUser, institution: str
) -> None:
    staff = await as_user("energy_staff")

    async def carbon(region: str) -> tuple[Decimal, int]:
        body = await figures(client, staff, institution, carbon_version=PROVINCES, region=region)
        assert body["factors"]["carbon"] == PROVINCES
        assert body["factors"]["carbon_region"] == region
        assert body["factors"]["carbon_missing"] == []
        return Decimal(body["rows"][0]["current"]["carbon_tco2"]), body["factors"]["electricity_carbon_year"]

    national, jiangsu, guangdong, hebei = [await carbon(r) for r in ("national", "jiangsu", "guangdong", "hebei")]
    assert national == (KWH * Decimal("0.5306") / 1000, 2023)
    assert jiangsu == (KWH * Decimal("0.5827") / 1000, 2023)  # 21.26855 t
    assert guangdong == (KWH * Decimal("0.4419") / 1000, 2023)
    assert jiangsu[0] * Decimal("0.5306") == national[0] * Decimal("0.5827")  # exactly the ratio of the factors
    # No 2023 factor of Hebei was read: its 2022 one applies, and the result says which year it is.
    assert hebei == (KWH * Decimal("0.7252") / 1000, 2022)


async def test_the_workbook_and_csv_name_the_equivalent_value_set_and_its_method(
    client: httpx.AsyncClient, as_user: AsUser, institution: str
) -> None:
    staff = await as_user("energy_staff")
    period = {"start": "2025-01-01", "end": "2026-01-01", "institution_id": institution}
    response = await client.get(
        "/exports/energy.xlsx", params={**period, "coal_version": EQUIVALENT_VALUE}, headers=staff
    )
    assert response.status_code == 200, response.text
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    sheet = book["计算因子"]
    header = [c.value for c in sheet[1]]
    rows = [dict(zip(header, r, strict=True)) for r in sheet.iter_rows(min_row=2, values_only=True)]
    coal = next(r for r in rows if r["因子类别"] == "折标准煤系数" and r["能源品种"] == "electricity")
    assert coal["因子版本"] == EQUIVALENT_VALUE
    assert "等价值" in coal["名称与方法"]
    assert Decimal(str(coal["系数"])) == Decimal("0.3024")
    assert "中国电力行业年度发展报告2025" in coal["来源"]
    table = await client.get("/exports/energy.csv", params={**period, "coal_version": EQUIVALENT_VALUE}, headers=staff)
    assert table.status_code == 200, table.text
    [row] = list(csv.DictReader(io.StringIO(csv_body(table.text))))
    assert Decimal(row["energy_kgce"]) == KWH * Decimal("0.3024")
