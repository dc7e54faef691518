"""The survey's small city (tests/support/survey.py) given consumption that no meter counts, through the API as staff
enter it: bills, delivery notes, a heating bill, a declared source, and fuel-card and charging statements. Every
figure is computable by hand (2025; gasoline at 0.73 kg/L, diesel at 0.86, the import's densities):

- a1 (meters: 22,500 kWh, 27 m³): an electricity bill of 25,000 kWh for March (20,000 yuan) beside its meter, which
  counts by default (the bill gives only the cost); 10 kg of gasoline for the generator entered by hand (90 yuan);
  its gasoline car's card: 40 L on 06-03 (300 yuan) = 29.2 kg; its diesel car, retired in June: 20 L on 03-05
  (150 yuan) = 17.2 kg.
- a2 (no meter): a year's electricity bill of 12,000 kWh (9,000 yuan); a delivery note of 5 t of coal for heating
  (4,000 yuan); a heating bill of 240 GJ from 2025-11-01 to 2026-03-01 (12,000 yuan), of which 2025 holds 61 of its
  120 days: 122 GJ and 6,100 yuan.
- b1 (meters: 45 m³ of gas): a gas bill of 50 m³ for March (150 yuan), and staff declare the bills its source for
  2025; a delivery note of 30 kg of LPG (240 yuan); its plug-in hybrid charged 50 kWh on 06-10 (60 yuan).
"""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.files import upload
from tests.support.registry import plate
from tests.support.survey import City


async def enter_sources(
    client: httpx.AsyncClient,
    *,
    staff: dict[str, str],
    units: tuple[dict[str, str], dict[str, str]],
    city: City,
    tag: str,
) -> None:
    """Enter the city's bills and statements (staff: energy staff's headers; units: unit A's and unit B's user's)."""
    c = city
    unit_a, unit_b = units
    entries: list[tuple[dict[str, str], dict[str, Any]]] = [
        (unit_a, _entry(c.a1, "electricity", ("2025-03-01", "2025-04-01"), ("25000", "kWh", "20000"), "bill")),
        (unit_a, _entry(c.a1, "gasoline", ("2025-05-01", "2025-05-02"), ("10", "kg", "90"), "manual")),
        (unit_a, _entry(c.a2, "electricity", ("2025-01-01", "2026-01-01"), ("12000", "kWh", "9000"), "bill")),
        (
            unit_a,
            _entry(
                c.a2, "raw_coal", ("2025-01-10", "2025-01-11"), ("5", "t", "4000"), "delivery_note", purpose="heating"
            ),
        ),
        (unit_a, _entry(c.a2, "heat", ("2025-11-01", "2026-03-01"), ("240", "GJ", "12000"), "bill", purpose="heating")),
        (unit_b, _entry(c.b1, "natural_gas", ("2025-03-01", "2025-04-01"), ("50", "m3", "150"), "bill")),
        (unit_b, _entry(c.b1, "lpg", ("2025-04-10", "2025-04-11"), ("30", "kg", "240"), "delivery_note")),
    ]
    for headers, body in entries:
        response = await client.post("/energy/entries", json=body, headers=headers)
        assert response.status_code == 201, response.text
    declared = await client.put(
        f"/energy/sources/{c.b1}",
        json={"energy_type": "natural_gas", "year": 2025, "source": "entries", "reason": "the meter misses a supply"},
        headers=staff,
    )
    assert declared.status_code == 200, declared.text

    card = (
        "车牌号,交易时间,油品,加油量,金额\n"
        f"{plate(tag, 1)},2025-06-03 08:00:00,92#汽油,40,300\n"
        f"{plate(tag, 3)},2025-03-05 08:00:00,0#柴油,20,150\n"
    )
    charging = (
        "Plate,Start time,End time,Station,Charged (kWh),Amount\n"
        f"{plate(tag, 4)},2025-06-10 07:00:00,2025-06-10 08:00:00,市政府充电站,50,60\n"
    )
    for headers, text, imported in ((unit_a, card, 2), (unit_b, charging, 1)):
        sent = await upload(client, "/fuel/statements", headers, text.encode(), "statement.csv")
        assert sent.status_code == 200, sent.text
        assert (sent.json()["imported"], sent.json()["problems"]) == (imported, [])


def _entry(
    institution_id: str,
    energy_type: str,
    period: tuple[str, str],
    figures: tuple[str, str, str],
    source: str,
    *,
    purpose: str = "general",
) -> dict[str, Any]:
    """An entry's body: its period [start, end) and its (quantity, unit, cost)."""
    start, end = period
    quantity, unit, cost = figures
    return {
        "institution_id": institution_id,
        "energy_type": energy_type,
        "purpose": purpose,
        "period_start": start,
        "period_end": end,
        "quantity": quantity,
        "unit": unit,
        "cost": cost,
        "source": source,
        "reference": f"{institution_id}-{energy_type}-{start}",
    }
