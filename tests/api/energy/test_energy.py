"""A small city computed by hand: consumption, tce, per-capita, per-area, carbon, YoY and quotas through the API.

Institution X (a school of unit A) has four meters read at every local midnight from 2024-01-01 to
2026-01-01; institution Y (an agency of unit B) one. Every figure below is worked out in the comments
from the registers, with the factors of db/migrations/0006 (electricity 0.1229 kgce/kWh, natural gas
1.2143 kgce/m³, heat 0.03412 kgce/MJ; carbon electricity 0.5703, natural gas 2.16 kgCO2 per unit).
"""

from __future__ import annotations

import csv
import io
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
from yiwang.settings import Settings

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY0 = date(2024, 1, 1)
DAYS = 732  # 2024-01-01 .. 2026-01-01 inclusive (2024 has 366 days)


def midnight(n: int) -> datetime:
    d = DAY0 + timedelta(days=n)
    return datetime(d.year, d.month, d.day, tzinfo=SHANGHAI)


N2025 = (date(2025, 1, 1) - DAY0).days  # 366: the index of 2025-01-01


def electricity(n: int) -> float | None:
    """Register x40 (CT ratio) wrapping at 100,000: 20 a day in 2024 (800 kWh), 25 a day in 2025
    (1,000 kWh); it passes 100,000 on day 200 of 2025 and rolls over. Days 100-110 of 2025 are lost
    (a gap: the register counts on, nothing is lost)."""
    if N2025 + 100 <= n <= N2025 + 110:
        return None
    if n <= N2025:
        return 87_680.0 + 20 * n
    return (95_000.0 + 25 * (n - N2025)) % 100_000


def water(n: int) -> float:
    """8 m³ a day in 2024, 10 in 2025; reset on day 180 of 2025 to 10 (10 m³ since the reset)."""
    if n <= N2025:
        return 500.0 + 8 * n
    d = n - N2025
    if d < 180:
        return 500.0 + 8 * N2025 + 10 * d
    return 10.0 + 10 * (d - 180)


def gas(n: int) -> float:
    """2 m³ a day throughout; replaced on day 250 of 2025 by a meter that reads 2 that midnight."""
    d = n - N2025
    if d < 250:
        return 100.0 + 2 * n
    return 2.0 + 2 * (d - 250)


def heat(n: int) -> float:
    """0.5 GJ a day (500 MJ)."""
    return 40.0 + 0.5 * n


def cooling(n: int) -> float:
    """X's air-conditioning sub-meter (x40): 10 a day, 400 of the main meter's 1,000 kWh in 2025 (none before)."""
    return 5.0 + 10 * max(0, n - N2025)


def agency(n: int) -> float:
    """Y's electricity: 100 kWh a day."""
    return 3_000.0 + 100 * n


