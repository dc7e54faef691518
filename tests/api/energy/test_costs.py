"""Costs from bills, by hand, for 2025 against 2024:

- P: its meter counts the quantity (1,000 kWh); a March bill of 1,240 kWh for 868 yuan and a cost-only April bill of
  700 yuan: P's electricity costs 1,568 yuan (the meters' figure carries the bills' cost), 1.568 yuan/m², 156.8
  yuan/person; nothing was paid in 2024 that we know of: no change, reason no_cost.
- Q: gas 15 January to 14 February, 1,000 yuan; heating 15 November 2025 to 14 March 2026, 2,400 yuan, 47 of its 120
  days in 2025: 940 yuan; 1,940 yuan in all, 1.94 yuan/m², 194 yuan/person; a gas bill of 2024 for 800 yuan: +142.5%.
- R: nothing stated: every cost null with the reason no_cost, its floor area shown.
- The city: 3,508 yuan over the 2,000 m² and 20 people of P and Q (R states no cost): 1.754 yuan/m², 175.4 per person.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

import httpx
import openpyxl

from db import declared
from db.pool import open_pool
from tests.support.api import AsUser
from tests.support.bills import enter, register_three
from tests.support.files import csv_body
from yiwang.settings import Settings

YEAR = {"start": "2025-01-01", "end": "2026-01-01"}


def _bill(institution_id: str, energy_type: str, start: str, end: str, **more: Any) -> dict[str, Any]:
    return {
        "institution_id": institution_id,
        "energy_type": energy_type,
        "period_start": start,
        "period_end": end,
        "source": "bill",
        **more,
    }


async def test_costs_per_type_area_and_person_against_last_year_with_nulls_and_reasons(
    client: httpx.AsyncClient, as_user: AsUser, api_settings: Settings, tag: str
) -> None:
    org, p, q, r = await register_three(api_settings, tag)
    unit = await as_user("unit_user", org)
    await enter(
        client,
        unit,
        [
            _bill(p, "electricity", "2025-03-01", "2025-04-01", quantity="1240", unit="kWh", cost="868", reference="1"),
            _bill(p, "electricity", "2025-04-01", "2025-05-01", cost="700", reference="2"),
            _bill(q, "natural_gas", "2025-01-15", "2025-02-15", quantity="310", unit="m3", cost="1000", reference="3"),
            _bill(q, "heat", "2025-11-15", "2026-03-15", quantity="12", unit="GJ", cost="2400", purpose="heating"),
            _bill(q, "natural_gas", "2024-01-15", "2024-02-15", quantity="250", unit="m3", cost="800", reference="4"),
        ],
    )
    async with open_pool(api_settings.database_url, max_size=1) as pool, pool.connection() as conn:
        [electricity] = await declared.yearly(conn, 2025, [p])
    assert (electricity.quantity, electricity.cost, electricity.source) == (1000, 1568, "meters")

    response = await client.get("/energy/costs", headers=unit, params={**YEAR, "organisation_id": org})
    assert response.status_code == 200, response.text
    rows = {row["institution_id"]: row for row in response.json()["rows"]}
    assert list(rows) == [p, q, r]
    now = {i: row["current"] for i, row in rows.items()}
    assert now[p]["costs"] == [{"energy_type": "electricity", "cost": "1568.00"}]
    assert (now[p]["total_cost"], now[p]["cost_per_area"], now[p]["cost_per_capita"]) == (
        "1568.00",
        "1.5680",
        "156.8000",
    )
    assert (rows[p]["change_last_year"], rows[p]["change_reason"]) == (None, "no_cost")
    assert now[q]["costs"] == [
        {"energy_type": "heat", "cost": "940.00"},
        {"energy_type": "natural_gas", "cost": "1000.00"},
    ]
    assert (now[q]["total_cost"], now[q]["cost_per_area"], now[q]["cost_per_capita"]) == (
        "1940.00",
        "1.9400",
        "194.0000",
    )
    assert (rows[q]["last_year"]["total_cost"], rows[q]["change_last_year"]) == ("800.00", "1.4250")
    assert (now[r]["costs"], now[r]["total_cost"], now[r]["cost_per_area"], now[r]["floor_area_m2"]) == (
        [],
        None,
        None,
        "1000",
    )
    assert now[r]["reasons"] == {"total_cost": "no_cost", "cost_per_area": "no_cost", "cost_per_capita": "no_cost"}
    # The 2024 row of R and P: no floor area or headcount stated that year either, and said so.
    assert rows[r]["last_year"]["reasons"]["floor_area_m2"] == "no_floor_area"

    city = await client.get("/energy/costs", headers=unit, params={**YEAR, "organisation_id": org, "group": "city"})
    [whole] = city.json()["rows"]
    assert (whole["institutions"], whole["current"]["total_cost"]) == (3, "3508.00")
    assert (whole["current"]["cost_per_area"], whole["current"]["cost_per_capita"]) == ("1.7540", "175.4000")

    # The files hold the same figures.
    book = await client.get("/energy/costs.xlsx", headers=unit, params={**YEAR, "organisation_id": org})
    assert book.status_code == 200, book.text
    sheet = openpyxl.load_workbook(io.BytesIO(book.content)).worksheets[0]
    header = [c.value for c in sheet[1]]
    cells = [dict(zip(header, [c.value for c in row], strict=True)) for row in sheet.iter_rows(min_row=2)]
    assert [(c["单位编号"], c["费用合计（元）"]) for c in cells] == [(p, 1568), (q, 1940), (r, None)]
    assert cells[2]["缺数原因"] == "无费用: cost_per_area; 无费用: cost_per_capita; 无费用: total_cost"
    text = await client.get("/energy/costs.csv", headers=unit, params={**YEAR, "organisation_id": org})
    assert text.status_code == 200, text.text
    lines = list(csv.DictReader(io.StringIO(csv_body(text.text))))
    assert [(x["institution_id"], x["heat_yuan"], x["natural_gas_yuan"], x["change_last_year"]) for x in lines] == [
        (p, "", "", ""),
        (q, "940.00", "1000.00", "1.4250"),
        (r, "", "", ""),
    ]
    assert Decimal(lines[1]["total_yuan"]) == 1940
