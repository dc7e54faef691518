"""The vehicles' fuel and charging from statements in the institution's energy statistics, by hand.

P (tests/support/bills.py) has an electricity meter read 1,000 kWh in March 2025, a gasoline bill for March (100 kg,
purpose general: 其他用油, fuel not for vehicles) and two vehicles with home P: a gasoline car whose fuel card bought
40 L on 2025-03-05 (at 0.73 kg/L: 29.2 kg, 车辆用油) and a battery-electric car charged 50 kWh on 2025-03-06 at a public
station. Each counts once:
- electricity 1,000 + 50 = 1,050 kWh (fuel_statements and meters), gasoline 100 + 29.2 = 129.2 kg (entries and
  fuel_statements);
- comprehensive energy 1,050 x 0.1229 + 129.2 x 1.4714 = 129.045 + 190.10488 = 319.14988 kgce; carbon
  1,050 x 0.5703 = 598.815 kgCO2 (the seeded carbon sets have no gasoline factor: named missing);
- the monthly series: March holds 1,050 kWh and 129.2 kg, each with its sources.
Q has no vehicle and a gas bill (310 m³ from 15 January to 14 February): 376.433 kgce from entries, as before.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import psycopg

from db.registry import import_document
from domain.registry import RegistryDocument, Vehicle
from tests.support.api import AsUser
from tests.support.bills import enter, register_three
from tests.support.files import upload, workbook
from yiwang.settings import Settings

YEAR = {"start": "2025-01-01", "end": "2026-01-01"}
# The seeded sets, named: other tests add newer versions, which would become the default.
FACTORS = {"coal_version": "gb2589-2020-equivalent", "carbon_version": "cn-2022"}


def _amounts(figures: dict[str, Any]) -> dict[str, tuple[Decimal, str]]:
    return {c["energy_type"]: (Decimal(c["amount"]), c["source"]) for c in figures["consumption"]}


async def test_a_home_institutions_vehicle_fuel_counts_once_with_its_source(
    client: httpx.AsyncClient, as_user: AsUser, api_settings: Settings, tag: str
) -> None:
    org, p, q, r = await register_three(api_settings, tag)
    car, ev = f"{tag}-car", f"{tag}-ev"
    car_plate, ev_plate = f"赣H·C{tag[:4].upper()}", f"赣H·V{tag[:4].upper()}"
    async with await psycopg.AsyncConnection.connect(api_settings.database_url) as conn:
        await import_document(
            conn,
            RegistryDocument(
                vehicles=[
                    Vehicle(id=car, organisation_id=org, plate=car_plate, energy="gasoline", home_institution_id=p),
                    Vehicle(
                        id=ev, organisation_id=org, plate=ev_plate, energy="battery_electric", battery_kwh=60,
                        home_institution_id=p,
                    ),
                ]
            ),
        )  # fmt: skip
        await conn.commit()
    unit = await as_user("unit_user", org)
    await enter(
        client,
        await as_user("energy_staff"),
        [
            {"institution_id": p, "energy_type": "gasoline", "period_start": "2025-03-01", "period_end": "2025-04-01",
             "quantity": "100", "unit": "kg", "cost": "900", "source": "bill", "reference": "G-03"},
            {"institution_id": q, "energy_type": "natural_gas", "period_start": "2025-01-15",
             "period_end": "2025-02-15", "quantity": "310", "unit": "m3", "cost": "1000", "source": "bill",
             "reference": "N-01"},
        ],
    )  # fmt: skip
    card = f"车牌号,交易时间,油品,加油量,金额\n{car_plate},2025-03-05 08:00:00,92#汽油,40,300\n".encode()
    sent = await upload(client, "/fuel/statements", unit, card, "card.csv")
    assert (sent.status_code, sent.json()["imported"]) == (200, 1), sent.text
    charging = workbook(
        [
            ["Plate", "Start time", "End time", "Station", "Charged (kWh)", "Amount"],
            [ev_plate, "2025-03-06 07:00:00", "2025-03-06 08:00:00", "市民中心公共充电站", 50, 60],
        ]
    )
    sent = await upload(client, "/fuel/statements", unit, charging, "charging.xlsx")
    assert (sent.status_code, sent.json()["imported"]) == (200, 1), sent.text

    report = await client.get("/energy/indicators", headers=unit, params={**YEAR, **FACTORS, "organisation_id": org})
    assert report.status_code == 200, report.text
    body = report.json()
    figures = {row["institution_id"]: row["current"] for row in body["rows"]}
    assert _amounts(figures[p]) == {
        "electricity": (Decimal(1050), "fuel_statements and meters"),
        "gasoline": (Decimal("129.2"), "entries and fuel_statements"),
    }
    assert figures[p]["energy_kgce"] == "319.150"
    assert figures[p]["energy_tce"] == "0.319150"
    # Carbon counts the charging: 1,050 kWh x 0.5703 kgCO2/kWh (cn-2022) = 598.815 kg. No seeded carbon set has a
    # gasoline factor: the report names it missing rather than counting it as zero.
    assert (body["factors"]["carbon"], figures[p]["carbon_tco2"]) == ("cn-2022", "0.598815")
    assert body["factors"]["carbon_missing"] == ["gasoline"]
    # Q has no vehicle: its gas bill alone, from entries, as without statements.
    assert _amounts(figures[q]) == {"natural_gas": (Decimal(310), "entries")}
    assert figures[q]["energy_kgce"] == "376.433"
    assert (figures[r]["consumption"], figures[r]["energy_kgce"]) == ([], None)
    city = await client.get(
        "/energy/indicators", headers=unit, params={**YEAR, **FACTORS, "organisation_id": org, "group": "city"}
    )
    assert city.json()["rows"][0]["current"]["energy_kgce"] == "695.583"  # 319.14988 + 376.433

    series = await client.get(
        "/energy/consumption", headers=unit, params={**YEAR, "institution_id": p, "step": "month"}
    )
    assert series.status_code == 200, series.text
    assert {
        (s["energy_type"], s["source"]): [(x["start"][:10], Decimal(x["amount"])) for x in s["points"]]
        for s in series.json()["series"]
        if s["sub_item"] is None
    } == {
        ("electricity", "fuel_statements and meters"): [("2025-03-01", Decimal(1050))],
        ("gasoline", "entries and fuel_statements"): [("2025-03-01", Decimal("129.2"))],
    }