@pytest.fixture
async def city(api_settings: Settings, tag: str) -> dict[str, str]:
    org_a, org_b = f"org-{tag}-a", f"org-{tag}-b"
    x, y = f"x-{tag}", f"y-{tag}"
    meters = {
        f"{x}-e": (electricity, "electricity", "kWh", 40.0, 100_000.0, None),
        f"{x}-ac": (cooling, "electricity", "kWh", 40.0, None, "air_conditioning"),
        f"{x}-w": (water, "water", "m3", 1.0, None, None),
        f"{x}-g": (gas, "natural_gas", "m3", 1.0, None, None),
        f"{x}-h": (heat, "heat", "GJ", 1.0, None, None),
        f"{y}-e": (agency, "electricity", "kWh", 1.0, None, None),
    }
    document = RegistryDocument(
        organisations=[Organisation(id=org_a, name="甲单位"), Organisation(id=org_b, name="乙单位")],
        institutions=[
            Institution(id=x, organisation_id=org_a, name=f"实验小学 {tag}", category="school", district="珠山区"),
            Institution(id=y, organisation_id=org_b, name=f"市委办 {tag}", category="agency", district="昌江区"),
        ],
        institution_years=[
            InstitutionYear(institution_id=x, year=2024, floor_area_m2=5000, headcount=80),
            InstitutionYear(institution_id=x, year=2025, floor_area_m2=5000, headcount=100),
            InstitutionYear(institution_id=y, year=2025, floor_area_m2=2000, headcount=50),
        ],
        meters=[
            Meter(
                id=m,
                institution_id=(x if m.startswith(x) else y),
                energy_type=e,
                unit=u,
                multiplier=k,
                register_max=top,
                sub_item=sub,
            )
            for m, (_, e, u, k, top, sub) in meters.items()
        ],
    )
    received = datetime.now(UTC)
    async with open_pool(api_settings.database_url, max_size=2, configure=ingest.prepare_connection) as pool:
        async with pool.connection() as conn:
            await import_document(conn, document)
            await conn.execute(
                """INSERT INTO quota (year, indicator, category, institution_id, limit_value) VALUES
                   (2025, 'energy_per_capita', 'school', NULL, 500), (2025, 'energy_per_area', 'school', NULL, 12),
                   (2025, 'water_per_capita', NULL, %s, 40)
                   ON CONFLICT DO NOTHING""",
                (x,),
            )
            await conn.commit()
        late = range(N2025 + 150, N2025 + 161)  # a blind-zone batch that arrives after everything else
        for meter_id, (register, *_) in meters.items():
            for days in (
                [n for n in range(DAYS) if n not in late],
                list(late),
            ):
                rows = [(meter_id, midnight(n), value, received) for n in days if (value := register(n)) is not None]
                async with pool.connection() as conn, conn.transaction():
                    await ingest.insert_readings(conn, rows)
                await settle(pool, [meter_id])
    return {"a": org_a, "b": org_b, "x": x, "y": y}


Headers = dict[str, str]


