"""The survey's facts in the registry's files: the institutions table with a year's facts, the supervising
departments and the data-centre rooms exported as XLSX and CSV and imported back unchanged; every bad row named by
its row, column and reason, and nothing written."""

from __future__ import annotations

import io
from typing import Any

import httpx
import openpyxl

from tests.support.api import AsUser, Units
from tests.support.files import sheet_rows, upload, workbook

SCHOOL = "123502001549897397"  # a published code (tests/domain/test_credit_codes.py)


async def survey_city(client: httpx.AsyncClient, staff: dict[str, str], units: Units, tag: str) -> dict[str, Any]:
    """Departments of this test, unit a's facts of 2025 and two data-centre rooms."""
    for body in (
        {"id": f"gov-{tag}", "name": "市人民政府"},
        {"id": f"edu-{tag}", "name": "市教育局", "parent_id": f"gov-{tag}"},
    ):
        assert (await client.post("/departments", headers=staff, json=body)).status_code == 201
    facts = {
        "floor_area_m2": 12000.5,
        "headcount": 640,
        "credit_code": SCHOOL,
        "department_id": f"edu-{tag}",
        "division_code": "360102",
        "survey_category": "education",
        "in_survey": True,
        "staff_quota": 120,
        "heated_area_m2": 9000.0,
        "cooled_area_m2": 11000.0,
        "heated_area_own_m2": 4000.0,
        "heated_area_central_area_m2": 3000.0,
        "heated_area_central_heat_m2": 2000.0,
        "heating_days": 90,
        "hot_water_boiler_kw": 700.0,
        "steam_boiler_t_h": 1.25,
    }
    path = f"/institutions/{units.a.institution}/years/2025"
    assert (await client.put(path, headers=staff, json=facts)).status_code == 200
    rooms = f"/institutions/{units.a.institution}/years/2025/data-centre-rooms"
    big = {"racks": 12, "it_power_kw": 60.5, "electricity_kwh": "480000.25", "it_kwh": "300000.125"}
    assert (await client.put(f"{rooms}/1号机房", headers=staff, json=big)).status_code == 200
    assert (await client.put(f"{rooms}/灾备机房", headers=staff, json={"floor_area_m2": 30})).status_code == 200
    return facts


async def state(client: httpx.AsyncClient, staff: dict[str, str], units: Units, tag: str) -> Any:
    """What the API says of this test's facts, departments and rooms."""
    departments = [(await client.get(f"/departments/{d}-{tag}", headers=staff)).json() for d in ("gov", "edu")]
    years = (await client.get(f"/institutions/{units.a.institution}/years", headers=staff)).json()
    rooms = (await client.get(f"/institutions/{units.a.institution}/data-centre-rooms", headers=staff)).json()
    return departments, years, rooms


async def test_exported_facts_departments_and_rooms_import_back_unchanged(
    client: httpx.AsyncClient, units: Units, as_user: AsUser, tag: str
) -> None:
    staff = await as_user("energy_staff")
    facts = await survey_city(client, staff, units, tag)
    before = await state(client, staff, units, tag)
    assert before[1] == [facts | {"year": 2025}]
    # A unit's own export holds its institutions and rooms only; the departments are everyone's.
    unit = await as_user("unit_user", units.a.organisation)
    year = {"year": 2025}
    files = {
        "institutions": (await client.get("/registry/institutions.xlsx", headers=unit, params=year)).content,
        "data-centre-rooms": (await client.get("/registry/data-centre-rooms.xlsx", headers=unit, params=year)).content,
        "departments": (await client.get("/registry/departments.xlsx", headers=unit)).content,
    }
    header, *rows = sheet_rows(files["institutions"])
    row = dict(zip(header, rows[0], strict=True))
    assert (row["统一社会信用代码"], row["主管部门编号"], row["统计调查类别"], row["纳入统计调查"]) == (
        SCHOOL,
        f"edu-{tag}",
        "教育",
        "是",
    )
    header, *rows = sheet_rows(files["data-centre-rooms"])
    assert header[:4] == ["单位编号", "单位名称", "年度", "机房名称"]
    assert [(r[0], r[2], r[3]) for r in rows] == [
        (units.a.institution, "2025", "1号机房"),
        (units.a.institution, "2025", "灾备机房"),
    ]
    departments = {r[0]: r for r in sheet_rows(files["departments"])[1:]}
    assert departments[f"edu-{tag}"] == [f"edu-{tag}", "市教育局", f"gov-{tag}"]

    for path, content in files.items():
        response = await upload(client, f"/registry/{path}", staff, content, f"{path}.xlsx")
        assert response.status_code == 200, (path, response.text)
        assert response.json()["created"] == 0, path
    assert await state(client, staff, units, tag) == before

    # CSV with English headers and codes, as systems take it, imports back too.
    for path in ("institutions", "data-centre-rooms"):
        params = {"year": "2025", "language": "en"}
        text = (await client.get(f"/registry/{path}.csv", headers=unit, params=params)).content
        response = await upload(client, f"/registry/{path}", staff, text, f"{path}.csv")
        assert response.status_code == 200, (path, response.text)
    assert await state(client, staff, units, tag) == before


