"""The survey of the small city once bills, delivery notes, a heating bill, a declared source and fuel statements are
entered (tests/support/survey_sources.py says each by hand): every new figure in the JSON, the forms and the
summaries; the source that counts and never the sum of both; vehicle fuel apart from other use; heating from the
heating bills, and null with the reason where nothing tells it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import jsonschema

from api.survey import machine
from tests.support.api import AsUser
from tests.support.survey import YEAR, records, sheets, small_city
from tests.support.survey_sources import enter_sources
from yiwang.settings import Settings

SCHEMA = Path(__file__).parents[3] / "docs" / machine.NAME
Cell = tuple[str | None, str | None, str | None, str | None]  # value, cost, reason, cost reason


def _cells(institution: dict[str, Any], codes: set[str]) -> dict[str, Cell]:
    return {
        row["code"]: (row["value"], row["cost"], row["reason"], row["cost_reason"])
        for rows in institution["forms"].values()
        for row in rows
        if row["code"] in codes and row["room"] is None
    }


# What each institution's consumption rows hold now, by hand (tests/support/survey_sources.py).
A1: dict[str, Cell] = {
    # The meter counts (22,500 kWh), not the March bill (25,000) nor their sum (47,500); the cost is the bill's.
    "E01": ("22500", "20000", None, None),
    "E011": (None, None, "not_reported", "not_reported"),
    "E05": ("39.2", "390", None, None),  # 29.2 kg from the card + 10 kg entered by hand
    "E051": ("29.2", "300", None, None),  # 40 L x 0.73
    "E052": ("10", "90", None, None),
    "E06": ("17.2", "150", None, None),  # 20 L x 0.86, bought before the car retired
    "E061": ("17.2", "150", None, None),
    "E062": (None, None, "not_reported", "not_reported"),
    "E03": (None, None, "not_reported", "not_reported"),
    "H11": (None, None, "heating_unmetered", "heating_not_entered"),  # the meters do not tell heating's share
    "H12": (None, None, "not_reported", "not_reported"),
}
A2: dict[str, Cell] = {
    "E01": ("12000", "9000", None, None),
    "E03": ("5", "4000", None, None),  # 5 t of coal
    "E08": ("122", "6100", None, None),  # 240 GJ x 61 / 120 days
    "H11": (None, None, "heating_not_entered", "heating_not_entered"),  # bills, but none for heating
    "H12": ("5", "4000", None, None),
    "H15": ("122", "6100", None, None),
    "H17": (None, None, "no_source", None),
}
B1: dict[str, Cell] = {
    # Staff declared the bills the source: 50 m³, not the meter's 45 nor 95.
    "E04": ("50", "150", None, None),
    "E07": ("30", "240", None, None),
    "E01": ("50", "60", None, None),  # the plug-in hybrid's charging, its only electricity
    "E011": ("50", "60", None, None),
    "H13": (None, None, "heating_not_entered", "heating_not_entered"),
}


async def test_bills_notes_heating_and_fuel_statements_fill_the_survey_from_the_source_that_counts(
    client: httpx.AsyncClient, as_user: AsUser, api_settings: Settings, tag: str
) -> None:
    city = await small_city(api_settings.database_url, tag)
    staff = await as_user("energy_staff")
    units = (await as_user("unit_user", city.a), await as_user("unit_user", city.b))
    await enter_sources(client, staff=staff, units=units, city=city, tag=tag)

    response = await client.get(f"/survey/{YEAR}.json", headers=staff)
    assert response.status_code == 200, response.text
    body = response.json()
    jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text(encoding="utf-8"))).validate(body)
    ours = {i["id"]: i for i in body["institutions"] if i["id"].startswith(f"s-{tag}-")}
    for institution, expected in ((city.a1, A1), (city.a2, A2), (city.b1, B1)):
        assert _cells(ours[institution], set(expected)) == expected, institution
    # Nothing else became a figure: every other consumption row is still null, with its reason.
    metered = {city.a1: {"E02"}, city.a2: set(), city.b1: set()}  # a1's water meter (b1's gas is listed)
    for institution, expected in ((city.a1, A1), (city.a2, A2), (city.b1, B1)):
        forms = ours[institution]["forms"]
        for row in forms["energy"] + [r for r in forms["heating"] if not r["code"].startswith("H0")]:
            if row["code"] not in set(expected) | metered[institution]:
                assert (row["value"], row["cost"]) == (None, None), (institution, row)
                assert row["reason"], (institution, row)

    forms = sheets(
        (
            await client.get(
                f"/survey/{YEAR}/forms.xlsx", headers=staff, params={"organisation_id": city.a, "language": "zh"}
            )
        ).content
    )
    energy = {(r["机构编号"], r["代码"]): r for r in records(forms["公共机构能源资源消费状况"])}
    assert (energy[(city.a1, "E01")]["实物量（数值）"], energy[(city.a1, "E01")]["金额（元）"]) == (22500, 20000)
    assert (energy[(city.a1, "E051")]["实物量（数值）"], energy[(city.a1, "E052")]["实物量（数值）"]) == (29.2, 10)
    assert (energy[(city.a2, "E08")]["实物量（数值）"], energy[(city.a2, "E08")]["金额（元）"]) == (122, 6100)
    heating = {(r["机构编号"], r["代码"]): r for r in records(forms["采暖能源资源消费状况"])}
    assert (heating[(city.a2, "H15")]["实物量（数值）"], heating[(city.a2, "H15")]["金额（元）"]) == (122, 6100)
    assert (heating[(city.a2, "H12")]["实物量（数值）"], heating[(city.a2, "H12")]["金额（元）"]) == (5, 4000)
    h11 = heating[(city.a1, "H11")]
    assert (h11["实物量（数值）"], h11["金额（元）"]) == (None, None)
    assert h11["说明"] == "数值：以计量为准，计量不分采暖用量；金额：本年无此类采暖账单或录入"

    admin = await as_user("admin")

    def cell(rows: list[dict[str, Any]], group: str, code: str) -> tuple[Any, ...]:
        [row] = [r for r in rows if r["分组代码"] == group and r["代码"] == code]
        return row["实物量（数值）"], row["已填报"], row["应填报"], row["金额（元）"]

    summary = records(
        sheets((await client.get(f"/survey/{YEAR}/summary.xlsx", headers=admin, params={"by": "department"})).content)[
            "部门汇总"
        ]
    )
    # 委员会: a1 and a2 (its bureau's).
    assert cell(summary, city.root, "E01") == (34500, 2, 2, 29000)  # 22,500 metered + 12,000 billed
    assert cell(summary, city.root, "E03") == (5, 1, 2, 4000)
    assert cell(summary, city.root, "E05") == (39.2, 1, 2, 390)
    assert cell(summary, city.root, "E051") == (29.2, 1, 2, 300)
    assert cell(summary, city.root, "E061") == (17.2, 1, 2, 150)
    assert cell(summary, city.root, "H12") == (5, 1, 2, 4000)
    assert cell(summary, city.root, "H15") == (122, 1, 2, 6100)
    assert cell(summary, city.root, "H11") == (None, 0, 2, None)  # nobody knows it: empty, not 0
    assert cell(summary, city.other, "E04") == (50, 1, 1, 150)
    assert cell(summary, city.other, "E07") == (30, 1, 1, 240)
    assert cell(summary, city.other, "E011") == (50, 1, 1, 60)

    by_category = records(
        sheets(
            (
                await client.get(
                    f"/survey/{YEAR}/summary.xlsx", headers=admin, params={"by": "category", "organisation_id": city.a}
                )
            ).content
        )["分类汇总"]
    )
    assert cell(by_category, "total", "E01") == (34500, 2, 2, 29000)
    assert cell(by_category, "state_organ", "E052") == (10, 1, 1, 90)
    assert cell(by_category, "education", "H15") == (122, 1, 1, 6100)
