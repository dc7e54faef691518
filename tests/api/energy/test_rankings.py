"""Rankings by each assessed indicator, key energy-using units and incomplete periods, through the API and the XLSX.

Seven agencies of one unit, each with one electricity meter read at every local midnight of 2025 (2025-01-01 00:00
to 2026-01-01 00:00) unless said otherwise; electricity 0.1229 kgce/kWh, so 100 kWh a day is 36,500 kWh and
4,485.85 kgce in the year:

    name   kWh/day  water m³/day  headcount  floor area  per capita (kgce)  per area (kgce/m²)  water per capita (m³)
    A      100      1             5          500         897.17             8.9717              73
    B      100      -             5          250         897.17             17.9434             no readings
    C      200      4             20         1,000       448.585            8.9717              73
    D      300      -             10         500         1,345.755          26.9151             no readings
    E      100      -             -          400         no headcount       11.2146             no headcount
    F      never read             8          800         no readings        no readings         no readings
    G      10, read only to 2025-07-01 (1,810 kWh, 222.449 kgce): incomplete
           5          100         44.4898            2.2245

G's figures are the lowest only because its readings stop at midsummer: it must not be ranked first. The key-unit
threshold is set to 5 tce for these tests (a year): C (8.9717 tce) and D (13.45755 tce) are proposed; A, under it,
is flagged in the registry.
"""

from __future__ import annotations

import csv
import io
import secrets
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import openpyxl
import pytest

from db import ingest
from db.pool import open_pool
from db.registry import import_document
from domain.registry import Institution, InstitutionYear, Meter, Organisation, RegistryDocument
from tests.support.api import AsUser
from tests.support.files import csv_body
from tests.support.rollups import settle
from tests.support.stack import settings_for
from yiwang.settings import Settings
from yiwang.stack import Stack

SHANGHAI = ZoneInfo("Asia/Shanghai")
YEAR_2025 = {"start": "2025-01-01", "end": "2026-01-01"}


@pytest.fixture
def api_settings(stack: Stack, tag: str) -> Settings:
    """The API's settings with a key-unit threshold small enough for these institutions."""
    return settings_for(stack, tag, api_token_secret=secrets.token_urlsafe(48), energy_key_unit_threshold_tce=5.0)


def midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=SHANGHAI)


def daily(first: date, last: date, per_day: float) -> list[tuple[datetime, float]]:
    """A register read at every local midnight from `first` to `last`, rising `per_day` a day."""
    return [(midnight(first + timedelta(days=n)), 1_000.0 + per_day * n) for n in range((last - first).days + 1)]


YEAR = (date(2025, 1, 1), date(2026, 1, 1))
TODAY = datetime.now(SHANGHAI).date()


@pytest.fixture
async def agencies(api_settings: Settings, tag: str) -> dict[str, str]:
    org, later = f"org-{tag}", f"org-{tag}-h"
    ids = {name: f"{name.lower()}-{tag}" for name in "ABCDEFGH"}
    # (kWh a day, water m³ a day, headcount, floor area, readings' first and last day)
    plan: dict[str, tuple[float | None, float | None, int | None, float | None, tuple[date, date]]] = {
        "A": (100, 1, 5, 500, YEAR),
        "B": (100, None, 5, 250, YEAR),
        "C": (200, 4, 20, 1000, YEAR),
        "D": (300, None, 10, 500, YEAR),
        "E": (100, None, None, 400, YEAR),
        "F": (None, None, 8, 800, YEAR),
        "G": (10, None, 5, 100, (date(2025, 1, 1), date(2025, 7, 1))),
        # H, of another unit, is read every day of 2026 so far: 2026 is not over.
        "H": (100, None, 5, 500, (date(2026, 1, 1), TODAY)),
    }
    meters: dict[str, list[tuple[datetime, float]]] = {}
    document = RegistryDocument(
        organisations=[Organisation(id=org, name=f"排名单位 {tag}"), Organisation(id=later, name=f"今年单位 {tag}")],
        institutions=[
            Institution(
                id=ids[name],
                organisation_id=later if name == "H" else org,
                name=f"{name} 机关 {tag}",
                category="agency",
                key_energy_unit=name == "A",
            )
            for name in plan
        ],
        institution_years=[
            InstitutionYear(institution_id=ids[name], year=year, floor_area_m2=area, headcount=heads)
            for name, (_, _, heads, area, _) in plan.items()
            for year in (2025, 2026)
        ],
        meters=[
            Meter(id=f"{ids[name]}-{kind}", institution_id=ids[name], energy_type=energy, unit=unit)
            for name, (kwh, m3, *_) in plan.items()
            for kind, energy, unit, per_day in (("e", "electricity", "kWh", kwh or 0), ("w", "water", "m3", m3))
            if kind == "e" or per_day is not None
        ],
    )
    for name, (kwh, m3, _, _, (first, last)) in plan.items():
        if kwh is not None:
            meters[f"{ids[name]}-e"] = daily(first, last, kwh)
        if m3 is not None:
            meters[f"{ids[name]}-w"] = daily(first, last, m3)
    received = datetime.now(UTC)
    async with open_pool(api_settings.database_url, max_size=2, configure=ingest.prepare_connection) as pool:
        async with pool.connection() as conn:
            await import_document(conn, document)
            await conn.commit()
        for meter_id, readings in meters.items():
            async with pool.connection() as conn, conn.transaction():
                await ingest.insert_readings(conn, [(meter_id, t, v, received) for t, v in readings])
        await settle(pool, list(meters))
    return {"org": org, "later": later, **ids}