async def indicators(client: httpx.AsyncClient, headers: Headers, **params: Any) -> dict[str, Any]:
    response = await client.get("/energy/indicators", params=params, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def consumption(figures: dict[str, Any]) -> dict[str, Decimal]:
    return {c["energy_type"]: Decimal(c["amount"]) for c in figures["consumption"]}


async def test_a_year_of_the_hand_computed_city(
    client: httpx.AsyncClient, as_user: AsUser, city: dict[str, str]
) -> None:
    staff = await as_user("energy_staff")
    body = await indicators(client, staff, start="2025-01-01", end="2026-01-01", institution_id=city["x"])
    assert body["factors"] == {
        "standard_coal": "gb2589-2020-equivalent",
        "carbon": "cn-2022",
        "carbon_region": "national",
        "electricity_carbon_year": 2022,
        "carbon_missing": ["heat"],
    }
    [row] = body["rows"]
    now, then = row["current"], row["last_year"]
    # 2025: 365 days of 25 register units x 40 = 365,000 kWh (the rollover and the gap lose nothing);
    # water 365 x 10 = 3,650 m³ (the reset restarts from 10, the 10 m³ since it); gas 730 m³ (the new
    # meter's 2 m³ of its first day count); heat 365 x 500 MJ = 182,500 MJ.
    assert consumption(now) == {
        "electricity": Decimal(365_000),
        "water": Decimal(3_650),
        "natural_gas": Decimal(730),
        "heat": Decimal(182_500),
    }
    # The air-conditioning sub-meter is a part of the main meter: the breakdown, not more consumption.
    assert {k: Decimal(v) for k, v in now["electricity_sub_items"].items()} == {"air_conditioning": Decimal(146_000)}
    # 365,000 x 0.1229 + 730 x 1.2143 + 182,500 x 0.03412 = 44,858.5 + 886.439 + 6,226.9
    assert Decimal(now["energy_kgce"]) == Decimal("51971.839")
    assert Decimal(now["energy_tce"]) == Decimal("51.971839")
    assert Decimal(now["energy_per_capita"]) == Decimal("519.7184")  # / 100 people
    assert Decimal(now["energy_per_area"]) == Decimal("10.3944")  # / 5,000 m²
    assert Decimal(now["water_per_capita"]) == Decimal("36.5")
    assert Decimal(now["electricity_per_area"]) == Decimal("73")
    # (365,000 x 0.5703 + 730 x 2.16) kg = 208,159.5 + 1,576.8; heat has no carbon factor (named above)
    assert Decimal(now["carbon_tco2"]) == Decimal("209.7363")
    # 2024 (366 days): 292,800 kWh, 2,928 m³ water, 732 m³ gas, 183,000 MJ heat:
    # 35,985.12 + 888.8676 + 6,243.96 = 43,117.9476 kgce, 80 people
    assert consumption(then)["electricity"] == Decimal(292_800)
    assert Decimal(then["energy_kgce"]) == Decimal("43117.948")
    assert Decimal(then["energy_per_capita"]) == Decimal("538.9743")
    # (51,971.839 - 43,117.948) / 43,117.948; (519.7184 - 538.9743) / 538.9743; (3,650 - 2,928) / 2,928
    assert Decimal(row["change_last_year"]["energy_kgce"]) == Decimal("0.2053")
    assert Decimal(row["change_last_year"]["energy_per_capita"]) == Decimal("-0.0357")
    assert Decimal(row["change_last_year"]["water_m3"]) == Decimal("0.2466")
    assert row["previous"] == row["last_year"]  # the year before a whole year is last year
    quotas = {q["indicator"]: (Decimal(q["limit"]), q["status"]) for q in row["quotas"]}
    assert quotas == {
        "water_per_capita": (Decimal(40), "near"),  # 36.5 >= 90% of 40: X's own quota
        "energy_per_capita": (Decimal(500), "over"),  # 519.7 > 500: the schools' quota
        "energy_per_area": (Decimal(12), "ok"),  # 10.39 < 10.8
    }


async def test_a_month_compares_with_the_month_before_and_is_pro_rata_against_quotas(
    client: httpx.AsyncClient, as_user: AsUser, city: dict[str, str]
) -> None:
    staff = await as_user("energy_staff")
    body = await indicators(client, staff, start="2025-03-01", end="2025-04-01", institution_id=city["x"])
    [row] = body["rows"]
    # March 2025: 31 x 1,000 kWh; February 2025: 28 x 1,000; March 2024: 31 x 800
    assert consumption(row["current"])["electricity"] == Decimal(31_000)
    assert consumption(row["previous"])["electricity"] == Decimal(28_000)
    assert consumption(row["last_year"])["electricity"] == Decimal(24_800)
    assert Decimal(row["change_previous"]["electricity_kwh"]) == Decimal("0.1071")  # 3,000 / 28,000
    assert Decimal(row["change_last_year"]["electricity_kwh"]) == Decimal("0.25")
    per_capita = next(q for q in row["quotas"] if q["indicator"] == "energy_per_capita")
    assert Decimal(per_capita["limit"]) == Decimal("42.4658")  # 500 x 31 / 365
    # Across month ends: 17 days of March, April, 9 days of May; the 56 days before; the same days of 2024
    body = await indicators(client, staff, start="2025-03-15", end="2025-05-10", institution_id=city["x"])
    [row] = body["rows"]
    assert consumption(row["current"])["electricity"] == Decimal(56_000)
    assert consumption(row["previous"])["electricity"] == Decimal(56_000)
    assert consumption(row["last_year"])["electricity"] == Decimal(56 * 800)


async def test_groups_sum_their_institutions_and_units_see_only_their_own(
    client: httpx.AsyncClient, as_user: AsUser, city: dict[str, str]
) -> None:
    staff = await as_user("energy_staff")
    districts = await indicators(client, staff, start="2025-01-01", end="2026-01-01", group="district",
                                 organisation_id=city["a"])  # fmt: skip
    assert [(r["district"], r["institutions"]) for r in districts["rows"]] == [("珠山区", 1)]
    for org, inst, kwh in ((city["a"], city["x"], 365_000), (city["b"], city["y"], 36_500)):
        unit = await as_user("unit_user", org)
        mine = await indicators(client, unit, start="2025-01-01", end="2026-01-01", group="city")
        [row] = mine["rows"]
        assert consumption(row["current"]).get("electricity") == Decimal(kwh)
        other = city["y"] if inst == city["x"] else city["x"]
        assert (await indicators(client, unit, start="2025-01-01", end="2026-01-01", institution_id=other))[
            "rows"
        ] == []
        series = await client.get(
            "/energy/consumption", params={"institution_id": other, "start": "2026-01-01", "end": "2026-02-01"},
            headers=unit,
        )  # fmt: skip
        assert series.status_code == 404


async def test_rankings_put_the_lowest_first(client: httpx.AsyncClient, as_user: AsUser, city: dict[str, str]) -> None:
    staff = await as_user("energy_staff")
    response = await client.get(
        "/energy/rankings",
        params={"start": "2025-01-01", "end": "2026-01-01", "indicator": "energy_per_area", "district": "昌江区"},
        headers=staff,
    )
    assert response.status_code == 200, response.text
    ranked = [i for i in response.json()["items"] if i["rank"] is not None]
    values = [Decimal(i["value"]) for i in ranked]
    assert values == sorted(values)  # the lowest first
    [mine] = [i for i in ranked if i["institution_id"] == city["y"]]
    # Y: 36,500 kWh x 0.1229 / 2,000 m² = 2.2429 kgce/m². Other tests' institutions of the district may share the
    # session's database: Y comes after exactly those with a lower value.
    assert Decimal(mine["value"]) == Decimal("2.2429")
    assert mine["rank"] == 1 + sum(value < Decimal("2.2429") for value in values)


async def test_consumption_series_sum_exactly_across_steps(
    client: httpx.AsyncClient, as_user: AsUser, city: dict[str, str]
) -> None:
    staff = await as_user("energy_staff")

    async def points(step: str, start: str, end: str) -> list[tuple[str, Decimal]]:
        response = await client.get(
            "/energy/consumption",
            params={"institution_id": city["x"], "start": start, "end": end, "step": step},
            headers=staff,
        )
        assert response.status_code == 200, response.text
        series = response.json()["series"]
        [electricity] = [s for s in series if s["energy_type"] == "electricity" and s["sub_item"] is None]
        # The air-conditioning sub-meter has its own series, a part of the total
        [cooling] = [s for s in series if s["sub_item"] == "air_conditioning"]
        assert sum(Decimal(p["amount"]) for p in cooling["points"]) < sum(
            Decimal(p["amount"]) for p in electricity["points"]
        )
        return [(p["start"], Decimal(p["amount"])) for p in electricity["points"]]

    hours = await points("hour", "2025-07-19", "2025-07-21")  # day 200 of 2025: the rollover
    assert len(hours) == 48
    assert hours[0][0] == "2025-07-19T00:00:00+08:00"
    # 1,000 kWh a day in 24 shares of 41.666666 or 41.666667 that add up to the day exactly
    assert {amount for _, amount in hours} == {Decimal("41.666666"), Decimal("41.666667")}
    assert sum(a for _, a in hours) == Decimal(2000)
    months = await points("month", "2025-01-01", "2026-01-01")
    assert [a for _, a in months] == [Decimal(1000 * d) for d in (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)]
    days = await points("day", "2025-04-01", "2025-05-01")
    assert sum(a for _, a in days) == months[3][1]


async def test_data_quality_lists_the_rollover_reset_and_replacement_and_the_gap(
    client: httpx.AsyncClient, as_user: AsUser, city: dict[str, str]
) -> None:
    staff = await as_user("energy_staff")
    response = await client.get(
        "/energy/quality",
        params={"start": "2025-01-01", "end": "2026-01-01", "institution_id": city["x"]},
        headers=staff,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    meters = {m["meter_id"].rsplit("-", 1)[1]: m for m in body["meters"]}
    [institution] = body["institutions"]
    assert (institution["meters"], institution["silent_meters"]) == (5, 5)
    assert institution["readings"] == sum(m["readings"] for m in meters.values())
    assert meters["e"]["rollovers"] == 1
    assert meters["w"]["resets"] == 1
    assert meters["g"]["resets"] == 1  # a replaced meter restarts like a reset
    assert meters["e"]["readings"] == 365 - 11  # the gap's 11 days are missing
    assert meters["h"]["readings"] == 365
    assert all(m["silent"] for m in meters.values())  # nothing read since 2026-01-01
    flagged = await client.get(
        "/energy/flagged", params={"start": "2025-01-01", "end": "2026-01-01", "institution_id": city["x"]},
        headers=staff,
    )  # fmt: skip
    assert flagged.status_code == 200, flagged.text
    found = {(f["meter_id"].rsplit("-", 1)[1], f["change"]): f for f in flagged.json()}
    assert set(found) == {("e", "rollover"), ("w", "reset"), ("g", "reset")}
    rollover = found[("e", "rollover")]
    assert (Decimal(rollover["before"]), Decimal(rollover["after"]), Decimal(rollover["amount"])) == (
        Decimal(99_975),
        Decimal(0),
        Decimal(1_000),  # 25 register units x 40
    )
    assert "came round" in rollover["reason"]
    # expected at the default 15-minute interval: 96 a day
    assert meters["h"]["expected"] == 365 * 96


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"start": "2025-02-01", "end": "2025-01-01"}, "end must be after start"),
        ({"start": "2025-01-01", "end": "2026-01-01", "coal_version": "gb-1990"}, "no standard_coal factor version"),
        ({"start": "1990-01-01", "end": "1991-01-01"}, "between 2000 and 2100"),
    ],
)
async def test_a_bad_period_or_factor_version_is_a_422_that_says_why(
    client: httpx.AsyncClient, as_user: AsUser, params: dict[str, str], message: str
) -> None:
    staff = await as_user("energy_staff")
    response = await client.get("/energy/indicators", params=params, headers=staff)
    assert response.status_code == 422
    assert message in response.text


