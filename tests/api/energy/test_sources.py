"""One source counts per institution, energy type and year, by hand:

- P has an electricity meter read 100 kWh a day over ten days of March 2025 (1,000 kWh) and a bill of March for
  1,240 kWh and 868 yuan (the meter misses an annex). By default the meters count (1,000 kWh, 122.9 kgce), the bill's
  cost is the figure's cost, and GET /energy/sources shows 1,240 entered, 240 more than metered. Never 2,240.
  Once staff declare the entries for P's electricity in 2025, 1,240 kWh count (152.396 kgce) everywhere.
- Q has no meter: a gas bill of 15 January to 14 February (310 m³, 1,000 yuan: 170 m³ in January, 140 in February by
  days) and a heating bill of 15 November 2025 to 14 March 2026 (12 GJ, 2,400 yuan; 47 of its 120 days in 2025:
  4,700 MJ and 940 yuan) count: 310 x 1.2143 + 4,700 x 0.03412 = 376.433 + 160.364 = 536.797 kgce.
- R has nothing: no row, and every figure null with its reason.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import psycopg

from db import declared
from db.pool import open_pool
from db.registry import import_document
from domain.registry import Institution, Meter, Organisation, RegistryDocument, Vehicle
from tests.support.api import AsUser, audit_rows
from tests.support.bills import enter, register_three
from tests.support.files import csv_body, upload
from tests.support.rollups import read_daily
from yiwang.settings import Settings

YEAR = {"start": "2025-01-01", "end": "2026-01-01"}


def _by_institution(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["institution_id"]: row["current"] for row in report["rows"]}


def _amounts(figures: dict[str, Any]) -> dict[str, tuple[Decimal, str]]:
    return {c["energy_type"]: (Decimal(c["amount"]), c["source"]) for c in figures["consumption"]}


def _number(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


async def test_one_source_counts_per_type_and_year_and_the_other_is_shown_beside_it(
    client: httpx.AsyncClient, as_user: AsUser, api_settings: Settings, tag: str
) -> None:
    org, p, q, r = await register_three(api_settings, tag)
    unit = await as_user("unit_user", org)
    staff = await as_user("energy_staff")
    for body in (
        {"institution_id": p, "energy_type": "electricity", "period_start": "2025-03-01", "period_end": "2025-04-01",
         "quantity": "1240", "unit": "kWh", "cost": "868", "source": "bill", "reference": "E-03"},
        {"institution_id": q, "energy_type": "natural_gas", "period_start": "2025-01-15", "period_end": "2025-02-15",
         "quantity": "310", "unit": "m3", "cost": "1000", "source": "bill", "reference": "G-01"},
        {"institution_id": q, "energy_type": "heat", "purpose": "heating", "period_start": "2025-11-15",
         "period_end": "2026-03-15", "quantity": "12", "unit": "GJ", "cost": "2400", "source": "bill",
         "reference": "H-25"},
    ):  # fmt: skip
        made = await client.post("/energy/entries", headers=unit, json=body)
        assert made.status_code == 201, made.text

    async with open_pool(api_settings.database_url, max_size=1) as pool, pool.connection() as conn:
        rows = await declared.yearly(conn, 2025, [p, q, r])
        months = await declared.monthly(conn, [p, q, r], date(2025, 1, 1), date(2025, 4, 1))
    assert rows == [
        declared.Declared(p, "electricity", "building", Decimal(1000), Decimal(868), "meters"),
        declared.Declared(
            q, "heat", "building", Decimal(4700), Decimal(940), "entries", False, Decimal(4700), Decimal(940)
        ),
        declared.Declared(q, "natural_gas", "building", Decimal(310), Decimal(1000), "entries"),
    ]
    # Only what counts: P's bill is not among the months while P's meters count.
    assert [(m.institution_id, m.energy_type, m.month, m.quantity) for m in months] == [
        (q, "natural_gas", date(2025, 1, 1), Decimal(170)),
        (q, "natural_gas", date(2025, 2, 1), Decimal(140)),
    ]

    sources = await client.get("/energy/sources", headers=unit, params={"year": 2025, "organisation_id": org})
    assert sources.status_code == 200, sources.text
    assert [
        (
            s["institution_id"],
            s["energy_type"],
            _number(s["metered"]),
            _number(s["entered"]),
            _number(s["difference"]),
            s["source"],
            s["rule"],
        )
        for s in sources.json()["rows"]
    ] == [
        (p, "electricity", 1000, 1240, 240, "meters", "default: a main meter of the type has data this year"),
        (q, "heat", None, 4700, None, "entries", "default: no main meter of the type has data this year"),
        (q, "natural_gas", None, 310, None, "entries", "default: no main meter of the type has data this year"),
    ]

    report = await client.get("/energy/indicators", headers=unit, params={**YEAR, "organisation_id": org})
    assert report.status_code == 200, report.text
    figures = _by_institution(report.json())
    assert _amounts(figures[p]) == {"electricity": (1000, "meters")}
    assert (figures[p]["energy_kgce"], figures[p]["energy_per_area"]) == ("122.900", "0.1229")
    assert _amounts(figures[q]) == {"heat": (4700, "entries"), "natural_gas": (310, "entries")}
    assert (figures[q]["energy_kgce"], figures[q]["energy_per_capita"]) == ("536.797", "53.6797")
    assert (figures[r]["consumption"], figures[r]["energy_kgce"], figures[r]["energy_per_area"]) == ([], None, None)
    assert figures[r]["reasons"]["energy_kgce"] == figures[r]["reasons"]["energy_per_area"] == "no_readings"
    city = await client.get(
        "/energy/indicators", headers=unit, params={**YEAR, "organisation_id": org, "group": "city"}
    )
    assert city.json()["rows"][0]["current"]["energy_kgce"] == "659.697"  # 122.9 + 536.797: P's bill not added

    # A unit does not choose its own figure; energy staff do, with the reason, and it is audited.
    choice = {"energy_type": "electricity", "year": 2025, "source": "entries", "reason": "the meter misses the annex"}
    assert (await client.put(f"/energy/sources/{p}", headers=unit, json=choice)).status_code == 403
    declared_row = await client.put(f"/energy/sources/{p}", headers=staff, json=choice)
    assert declared_row.status_code == 200, declared_row.text
    assert (declared_row.json()["source"], declared_row.json()["source_declared"]) == ("entries", True)
    assert declared_row.json()["rule"] == "declared by staff: the meter misses the annex"
    audit = audit_rows(
        api_settings.database_url, "endpoint = %s AND %s = ANY(resource_ids)", ("/energy/sources/{institution_id}", p)
    )
    assert [(a["action"], a["status"]) for a in audit] == [("registry:write", 403), ("registry:write", 200)]

    async with open_pool(api_settings.database_url, max_size=1) as pool, pool.connection() as conn:
        rows = await declared.yearly(conn, 2025, [p])
        months = await declared.monthly(conn, [p], date(2025, 1, 1), date(2026, 1, 1))
    assert rows == [declared.Declared(p, "electricity", "building", Decimal(1240), Decimal(868), "entries", True)]
    assert [(m.month, m.quantity) for m in months] == [(date(2025, 3, 1), Decimal(1240))]
    figures = _by_institution(
        (await client.get("/energy/indicators", headers=unit, params={**YEAR, "organisation_id": org})).json()
    )
    assert _amounts(figures[p]) == {"electricity": (1240, "entries")}
    assert figures[p]["energy_kgce"] == "152.396"  # 1,240 x 0.1229, the meters' 1,000 left out

    # The monthly and yearly series and the report's monthly sheet count the same: P's March is the bill's 1,240 kWh.
    p_series = await client.get(
        "/energy/consumption", headers=unit, params={**YEAR, "institution_id": p, "step": "month"}
    )
    assert _points(p_series.json()) == {("electricity", "2025-03-01"): 1240}
    q_series = await client.get(
        "/energy/consumption", headers=unit, params={**YEAR, "institution_id": q, "step": "year"}
    )
    assert _points(q_series.json()) == {("heat", "2025-01-01"): 4700, ("natural_gas", "2025-01-01"): 310}
    monthly = await client.get(
        "/exports/energy.csv", headers=unit, params={**YEAR, "organisation_id": org, "view": "monthly"}
    )
    assert monthly.status_code == 200, monthly.text
    rows = {r["month"][:7]: r for r in csv.DictReader(io.StringIO(csv_body(monthly.text)))}
    assert sorted(rows) == ["2025-01", "2025-02", "2025-03", "2025-11", "2025-12"]
    assert (Decimal(rows["2025-01"]["natural_gas_m3"]), Decimal(rows["2025-02"]["natural_gas_m3"])) == (170, 140)
    assert Decimal(rows["2025-03"]["electricity_kwh"]) == 1240
    assert (Decimal(rows["2025-11"]["heat_mj"]), Decimal(rows["2025-12"]["heat_mj"])) == (1600, 3100)


def _points(body: dict[str, Any]) -> dict[tuple[str, str], Decimal]:
    return {
        (s["energy_type"], point["start"][:10]): Decimal(point["amount"])
        for s in body["series"]
        if s["sub_item"] is None
        for point in s["points"]
    }


async def test_other_energy_entered_in_tce_counts_in_comprehensive_energy_as_it_is(
    client: httpx.AsyncClient, as_user: AsUser, api_settings: Settings, tag: str
) -> None:
    org, _, q, _ = await register_three(api_settings, tag)
    unit = await as_user("unit_user", org)
    other = {"institution_id": q, "energy_type": "other", "period_start": "2025-01-01", "period_end": "2026-01-01"}
    await enter(client, unit, [{**other, "quantity": "1.5", "unit": "tce", "source": "manual"}])
    report = await client.get("/energy/indicators", headers=unit, params={**YEAR, "institution_id": q})
    [row] = report.json()["rows"]
    assert [(c["energy_type"], c["unit"], Decimal(c["amount"])) for c in row["current"]["consumption"]] == [
        ("other", "kgce", 1500)
    ]
    assert (row["current"]["energy_kgce"], row["current"]["energy_per_area"]) == ("1500.000", "1.5000")
    # Other energy has no carbon factor: said so, not counted as zero silently.
    assert report.json()["factors"]["carbon_missing"] == ["other"]


async def test_a_sub_item_meter_alone_does_not_drop_the_whole_buildings_bills(
    client: httpx.AsyncClient, as_user: AsUser, api_settings: Settings, tag: str
) -> None:
    # S has only an air-conditioning sub-meter (800 kWh a day over ten days: 8,000 kWh) and whole-building bills of
    # 50,000 kWh for 2025: the bills are the fuller figure and count, the sub-meter's 8,000 is shown beside them. T has
    # the same sub-meter and no bill: its 8,000 kWh still count, never nothing.
    org, s, t = f"org-{tag}-sub", f"s-{tag}", f"t-{tag}"
    document = RegistryDocument(
        organisations=[Organisation(id=org, name="分项单位")],
        institutions=[
            Institution(id=s, organisation_id=org, name=f"A 分项 {tag}", category="agency"),
            Institution(id=t, organisation_id=org, name=f"B 分项 {tag}", category="agency"),
        ],
        meters=[
            Meter(id=f"{i}-ac", institution_id=i, energy_type="electricity", unit="kWh", sub_item="air_conditioning")
            for i in (s, t)
        ],
    )
    await read_daily(
        api_settings.database_url, document, {f"{s}-ac": 800.0, f"{t}-ac": 800.0}, first=date(2025, 3, 1), days=11
    )
    unit = await as_user("unit_user", org)
    await enter(
        client,
        unit,
        [
            {"institution_id": s, "energy_type": "electricity", "period_start": f"2025-{m:02}-01",
             "period_end": f"{2025 + m // 12}-{m % 12 + 1:02}-01", "quantity": "12500", "unit": "kWh", "cost": "8750",
             "source": "bill", "reference": f"E-Q{m // 3}"}
            for m in (1, 4, 7, 10)  # the bills of January, April, July and October: 50,000 kWh, 35,000 yuan
        ],
    )  # fmt: skip
    async with open_pool(api_settings.database_url, max_size=1) as pool, pool.connection() as conn:
        rows = await declared.yearly(conn, 2025, [s, t])
    assert rows == [
        declared.Declared(s, "electricity", "building", Decimal(50000), Decimal(35000), "entries"),
        declared.Declared(t, "electricity", "building", Decimal(8000), None, "meters"),
    ]
    sources = await client.get("/energy/sources", headers=unit, params={"year": 2025, "organisation_id": org})
    assert sources.status_code == 200, sources.text
    assert [
        (r["institution_id"], _number(r["metered"]), _number(r["entered"]), r["source"], r["rule"])
        for r in sources.json()["rows"]
    ] == [
        (s, 8000, 50000, "entries", "default: no main meter of the type has data this year"),
        (t, 8000, None, "meters", "default: only sub-item meters of the type have data this year, and no entry"),
    ]


async def test_vehicle_fuel_from_statements_is_shown_beside_gasoline_entries(
    client: httpx.AsyncClient, as_user: AsUser, api_settings: Settings, tag: str
) -> None:
    # V's car bought 100 L of gasoline on its fuel card in June (73 kg at 0.73 kg/L), imported as a statement; staff
    # also typed 73 kg of gasoline as an entry (which the survey counts as other fuel, 其他用油): the sources show the
    # statements' 73 kg beside the entry's, flagged. V's diesel entry has no statement beside it.
    org, v, plate = f"org-{tag}-fuel", f"v-{tag}", f"赣H·{tag[:5].upper()}"
    document = RegistryDocument(
        organisations=[Organisation(id=org, name=f"用油单位 {tag}")],
        institutions=[Institution(id=v, organisation_id=org, name=f"用油机构 {tag}", category="agency")],
        vehicles=[Vehicle(id=f"{tag}-car", organisation_id=org, plate=plate, energy="gasoline", home_institution_id=v)],
    )
    async with await psycopg.AsyncConnection.connect(api_settings.database_url) as conn:
        await import_document(conn, document)
        await conn.commit()
    unit = await as_user("unit_user", org)
    statement = f"车牌号,交易时间,油品,加油量,金额\n{plate},2025-06-05 08:00:00,92#汽油,100,750\n".encode()
    sent = await upload(client, "/fuel/statements", unit, statement, "加油卡.csv")
    assert (sent.status_code, sent.json()["imported"]) == (200, 1), sent.text
    june = {"institution_id": v, "period_start": "2025-06-01", "period_end": "2025-07-01", "source": "manual"}
    await enter(
        client,
        unit,
        [
            {**june, "energy_type": "gasoline", "quantity": "73", "unit": "kg"},
            {**june, "energy_type": "diesel", "quantity": "40", "unit": "kg"},
        ],
    )
    sources = await client.get("/energy/sources", headers=unit, params={"year": 2025, "institution_id": v})
    assert sources.status_code == 200, sources.text
    assert [
        (r["energy_type"], _number(r["entered"]), _number(r["vehicle_fuel"]), r["possible_double_entry"])
        for r in sources.json()["rows"]
    ] == [("diesel", 40, None, False), ("gasoline", 73, 73, True)]