async def ranking(client: httpx.AsyncClient, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    response = await client.get("/energy/rankings", params=params, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def rows_of(sheet: Any) -> list[dict[str, Any]]:
    header = [c.value for c in sheet[1]]
    return [dict(zip(header, row, strict=True)) for row in sheet.iter_rows(min_row=2, values_only=True)]


async def test_each_assessed_indicator_is_ranked_lowest_first_with_ties_and_the_unranked_apart(
    client: httpx.AsyncClient, as_user: AsUser, agencies: dict[str, str]
) -> None:
    staff = await as_user("energy_staff")
    name = {v: k for k, v in agencies.items()}

    def table(body: dict[str, Any]) -> list[tuple[str, int | None, str | None, str | None, int | None]]:
        return [
            (name[i["institution_id"]], i["rank"], i["value"], i["reason"], i["floor_area_rank"]) for i in body["items"]
        ]

    per_capita = await ranking(client, staff, **YEAR_2025, organisation_id=agencies["org"])
    assert per_capita["indicator"] == "energy_per_capita"
    # The ranked first (today's code ranked G first, for want of data).
    assert [(name[i["institution_id"]], i["rank"]) for i in per_capita["items"]][:5] == [
        ("C", 1),
        ("A", 2),
        ("B", 2),
        ("D", 4),
        ("G", None),
    ]
    assert per_capita["unit"] == "kgce/person"
    # C lowest; A and B tie at 897.17 and share rank 2 (by id within the tie), D is 4th. Then, apart and unranked:
    # G, whose readings stop at midsummer (its 44.49 is too low, shown but not ranked), E without a headcount (ranked
    # 3rd by floor area, said here), F with no readings.
    assert table(per_capita) == [
        ("C", 1, "448.5850", None, None),
        ("A", 2, "897.1700", None, None),
        ("B", 2, "897.1700", None, None),
        ("D", 4, "1345.7550", None, None),
        ("G", None, "44.4898", "incomplete_period", None),
        ("E", None, None, "no_headcount", 3),
        ("F", None, None, "no_readings", None),
    ]
    per_area = await ranking(client, staff, **YEAR_2025, organisation_id=agencies["org"], indicator="energy_per_area")
    assert per_area["unit"] == "kgce/m²"
    assert table(per_area) == [
        ("A", 1, "8.9717", None, None),
        ("C", 1, "8.9717", None, None),
        ("E", 3, "11.2146", None, None),
        ("B", 4, "17.9434", None, None),
        ("D", 5, "26.9151", None, None),
        ("G", None, "2.2245", "incomplete_period", None),
        ("F", None, None, "no_readings", None),
    ]
    water = await ranking(client, staff, **YEAR_2025, organisation_id=agencies["org"], indicator="water_per_capita")
    assert water["unit"] == "m³/person"
    # Water per capita has no fallback: E is unranked for want of a headcount, with no rank by floor area.
    assert table(water) == [
        ("A", 1, "73.0000", None, None),
        ("C", 1, "73.0000", None, None),
        ("B", None, None, "no_readings", None),
        ("D", None, None, "no_readings", None),
        ("E", None, None, "no_readings", None),
        ("F", None, None, "no_readings", None),
        ("G", None, None, "no_readings", None),
    ]


async def test_the_xlsx_has_a_ranking_sheet_per_indicator_with_the_apis_ranks(
    client: httpx.AsyncClient, as_user: AsUser, agencies: dict[str, str]
) -> None:
    staff = await as_user("energy_staff")
    name = {v: k for k, v in agencies.items()}
    params = {**YEAR_2025, "organisation_id": agencies["org"]}
    response = await client.get("/exports/energy.xlsx", params=params, headers=staff)
    assert response.status_code == 200, response.text
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    for sheet, indicator in (
        ("人均综合能耗排名", "energy_per_capita"),
        ("单位建筑面积能耗排名", "energy_per_area"),
        ("人均用水量排名", "water_per_capita"),
    ):
        api = (await ranking(client, staff, **params, indicator=indicator))["items"]
        rows = rows_of(book[sheet])
        assert [(r["单位编号"], r["排名"]) for r in rows] == [(i["institution_id"], i["rank"]) for i in api], sheet
        values = [Decimal(str(r[next(k for k in r if k.startswith(("人均", "单位建筑")))])) if r["排名"] else None
                  for r in rows]  # fmt: skip
        assert values == [Decimal(i["value"]) if i["rank"] else None for i in api], sheet
    per_capita = rows_of(book["人均综合能耗排名"])
    assert [(name[r["单位编号"]], r["排名"], r["未排名原因"], r["按建筑面积能耗排名"]) for r in per_capita] == [
        ("C", 1, None, None),
        ("A", 2, None, None),
        ("B", 2, None, None),
        ("D", 4, None, None),
        ("G", None, "统计期数据不完整", None),
        ("E", None, "无用能人数", 3),
        ("F", None, "无读数", None),
    ]
    # The figures the ratio is made of, beside it: D's 13,457.55 kgce over 10 people.
    d = next(r for r in per_capita if name[r["单位编号"]] == "D")
    assert (Decimal(str(d["综合能耗（kgce）"])), d["用能人数"]) == (Decimal("13457.55"), 10)
    assert Decimal(str(d["人均综合能耗（kgce/人）"])) == Decimal("1345.755")
    # G's figure is in the file, but the institution sheet says it is incomplete.
    g = next(r for r in rows_of(book["单位能耗指标"]) if name[r["单位编号"]] == "G")
    assert Decimal(str(g["综合能耗（kgce）"])) == Decimal("222.449")
    assert g["缺数原因"] == (
        "无读数：人均用水量；统计期数据不完整：用电量、综合能耗、人均综合能耗、单位建筑面积能耗、单位面积电耗、碳排放"
    )
    # The CSV for systems: one view per indicator, codes for reasons.
    response = await client.get(
        "/exports/energy.csv", params={**params, "view": "rankings_energy_per_area", "language": "en"}, headers=staff
    )
    assert response.status_code == 200, response.text
    csv_rows = list(csv.DictReader(io.StringIO(csv_body(response.text))))
    assert [(name[r["institution_id"]], r["rank"], r["unranked"]) for r in csv_rows] == [
        ("A", "1", ""),
        ("C", "1", ""),
        ("E", "3", ""),
        ("B", "4", ""),
        ("D", "5", ""),
        ("G", "", "incomplete_period"),
        ("F", "", "no_readings"),
    ]


async def test_key_units_are_proposed_by_the_threshold_beside_the_registrys_flag(
    client: httpx.AsyncClient, as_user: AsUser, agencies: dict[str, str]
) -> None:
    staff = await as_user("energy_staff")
    name = {v: k for k, v in agencies.items()}
    params = {**YEAR_2025, "organisation_id": agencies["org"]}
    response = await client.get("/energy/indicators", params=params, headers=staff)
    assert response.status_code == 200, response.text
    body = response.json()
    assert Decimal(body["key_unit_threshold_tce"]) == 5
    flags = {name[r["institution_id"]]: (r["key_energy_unit"], r["key_energy_unit_proposed"]) for r in body["rows"]}
    assert flags == {
        "A": (True, False),  # 4.48585 tce: flagged by the registry, under the threshold
        "B": (False, False),
        "C": (False, True),  # 8.9717 tce
        "D": (False, True),  # 13.45755 tce
        "E": (False, False),
        "F": (False, None),  # no figure
        "G": (False, None),  # 0.222 tce so far, but incomplete: the rest of the year could lift it over
    }
    # A month is held against the threshold pro rata: 5 tce x 31 / 365.
    march = await client.get(
        "/energy/indicators", params={"start": "2025-03-01", "end": "2025-04-01", "organisation_id": agencies["org"]},
        headers=staff,
    )  # fmt: skip
    assert Decimal(march.json()["key_unit_threshold_tce"]) == Decimal("0.4247")
    response = await client.get("/exports/energy.xlsx", params=params, headers=staff)
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    sheet = rows_of(book["重点用能单位能耗公示"])
    assert [
        (name[r["单位编号"]], r["名录标记为重点用能单位"], r["按能耗阈值建议"], r["建议阈值（tce）"]) for r in sheet
    ] == [
        ("A", "是", "否", 5),
        ("C", "否", "是", 5),
        ("D", "否", "是", 5),
    ]
    assert [Decimal(str(r["综合能耗（tce）"])) for r in sheet] == [
        Decimal("4.48585"),
        Decimal("8.9717"),
        Decimal("13.45755"),
    ]


async def test_a_figure_whose_readings_do_not_cover_the_period_is_flagged_incomplete(
    client: httpx.AsyncClient, as_user: AsUser, agencies: dict[str, str]
) -> None:
    staff = await as_user("energy_staff")
    response = await client.get(
        "/energy/indicators", params={**YEAR_2025, "institution_id": agencies["G"]}, headers=staff
    )
    assert response.status_code == 200, response.text
    [g] = response.json()["rows"]
    # G's readings stop at 2025-07-01: its 2025 is counted to then, shown, and flagged.
    assert Decimal(g["current"]["energy_kgce"]) == Decimal("222.449")
    assert g["current"]["incomplete"] == [
        "energy_kgce",
        "energy_tce",
        "carbon_tco2",
        "energy_per_capita",
        "energy_per_area",
        "electricity_per_area",
    ]
    assert [(c["energy_type"], c["incomplete"]) for c in g["current"]["consumption"]] == [("electricity", True)]
    # Its quota status is not final either.
    quota = {"year": 2025, "indicator": "energy_per_capita", "institution_id": agencies["G"], "limit_value": "100"}
    assert (await client.put("/quotas", json=quota, headers=staff)).status_code == 200
    response = await client.get(
        "/energy/indicators", params={**YEAR_2025, "institution_id": agencies["G"]}, headers=staff
    )
    [check] = response.json()["rows"][0]["quotas"]
    assert (check["status"], check["reason"]) == ("ok", "incomplete_period")
    # April to September against the six months before (read from 2025-01-01, when G was connected: whole): the
    # change rests on an incomplete figure and says so.
    response = await client.get(
        "/energy/indicators", params={"start": "2025-04-01", "end": "2025-10-01", "institution_id": agencies["G"]},
        headers=staff,
    )  # fmt: skip
    [row] = response.json()["rows"]
    assert row["previous"]["incomplete"] == []
    assert "energy_kgce" in row["current"]["incomplete"]
    assert "energy_kgce" in row["change_previous"]["incomplete"]
    assert "electricity_kwh" in row["change_previous"]["incomplete"]
    # Its first half year is whole.
    response = await client.get(
        "/energy/indicators", params={"start": "2025-01-01", "end": "2025-07-01", "institution_id": agencies["G"]},
        headers=staff,
    )  # fmt: skip
    [half] = response.json()["rows"]
    assert half["current"]["incomplete"] == []
    assert Decimal(half["current"]["energy_kgce"]) == Decimal("222.449")
    # A whole year of A's is complete.
    response = await client.get(
        "/energy/indicators", params={**YEAR_2025, "institution_id": agencies["A"]}, headers=staff
    )
    [a] = response.json()["rows"]
    assert a["current"]["incomplete"] == []
    assert [c["incomplete"] for c in a["current"]["consumption"]] == [False, False]


async def test_a_period_not_over_is_incomplete_and_a_past_month_of_it_complete(
    client: httpx.AsyncClient, as_user: AsUser, agencies: dict[str, str]
) -> None:
    staff = await as_user("energy_staff")
    this_year = {"start": f"{TODAY.year}-01-01", "end": f"{TODAY.year + 1}-01-01", "organisation_id": agencies["later"]}
    response = await client.get("/energy/indicators", params=this_year, headers=staff)
    assert response.status_code == 200, response.text
    [h] = response.json()["rows"]
    assert h["current"]["energy_kgce"] is not None
    assert "energy_per_capita" in h["current"]["incomplete"]
    # The quota check of an incomplete figure says so, and the change on last year is flagged too (none: 2025 had no
    # readings of H, so no change at all).
    assert h["change_last_year"]["energy_kgce"] is None
    ranked = await ranking(client, staff, **this_year)
    assert [(i["rank"], i["reason"]) for i in ranked["items"]] == [(None, "incomplete_period")]
    # The month before this one is over and H's readings bracket it.
    first = TODAY.replace(day=1)
    previous = (first - timedelta(days=1)).replace(day=1)
    if previous.year == TODAY.year:
        month = {"start": previous.isoformat(), "end": first.isoformat(), "organisation_id": agencies["later"]}
        [h] = (await client.get("/energy/indicators", params=month, headers=staff)).json()["rows"]
        assert h["current"]["incomplete"] == []
        assert [(i["rank"], i["reason"]) for i in (await ranking(client, staff, **month))["items"]] == [(1, None)]