async def test_a_dispatcher_has_no_energy_figures(client: httpx.AsyncClient, as_user: AsUser) -> None:
    dispatcher = await as_user("dispatcher")
    response = await client.get("/energy/indicators", params={"start": "2025-01-01", "end": "2026-01-01"},
                                headers=dispatcher)  # fmt: skip
    assert response.status_code == 403


async def test_the_xlsx_holds_the_apis_figures_with_chinese_headers_and_english_on_request(
    client: httpx.AsyncClient, as_user: AsUser, city: dict[str, str]
) -> None:
    staff = await as_user("energy_staff")
    period = {"start": "2025-01-01", "end": "2026-01-01", "organisation_id": city["a"]}
    api = (await indicators(client, staff, **period))["rows"][0]["current"]
    response = await client.get("/exports/energy.xlsx", params=period, headers=staff)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == [
        "单位能耗指标",
        "逐月能耗",
        "人均综合能耗排名",
        "单位建筑面积能耗排名",
        "人均用水量排名",
        "重点用能单位能耗公示",
        "数据质量",
        "计算因子",
        "说明",  # how the file was made
    ]
    sheet = book["单位能耗指标"]
    header = [c.value for c in sheet[1]]
    row = dict(zip(header, [c.value for c in sheet[2]], strict=True))
    assert sheet.freeze_panes == "A2"
    assert row["单位编号"] == city["x"]
    assert row["类别"] == "学校"
    assert Decimal(str(row["用电量（kWh）"])) == consumption(api)["electricity"] == Decimal(365_000)
    assert Decimal(str(row["综合能耗（kgce）"])) == Decimal(api["energy_kgce"]) == Decimal("51971.839")
    assert Decimal(str(row["人均综合能耗（kgce/人）"])) == Decimal(api["energy_per_capita"])
    assert Decimal(str(row["单位建筑面积能耗（kgce/m²）"])) == Decimal(api["energy_per_area"])
    assert Decimal(str(row["碳排放（tCO2）"])) == Decimal(api["carbon_tco2"])
    assert row["人均综合能耗定额"] == "超定额"
    assert Decimal(str(row["综合能耗同比"])) == Decimal("0.2053")  # against 2024, as the API says
    assert sheet.cell(2, header.index("综合能耗同比") + 1).number_format == "0.0%"
    assert sheet.cell(2, header.index("综合能耗（kgce）") + 1).number_format == "#,##0.000"
    months = book["逐月能耗"]
    assert len(months._charts) == 1
    electricity_by_month = [r[1] for r in months.iter_rows(min_row=2, values_only=True)]
    assert electricity_by_month == [1000 * d for d in (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)]
    quality_rows = list(book["数据质量"].iter_rows(min_row=2, values_only=True))
    assert sorted(r[0] for r in quality_rows) == sorted(f"{city['x']}-{k}" for k in ("e", "ac", "g", "h", "w"))
    # Issue 20: the energy types were "electricity", "water" in the Chinese sheet.
    energy_types = {r[0]: r[2] for r in quality_rows}
    assert (energy_types[f"{city['x']}-e"], energy_types[f"{city['x']}-w"]) == ("电力", "水")

    english = await client.get("/exports/energy.xlsx", params={**period, "language": "en"}, headers=staff)
    book = openpyxl.load_workbook(io.BytesIO(english.content))
    assert book.sheetnames[0] == "Institutions"
    assert [c.value for c in book["Institutions"][1]][:3] == ["Institution id", "Institution", "Category"]
    english_types = {r[0]: r[2] for r in book["Data quality"].iter_rows(min_row=2, values_only=True)}
    assert english_types[f"{city['x']}-w"] == "water"  # English files keep the codes