async def test_an_edited_workbook_changes_the_facts_it_names_and_keeps_the_rest(
    client: httpx.AsyncClient, units: Units, as_user: AsUser, tag: str
) -> None:
    staff = await as_user("energy_staff")
    facts = await survey_city(client, staff, units, tag)
    # A file of a few columns: those left out keep what is stored.
    rows = [
        ["单位编号", "年度", "编制人数", "采暖天数"],
        [units.a.institution, 2025, 125, 95],
    ]
    response = await upload(client, "/registry/institutions", staff, workbook(rows))
    assert response.status_code == 200, response.text
    years = (await client.get(f"/institutions/{units.a.institution}/years", headers=staff)).json()
    assert years == [facts | {"year": 2025, "staff_quota": 125, "heating_days": 95}]

    exported = await client.get("/registry/data-centre-rooms.xlsx", headers=staff, params={"year": 2025})
    book = openpyxl.load_workbook(io.BytesIO(exported.content))
    sheet = book.worksheets[0]
    sheet.append([units.a.institution, None, 2025, "3号机房", 45, 6])
    out = io.BytesIO()
    book.save(out)
    response = await upload(client, "/registry/data-centre-rooms", staff, out.getvalue())
    assert response.status_code == 200, response.text
    assert (response.json()["created"], response.json()["updated"]) == (1, len(sheet_rows(exported.content)) - 1)
    rooms = (await client.get(f"/institutions/{units.a.institution}/data-centre-rooms", headers=staff)).json()
    assert {r["name"]: (r["floor_area_m2"], r["racks"]) for r in rooms}["3号机房"] == (45.0, 6)


async def test_bad_rows_of_the_survey_tables_are_named_and_nothing_is_written(
    client: httpx.AsyncClient, units: Units, as_user: AsUser, tag: str
) -> None:
    staff = await as_user("energy_staff")
    await survey_city(client, staff, units, tag)
    before = await state(client, staff, units, tag)
    a = units.a.institution

    async def problems(path: str, rows: list[list[Any]]) -> list[tuple[int, str | None, str]]:
        response = await upload(client, path, staff, workbook(rows))
        assert response.status_code == 422, response.text
        return [(p["row"], p["column"], p["reason"]) for p in response.json()["problems"]]

    institutions = await problems(
        "/registry/institutions",
        [
            ["单位编号", "年度", "统一社会信用代码", "行政区划代码", "主管部门编号", "统计调查类别"],
            [a, 2024, "91350211M000100Y43", "360102", f"edu-{tag}", "教育"],
            [a, 2023, 914403001922038216, "36010", f"edu-{tag}", "国家机关"],  # a code typed into a number cell
            [a, 2022, SCHOOL, "360102", f"nope-{tag}", "学校"],
        ],
    )
    assert institutions == [
        (2, "统一社会信用代码", "the check character (校验码) of 91350211M000100Y43 is '3', and GB 32100-2015 gives "
         "'6': a character of the code is mistyped"),
        (3, "统一社会信用代码", "'914403001922038272' is a number that Excel has rounded to 15 digits: format the "
         "cell as text and type the code again"),
        (3, "行政区划代码", "String should match pattern '^[0-9]{6}$'"),
        (4, "统计调查类别", "'学校' is none of 国家机关 (state_organ), 教育 (education), 科技 (science), 文化 "
         "(culture), 卫生 (health), 体育 (sports), 其他事业单位 (other_institution), 团体组织 (association)"),
        (4, "主管部门编号", f"no department nope-{tag}: give the id of an existing department (GET /departments)"),
    ]  # fmt: skip

    departments = await problems(
        "/registry/departments",
        [
            ["主管部门编号", "主管部门名称", "上级主管部门编号"],
            [f"gov-{tag}", "市人民政府", f"edu-{tag}"],  # under its own child
            [f"new-{tag}", "新设部门", f"nope-{tag}"],
            [f"bad {tag}", "空格编号", None],
        ],
    )
    assert departments == [
        (2, "上级主管部门编号", f"department gov-{tag} would be under itself (gov-{tag} → edu-{tag} → gov-{tag}): a "
         "supervising department's chain of parents ends at one without a parent"),
        (3, "上级主管部门编号", f"no department nope-{tag}: give the id of an existing department (GET /departments)"),
        (4, "主管部门编号", "String should match pattern '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$'"),
    ]  # fmt: skip

    rooms = await problems(
        "/registry/data-centre-rooms",
        [
            ["单位编号", "年度", "机房名称", "总用电量（kWh）", "IT设备用电量（kWh）"],
            [a, 2025, "1号机房", 1000, 2000],
            [units.b.institution + "-none", 2025, "机房", None, None],
            [a, 2025, None, 10, None],
            [a, "明年", "2号机房", None, None],
        ],
    )
    assert rooms == [
        (2, None, "the room's electricity by use (IT, cooling, distribution) adds up to 2000 kWh, more than its "
         "total (总用电量) of 1000 kWh"),
        (3, "单位编号", f"no institution {units.b.institution}-none: give the id of an existing institution"),
        (4, "机房名称", "is empty"),
        (5, "年度", "'明年' is not a number"),
    ]  # fmt: skip
    assert await state(client, staff, units, tag) == before
