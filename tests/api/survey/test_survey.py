"""The survey of a small city (tests/support/survey.py), every figure by hand: the forms as JSON (valid against
docs/survey.schema.json) and XLSX, nulls with their reasons where nothing was reported, the summaries by
department (a department covering those under it), category and division, the institution outside the survey left
out, and a unit user held to their own institutions."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import jsonschema

from api.survey import machine
from tests.support.api import AsUser, audit_rows, person
from tests.support.survey import CREDIT_CODE, YEAR, City, caption, records, sheets, small_city
from yiwang.settings import Settings

SCHEMA = Path(__file__).parents[3] / "docs" / machine.NAME
NOT_ASKED_IN_2025 = {"B02", "B20", "B30", "B31", "B32", "D05", "D07"}


def _values(institution: dict[str, Any]) -> dict[tuple[str, str | None], tuple[str | None, str | None]]:
    """Every row given a value or a cost: (code, room) -> (value, cost)."""
    return {
        (row["code"], row["room"]): (row["value"], row["cost"])
        for rows in institution["forms"].values()
        for row in rows
        if row["value"] is not None or row["cost"] is not None
    }


async def _json(client: httpx.AsyncClient, headers: dict[str, str], **params: str) -> dict[str, Any]:
    response = await client.get(f"/survey/{YEAR}.json", headers=headers, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text(encoding="utf-8"))).validate(body)
    return body


async def test_every_figure_of_each_form_is_the_hand_computed_one_and_missing_is_null_with_a_reason(
    client: httpx.AsyncClient, as_user: AsUser, api_settings: Settings, tag: str
) -> None:
    city = await small_city(api_settings.database_url, tag)
    staff = await as_user("energy_staff")
    body = await _json(client, staff)
    assert (body["format"], body["version"], body["year"]) == ("yiwang-survey", 1, YEAR)
    ours = {i["id"]: i for i in body["institutions"] if i["id"].startswith(f"s-{tag}-")}
    assert set(ours) == {city.a1, city.a2, city.b1}  # a3 is not in the year's survey

    a1, a2, b1 = ours[city.a1], ours[city.a2], ours[city.b1]
    assert (a1["credit_code"], a1["department_id"], a1["division_code"], a1["category"]) == (
        CREDIT_CODE,
        city.root,
        "360102",
        "state_organ",
    )
    assert _values(a1) == {
        ("B01", None): ("1000", None),
        ("B03", None): ("20", None),
        ("B04", None): ("25", None),
        ("B10", None): ("2", None),  # the diesel car retired in June is no longer held at the year's end
        ("B11", None): ("1", None),
        ("B12", None): ("0", None),
        ("B13", None): ("1", None),
        ("E01", None): ("22500", None),  # 9 days x 2.5 MWh
        ("E02", None): ("27", None),  # 9 days x 3 t
        ("D01", None): ("0", None),
        ("H01", None): ("800", None),
        ("H011", None): ("800", None),
        ("H02", None): ("120", None),
    }
    assert _values(a2) == {
        ("B01", None): ("500", None),
        ("B10", None): ("0", None),
        ("B11", None): ("0", None),
        ("B12", None): ("0", None),
        ("B13", None): ("0", None),
        ("D01", None): ("1", None),
        ("D02", "主机房"): ("50", None),
        ("D03", "主机房"): ("10", None),
        ("D04", "主机房"): ("35", None),  # 20 + 10 + 5 kW
        ("D041", "主机房"): ("20", None),
        ("D042", "主机房"): ("10", None),
        ("D043", "主机房"): ("5", None),
        ("D06", "主机房"): ("100000", None),
        ("D061", "主机房"): ("60000", None),
        ("D062", "主机房"): ("30000", None),
        ("D063", "主机房"): ("10000", None),
    }
    assert _values(b1) == {
        ("B01", None): ("2000", None),
        ("B03", None): ("100", None),
        ("B04", None): ("110", None),
        ("B10", None): ("1", None),
        ("B11", None): ("0", None),
        ("B12", None): ("0", None),
        ("B13", None): ("1", None),  # a plug-in hybrid is new energy
        ("E04", None): ("45", None),
        ("D01", None): ("0", None),
    }
    rows = {(row["code"], row["room"]): row for rows in a1["forms"].values() for row in rows}
    # Nothing is zero for want of a figure: each empty cell says why.
    assert all(row["reason"] for row in rows.values() if row["value"] is None)
    assert (rows[("B03", None)]["reason"], rows[("B05", None)]["reason"]) == (None, "no_fact")
    assert (rows[("E01", None)]["cost"], rows[("E01", None)]["cost_reason"]) == (None, "no_cost")
    assert rows[("E04", None)]["reason"] == "not_reported"
    assert rows[("H11", None)]["reason"] == "heating_unmetered"  # the meter counts: heating's share is unknown
    assert rows[("H17", None)]["reason"] == "no_source"
    assert not {code for code, _ in rows} & NOT_ASKED_IN_2025  # the 2025 revision's removals
    a2_rows = {row["code"]: row for row in a2["forms"]["basic"]}
    assert (a2_rows["B03"]["value"], a2_rows["B03"]["reason"]) == (None, "no_fact")  # no headcount: null, not 0

    forms = await client.get(
        f"/survey/{YEAR}/forms.xlsx", headers=staff, params={"organisation_id": city.a, "language": "zh"}
    )
    assert forms.status_code == 200, forms.text
    book = sheets(forms.content)
    assert list(book) == [
        "公共机构基本信息",
        "公共机构能源资源消费状况",
        "数据中心机房能源消费状况",
        "采暖能源资源消费状况",
        "确认情况",
        "说明",
    ]
    energy = {(r["机构编号"], r["代码"]): r for r in records(book["公共机构能源资源消费状况"])}
    assert {institution for institution, _ in energy} == {city.a1, city.a2}
    e01 = energy[(city.a1, "E01")]
    assert (e01["统一社会信用代码"], e01["计量单位"], e01["实物量（数值）"], e01["金额（元）"]) == (
        CREDIT_CODE,
        "kWh",
        22500,
        None,
    )
    assert e01["说明"] == "金额：本年未报费用"
    assert energy[(city.a2, "E01")]["说明"] == "本年无计量、账单或录入"  # quantity and cost alike
    assert energy[(city.a1, "E09")]["说明"] == "本年无计量、账单或录入"  # no entry of other energy
    heating = {(r["机构编号"], r["代码"]): r for r in records(book["采暖能源资源消费状况"])}
    assert heating[(city.a1, "H17")]["说明"] == (
        "系统无此数据来源；an entry for heating does not say whether it was billed by area or by heat"
    )
    rooms = [r for r in records(book["数据中心机房能源消费状况"]) if r["机房"] == "主机房"]
    assert {r["代码"]: r["实物量（数值）"] for r in rooms}["D04"] == 35
    assert caption(book["公共机构能源资源消费状况"])[:2] == [
        f"公共机构能源资源消费状况（{YEAR}年度）",
        "填报单位：2 个机构（见各行）",
    ]
    one = sheets(
        (await client.get(f"/survey/{YEAR}/forms.xlsx", headers=staff, params={"institution_id": city.a1})).content
    )
    assert caption(one["公共机构基本信息"]) == [
        f"公共机构基本信息（{YEAR}年度）",
        f"填报单位：甲局 {tag}　统一社会信用代码：{CREDIT_CODE}",
        "表号未确认；代码为本系统自编，来源与未确认项见“确认情况”",
    ]
    assert {r["机构编号"] for r in records(one["公共机构基本信息"])} == {city.a1}
    confirmed = records(book["确认情况"])
    assert any(r["代码"] == "B02" and r["本年填报"] == "否" for r in confirmed)  # 用地面积: removed in 2025
    assert any(r["未确认"] and r["代码"] == "E01" for r in confirmed)


async def test_summaries_add_up_the_departments_under_each_and_say_who_did_not_report(
    client: httpx.AsyncClient, as_user: AsUser, api_settings: Settings, tag: str
) -> None:
    city = await small_city(api_settings.database_url, tag)
    admin = await as_user("admin")

    def cell(rows: list[dict[str, Any]], group: str, code: str) -> tuple[Any, ...]:
        [row] = [r for r in rows if r["分组代码"] == group and r["代码"] == code]
        return row["实物量（数值）"], row["已填报"], row["应填报"], row["金额（元）"], row["说明"]

    response = await client.get(f"/survey/{YEAR}/summary.xlsx", headers=admin, params={"by": "department"})
    assert response.status_code == 200, response.text
    book = sheets(response.content)
    assert list(book) == ["部门汇总", "确认情况", "说明"]
    rows = records(book["部门汇总"])
    # 委员会 covers its own a1 and a2 of the bureau under it; a3 (its own, not in the survey) is left out.
    assert cell(rows, city.root, "S01")[0] == 2
    assert cell(rows, city.root, "B01")[:3] == (1500, 2, 2)
    assert cell(rows, city.root, "B03") == (20, 1, 2, None, f"部分合计，未填报：{city.a2}")
    assert cell(rows, city.root, "E01") == (22500, 1, 2, None, f"部分合计，未填报：{city.a2}；金额：无机构填报")
    assert cell(rows, city.root, "E04") == (None, 0, 2, None, "无机构填报")  # nobody reported gas: empty, not 0
    assert cell(rows, city.root, "D02")[:3] == (50, 1, 1)  # over machine rooms
    assert cell(rows, city.root, "D06")[:3] == (100000, 1, 1)
    assert cell(rows, city.root, "H01")[:3] == (800, 1, 2)
    assert cell(rows, city.child, "S01")[0] == 1
    assert cell(rows, city.child, "B01")[:3] == (500, 1, 1)
    assert cell(rows, city.child, "E01")[0] is None
    assert cell(rows, city.other, "B01")[:3] == (2000, 1, 1)
    assert cell(rows, city.other, "E04")[:3] == (45, 1, 1)
    groups = [r["分组代码"] for r in rows if r["代码"] == "S01"]
    assert groups.index(city.root) < groups.index(city.child)  # a department before those under it

    response = await client.get(
        f"/survey/{YEAR}/summary.xlsx", headers=admin, params={"by": "category", "organisation_id": city.a}
    )
    rows = records(sheets(response.content)["分类汇总"])
    counts = {r["分组代码"]: r["实物量（数值）"] for r in rows if r["代码"] == "S01"}
    assert counts == {
        "total": 2,
        "state_organ": 1,
        "public_institution": 1,
        "education": 1,
        "science": 0,
        "culture": 0,  # a3, in culture, is not in the survey
        "health": 0,
        "sports": 0,
        "other_institution": 0,
        "association": 0,
    }
    assert cell(rows, "total", "B01")[:3] == (1500, 2, 2)
    assert cell(rows, "public_institution", "D06")[:3] == (100000, 1, 1)

    response = await client.get(
        f"/survey/{YEAR}/summary.xlsx",
        headers=admin,
        params={"by": "division", "organisation_id": city.a, "language": "en"},
    )
    rows = records(sheets(response.content)["By administrative area"])
    assert {(r["Group"], r["Code"]): r["Quantity (value)"] for r in rows if r["Code"] in ("S01", "E01")} == {
        ("360102", "S01"): 2,
        ("360102", "E01"): 22500,
    }


async def test_a_unit_user_gets_only_their_institutions_in_every_file(
    client: httpx.AsyncClient, as_user: AsUser, api_settings: Settings, tag: str
) -> None:
    city: City = await small_city(api_settings.database_url, tag)
    unit = await as_user("unit_user", city.a)

    body = await _json(client, unit)
    assert {i["id"] for i in body["institutions"]} == {city.a1, city.a2}
    # Asking for the other unit's institutions gives nothing of theirs.
    assert (await _json(client, unit, organisation_id=city.b))["institutions"] == []
    other = await client.get(f"/survey/{YEAR}/forms.xlsx", headers=unit, params={"institution_id": city.b1})
    assert other.status_code == 404
    assert other.json() == {"detail": f"no institution {city.b1} in the survey of {YEAR}"}
    forms = sheets((await client.get(f"/survey/{YEAR}/forms.xlsx", headers=unit)).content)
    assert {r["机构编号"] for r in records(forms["公共机构基本信息"])} == {city.a1, city.a2}
    summary = records(
        sheets((await client.get(f"/survey/{YEAR}/summary.xlsx", headers=unit, params={"by": "department"})).content)[
            "部门汇总"
        ]
    )
    other_department = {r["代码"]: r["实物量（数值）"] for r in summary if r["分组代码"] == city.other}
    assert other_department["S01"] == 0
    assert other_department["B01"] is None  # b1's 2,000 m² is not in a unit A user's file
    assert other_department["E04"] is None
    assert all(r["实物量（数值）"] != Decimal(45) for r in summary if r["代码"] == "E04")


async def test_an_auditors_read_of_the_survey_is_recorded(
    client: httpx.AsyncClient, as_user: AsUser, api_settings: Settings, tag: str
) -> None:
    auditor = await person(client, as_user, "auditor")
    response = await client.get(f"/survey/{YEAR}.json", headers=auditor.headers, params={"organisation_id": "none"})
    assert response.status_code == 200
    [record] = audit_rows(api_settings.database_url, "user_id = %s AND action = 'exports:read'", (auditor.id,))
    assert (record["endpoint"], record["outcome"]) == ("/survey/{year}.json", "ok")