async def test_the_csv_gives_systems_stable_keys_and_plain_numbers(
    client: httpx.AsyncClient, as_user: AsUser, city: dict[str, str]
) -> None:
    unit = await as_user("unit_user", city["b"])
    response = await client.get(
        "/exports/energy.csv", params={"start": "2025-01-01", "end": "2026-01-01"}, headers=unit
    )
    assert response.status_code == 200, response.text
    rows = list(csv.DictReader(io.StringIO(csv_body(response.text))))
    assert [r["institution_id"] for r in rows] == [city["y"]]  # unit B sees Y only
    assert Decimal(rows[0]["electricity_kwh"]) == Decimal(36_500)


async def test_a_new_factor_version_is_used_when_named_and_versions_never_change(
    client: httpx.AsyncClient, as_user: AsUser, city: dict[str, str], tag: str
) -> None:
    staff = await as_user("energy_staff")
    version = f"jiangxi-2023-{tag}"
    body = {
        "version": version,
        "kind": "carbon",
        "title": "江西电网 2023",
        "source": "a provincial publication",
        "carbon": [
            {"energy_type": "electricity", "region": "jiangxi", "year": 2023, "unit": "kWh", "kgco2_per_unit": "0.6"},
        ],
    }
    created = await client.post("/factors", json=body, headers=staff)
    assert created.status_code == 201, created.text
    assert (await client.post("/factors", json=body, headers=staff)).status_code == 409
    wrong_unit = {**body, "version": f"x-{tag}", "carbon": [{**body["carbon"][0], "unit": "MWh"}]}
    refused = await client.post("/factors", json=wrong_unit, headers=staff)
    assert refused.status_code == 422
    assert "per kWh" in refused.text
    unit = await as_user("unit_user", city["a"])
    assert (await client.post("/factors", json={**body, "version": f"y-{tag}"}, headers=unit)).status_code == 403
    result = await indicators(
        client, staff, start="2025-01-01", end="2026-01-01", institution_id=city["x"], carbon_version=version,
        region="jiangxi",
    )  # fmt: skip
    assert result["factors"]["carbon"] == version
    assert result["factors"]["electricity_carbon_year"] == 2023
    # 365,000 kWh x 0.6 kg; natural gas has no factor in this version and is named
    assert Decimal(result["rows"][0]["current"]["carbon_tco2"]) == Decimal(219)
    assert result["factors"]["carbon_missing"] == ["heat", "natural_gas"]


async def test_quotas_are_set_by_energy_staff_and_an_institution_quota_overrides_its_category(
    client: httpx.AsyncClient, as_user: AsUser, city: dict[str, str]
) -> None:
    staff = await as_user("energy_staff")
    put = await client.put(
        "/quotas",
        json={"year": 2025, "indicator": "energy_per_capita", "institution_id": city["x"], "limit_value": "600"},
        headers=staff,
    )
    assert put.status_code == 200, put.text
    row = (await indicators(client, staff, start="2025-01-01", end="2026-01-01", institution_id=city["x"]))["rows"][0]
    check = next(q for q in row["quotas"] if q["indicator"] == "energy_per_capita")
    assert (Decimal(check["limit"]), check["status"]) == (Decimal(600), "ok")  # 519.7 < 540
    both = await client.put(
        "/quotas",
        json={"year": 2025, "indicator": "energy_per_capita", "institution_id": city["x"], "category": "school",
              "limit_value": "1"},
        headers=staff,
    )  # fmt: skip
    assert both.status_code == 422
    unit_b = await as_user("unit_user", city["b"])
    listed = await client.get("/quotas", params={"year": 2025}, headers=unit_b)
    assert all(q["institution_id"] != city["x"] for q in listed.json())


@pytest.fixture
async def idle(api_settings: Settings, city: dict[str, str]) -> str:
    """Z, an agency of unit B beside Y, with a floor area, a headcount and a meter that never reported."""
    z = f"z-{city['y']}"
    document = RegistryDocument(
        institutions=[
            Institution(
                id=z, organisation_id=city["b"], name=f"市档案馆 {city['y']}", category="agency", district="昌江区"
            )
        ],
        institution_years=[InstitutionYear(institution_id=z, year=2025, floor_area_m2=1000, headcount=20)],
        meters=[Meter(id=f"{z}-e", institution_id=z, energy_type="electricity", unit="kWh")],
    )
    async with (
        open_pool(api_settings.database_url, max_size=1, configure=ingest.prepare_connection) as pool,
        pool.connection() as conn,
    ):
        await import_document(conn, document)
        await conn.commit()
    return z


YEAR_2025 = {"start": "2025-01-01", "end": "2026-01-01"}


async def test_an_institution_without_readings_has_null_figures_with_the_reason_not_zeros(
    client: httpx.AsyncClient, as_user: AsUser, city: dict[str, str], idle: str
) -> None:
    staff = await as_user("energy_staff")
    rows = (await indicators(client, staff, **YEAR_2025, organisation_id=city["b"]))["rows"]
    [z] = [r["current"] for r in rows if r["institution_id"] == idle]
    assert z["consumption"] == []
    assert (z["energy_kgce"], z["energy_tce"], z["carbon_tco2"]) == (None, None, None)
    assert (z["energy_per_capita"], z["energy_per_area"], z["electricity_per_area"]) == (None, None, None)
    # What the registry states stays shown.
    assert Decimal(z["floor_area_m2"]) == 1000
    assert z["headcount"] == 20
    assert z["reasons"] == {
        "energy_kgce": "no_readings",
        "energy_tce": "no_readings",
        "carbon_tco2": "no_readings",
        "water_per_capita": "no_readings",
        "energy_per_capita": "no_readings",
        "energy_per_area": "no_readings",
        "electricity_per_area": "no_readings",
    }
    # A group's ratio counts only the institutions with readings: Z's 20 people do not dilute Y's per capita
    # (Y: 36,500 kWh x 0.1229 = 4,485.85 kgce over 50 people, not over 70).
    [agencies] = (await indicators(client, staff, **YEAR_2025, organisation_id=city["b"], group="category"))["rows"]
    assert Decimal(agencies["current"]["energy_per_capita"]) == Decimal("89.7170")
    assert Decimal(agencies["current"]["energy_per_area"]) == Decimal("2.2429")


async def test_an_institution_without_readings_is_unranked_with_the_reason_after_the_ranked(
    client: httpx.AsyncClient, as_user: AsUser, city: dict[str, str], idle: str
) -> None:
    staff = await as_user("energy_staff")
    for indicator, value in (("energy_per_capita", "89.7170"), ("energy_per_area", "2.2429")):
        response = await client.get(
            "/energy/rankings",
            params={**YEAR_2025, "organisation_id": city["b"], "indicator": indicator},
            headers=staff,
        )
        assert response.status_code == 200, response.text
        items = response.json()["items"]
        # Z, with nothing read, is not the best: Y is first, Z comes after it, unranked.
        assert [(i["institution_id"], i["rank"], i["value"]) for i in items] == [
            (city["y"], 1, value),
            (idle, None, None),
        ]
        assert [i["reason"] for i in items] == [None, "no_readings"]


async def test_the_xlsx_and_csv_leave_a_missing_figure_empty_and_say_why(
    client: httpx.AsyncClient, as_user: AsUser, city: dict[str, str], idle: str
) -> None:
    staff = await as_user("energy_staff")
    params = {**YEAR_2025, "organisation_id": city["b"]}
    response = await client.get("/exports/energy.xlsx", params=params, headers=staff)
    assert response.status_code == 200, response.text
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    sheet = book["单位能耗指标"]
    header = [c.value for c in sheet[1]]
    rows = {
        r["单位编号"]: r
        for r in (dict(zip(header, row, strict=True)) for row in sheet.iter_rows(min_row=2, values_only=True))
    }
    z, y = rows[idle], rows[city["y"]]
    for column in (
        "用电量（kWh）",
        "综合能耗（kgce）",
        "综合能耗（tce）",
        "人均综合能耗（kgce/人）",
        "单位建筑面积能耗（kgce/m²）",
        "碳排放（tCO2）",
    ):
        assert z[column] is None, column
    assert z["建筑面积（m²）"] == 1000
    assert z["缺数原因"] == "无读数：综合能耗、人均用水量、人均综合能耗、单位建筑面积能耗、单位面积电耗、碳排放"
    assert Decimal(str(y["综合能耗（kgce）"])) == Decimal("4485.85")
    assert y["缺数原因"] == "无读数：人均用水量"  # Y has no water meter
    ranking = book["人均综合能耗排名"]
    header = [c.value for c in ranking[1]]
    ranked = [dict(zip(header, row, strict=True)) for row in ranking.iter_rows(min_row=2, values_only=True)]
    assert [(r["单位编号"], r["排名"], r["未排名原因"]) for r in ranked] == [
        (city["y"], 1, None),
        (idle, None, "无读数"),
    ]

    response = await client.get("/exports/energy.csv", params={**params, "language": "en"}, headers=staff)
    assert response.status_code == 200, response.text
    by_id = {r["institution_id"]: r for r in csv.DictReader(io.StringIO(csv_body(response.text)))}
    assert (by_id[idle]["energy_kgce"], by_id[idle]["energy_per_capita"]) == ("", "")
    assert by_id[idle]["missing"] == (
        "no_readings: energy_kgce, energy_tce, water_per_capita, energy_per_capita, energy_per_area, "
        "electricity_per_area, carbon_tco2"
    )
    response = await client.get(
        "/exports/energy.csv", params={**params, "view": "rankings_energy_per_capita"}, headers=staff
    )
    ranked_csv = list(csv.DictReader(io.StringIO(csv_body(response.text))))
    assert [(r["institution_id"], r["rank"], r["unranked"]) for r in ranked_csv] == [
        (city["y"], "1", ""),
        (idle, "", "无读数"),
    ]


async def test_a_year_after_a_last_reading_at_midnight_has_no_figure_and_last_year_without_data_no_zero(
    client: httpx.AsyncClient, as_user: AsUser, city: dict[str, str]
) -> None:
    staff = await as_user("energy_staff")
    # Y's last reading is at 2026-01-01 00:00: it closes 2025; 2026 has no reading of its own.
    [y] = (await indicators(client, staff, start="2026-01-01", end="2027-01-01", organisation_id=city["b"]))["rows"]
    assert y["current"]["consumption"] == []
    assert y["current"]["energy_kgce"] is None
    assert y["current"]["reasons"]["energy_kgce"] == "no_readings"
    # 2024 against 2023, when nothing was read: last year has no figure and the change none, each saying why.
    [y] = (await indicators(client, staff, start="2024-01-01", end="2025-01-01", organisation_id=city["b"]))["rows"]
    assert Decimal(y["current"]["energy_kgce"]) == Decimal("4498.14")  # 366 days x 100 kWh x 0.1229
    assert y["last_year"]["energy_kgce"] is None
    assert y["last_year"]["reasons"]["energy_kgce"] == "no_readings"
    assert y["change_last_year"]["energy_kgce"] is None
    assert y["change_last_year"]["reasons"]["energy_kgce"] == "no_readings"
    # Y states no floor area or headcount for 2024: the indicators say so.
    assert y["current"]["reasons"]["energy_per_area"] == "no_floor_area"
    assert y["current"]["reasons"]["energy_per_capita"] == "no_headcount"
