"""The registry through the API: institutions, their yearly figures and meters created, read, changed and listed;
the institutions and meters tables exported as XLSX and CSV and imported back, all rows or none."""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import openpyxl

from db import ingest
from db.pool import open_pool
from domain.registry import YEAR_FACTS, Meter, RegistryDocument
from tests.support.api import AsUser, Units, audit_rows
from tests.support.files import XLSX, csv_body, sheet_rows, upload, workbook
from tests.support.messages import BASE_TIME
from tests.support.registry import import_registry
from tests.support.rollups import settle
from yiwang.settings import Settings


def institution(tag: str, organisation: str, n: int = 1, **fields: Any) -> dict[str, Any]:
    return {
        "id": f"i-{tag}-{n}",
        "organisation_id": organisation,
        "name": f"第{n}中学 {tag}",
        "category": "school",
    } | fields


def in_year(year: int, **facts: Any) -> dict[str, Any]:
    """An institution's facts of a year as the API answers them: those not given are null (not known)."""
    return dict.fromkeys(YEAR_FACTS) | {"year": year} | facts


def meter(tag: str, institution_id: str, n: int = 1, **fields: Any) -> dict[str, Any]:
    return {
        "id": f"m-{tag}-{n}",
        "institution_id": institution_id,
        "energy_type": "electricity",
        "unit": "kWh",
    } | fields


async def test_institutions_are_created_read_changed_and_listed(
    client: httpx.AsyncClient, units: Units, as_user: AsUser, tag: str, api_settings: Settings
) -> None:
    staff = await as_user("energy_staff")
    body = institution(tag, units.a.organisation, district="东湖区", latitude=28.68, key_energy_unit=True)
    created = await client.post("/institutions", headers=staff, json=body)
    assert created.status_code == 201, created.text
    [audit] = audit_rows(
        api_settings.database_url, "endpoint = '/institutions' AND %s = ANY(resource_ids)", (body["id"],)
    )
    assert (audit["action"], audit["method"], audit["status"]) == ("registry:write", "POST", 201)
    assert audit["params"] == body | {"longitude": None, "in_assessment": False}
    expected = body | {"longitude": None, "in_assessment": False}
    assert created.json() == expected
    assert (await client.get(f"/institutions/{body['id']}", headers=staff)).json() == expected

    changed = await client.patch(
        f"/institutions/{body['id']}", headers=staff, json={"name": "第一中学", "district": None, "in_assessment": True}
    )
    assert changed.status_code == 200, changed.text
    expected |= {"name": "第一中学", "district": None, "in_assessment": True}
    assert changed.json() == expected
    listed = await client.get("/institutions", headers=staff, params={"organisation_id": units.a.organisation})
    assert {i["id"]: i for i in listed.json()["items"]}[body["id"]] == expected

    path = f"/institutions/{body['id']}/years"
    assert (await client.get(path, headers=staff)).json() == []
    put = await client.put(f"{path}/2025", headers=staff, json={"floor_area_m2": 12000.5, "headcount": 640})
    assert put.json() == in_year(2025, floor_area_m2=12000.5, headcount=640)
    await client.put(f"{path}/2024", headers=staff, json={"headcount": 600})
    assert (await client.get(path, headers=staff)).json() == [
        in_year(2024, floor_area_m2=None, headcount=600),
        in_year(2025, floor_area_m2=12000.5, headcount=640),
    ]
    # Nothing known of a year: no figures for it.
    await client.put(f"{path}/2024", headers=staff, json={})
    assert [y["year"] for y in (await client.get(path, headers=staff)).json()] == [2025]


async def test_meters_are_created_and_changed_and_a_new_multiplier_recounts_the_meter(
    client: httpx.AsyncClient, units: Units, as_user: AsUser, tag: str, api_settings: Settings
) -> None:
    staff = await as_user("energy_staff")
    body = meter(tag, units.a.institution, sub_item="air_conditioning", installed_on="2024-03-01")
    created = await client.post("/meters", headers=staff, json=body)
    assert created.status_code == 201, created.text
    assert created.json() == body | {
        "organisation_id": units.a.organisation,
        "multiplier": 1.0,
        "register_max": None,
        "max_rate": None,
        "replaced_on": None,
        "reading_interval_seconds": 900,
    }
    assert await consumed(api_settings, body["id"], registers=[100, 110, 125]) == 25

    changed = await client.patch(f"/meters/{body['id']}", headers=staff, json={"replaced_on": "2025-06-30"})
    assert changed.status_code == 200, changed.text
    assert changed.json() == created.json() | {"replaced_on": "2025-06-30"}
    # A multiplier that held from before the readings (the registry had it wrong): they are counted again with it.
    change = {"multiplier": 40, "multiplier_from": BASE_TIME.isoformat(), "max_rate": 1000}
    changed = await client.patch(f"/meters/{body['id']}", headers=staff, json=change)
    assert (changed.json()["multiplier"], changed.json()["max_rate"]) == (40.0, 1000.0)
    assert await consumed(api_settings, body["id"]) == 25 * 40


async def consumed(settings: Settings, meter_id: str, registers: Sequence[float] = ()) -> Decimal:
    """What the roll-up counts of a meter once it settles, after storing `registers` an hour apart."""
    async with open_pool(settings.database_url, max_size=2, configure=ingest.prepare_connection) as pool:
        if registers:
            received = datetime.now(UTC)
            rows = [(meter_id, BASE_TIME + timedelta(hours=n), value, received) for n, value in enumerate(registers)]
            async with pool.connection() as conn, conn.transaction():
                await ingest.insert_readings(conn, rows)
        await settle(pool, [meter_id])
        async with pool.connection() as conn:
            cur = await conn.execute(
                "SELECT coalesce(sum(amount), 0) FROM consumption_day WHERE meter_id = %s", [meter_id]
            )
            row = await cur.fetchone()
    assert row is not None
    return Decimal(row[0])


async def test_a_taken_id_is_409(client: httpx.AsyncClient, units: Units, as_user: AsUser, tag: str) -> None:
    staff = await as_user("admin")
    # Another organisation's institution: the id is taken all the same.
    taken = await client.post(
        "/institutions", headers=staff, json=institution(tag, units.a.organisation) | {"id": units.b.institution}
    )
    assert taken.status_code == 409
    b = units.b.institution
    assert taken.json()["detail"] == f"there is already an institution {b}: change it with PATCH /institutions/{b}"
    again = await client.post(
        "/meters", headers=staff, json=meter(tag, units.a.institution) | {"id": units.a.meters[0]}
    )
    assert again.status_code == 409
    assert again.json()["detail"].startswith(f"there is already a meter {units.a.meters[0]}")


async def test_what_does_not_fit_is_422_with_the_reason(
    client: httpx.AsyncClient, units: Units, as_user: AsUser, tag: str
) -> None:
    staff = await as_user("energy_staff")

    async def refused(method: str, path: str, body: dict[str, Any]) -> Any:
        response = await client.request(method, path, headers=staff, json=body)
        assert response.status_code == 422, response.text
        return response.json()["detail"]

    assert await refused("POST", "/institutions", institution(tag, "no-such-org")) == (
        "no organisation no-such-org: give the id of an existing organisation (GET /organisations)"
    )
    assert await refused("POST", "/meters", meter(tag, "no-such-inst")) == (
        "no institution no-such-inst: give the id of an existing institution (GET /institutions)"
    )
    # Rules of the whole item are FastAPI's list of what does not fit, as the schema's rules are.
    wrong_unit = await refused("POST", "/meters", meter(tag, units.a.institution, unit="m3"))
    assert wrong_unit[0]["msg"] == "Value error, electricity meters count in one of MWh, kWh, not 'm3'"
    water = meter(tag, units.a.institution, energy_type="water", unit="m3", sub_item="power")
    assert (await refused("POST", "/meters", water))[0]["msg"] == (
        "Value error, a sub-item (分项) belongs to electricity meters, not to a water meter"
    )
    # A change is checked on the whole meter it makes.
    assert await refused("PATCH", f"/meters/{units.a.meters[0]}", {"energy_type": "heat"}) == (
        "heat meters count in one of GJ, MJ, not 'kWh'"
    )
    assert await refused(
        "PATCH", f"/meters/{units.a.meters[0]}", {"installed_on": "2025-01-02", "replaced_on": "2025-01-01"}
    ) == ("replaced on 2025-01-01 is before installed on 2025-01-02")
    assert await refused("PATCH", f"/institutions/{units.a.institution}", {"organisation_id": "no-such-org"}) == (
        "no organisation no-such-org: give the id of an existing organisation (GET /organisations)"
    )
    # The schema's own rules: FastAPI's list of what does not fit.
    schema = await client.post(
        "/institutions", headers=staff, json=institution(tag, units.a.organisation, category="zoo")
    )
    assert schema.status_code == 422
    assert schema.json()["detail"][0]["loc"] == ["body", "category"]
    nul = await client.patch(f"/institutions/{units.a.institution}", headers=staff, json={"name": "a\x00b"})
    assert nul.status_code == 422
    assert (
        await client.put(f"/institutions/{units.a.institution}/years/1999", headers=staff, json={})
    ).status_code == 422
    for path in (f"/institutions/no-{tag}", f"/meters/no-{tag}"):
        assert (await client.patch(path, headers=staff, json={})).status_code == 404
    assert (await client.put(f"/institutions/no-{tag}/years/2025", headers=staff, json={})).status_code == 404


async def test_a_unit_user_cannot_write_and_exports_only_its_units_institutions(
    client: httpx.AsyncClient, units: Units, as_user: AsUser, tag: str
) -> None:
    headers = await as_user("unit_user", units.a.organisation)
    writes = [
        client.post("/institutions", headers=headers, json=institution(tag, units.a.organisation)),
        client.patch(f"/institutions/{units.a.institution}", headers=headers, json={"name": "x"}),
        client.put(f"/institutions/{units.a.institution}/years/2025", headers=headers, json={"headcount": 3}),
        client.post("/meters", headers=headers, json=meter(tag, units.a.institution)),
        client.patch(f"/meters/{units.a.meters[0]}", headers=headers, json={"max_rate": 3}),
        upload(client, "/registry/institutions", headers, workbook([["单位编号"], [units.a.institution]])),
        upload(client, "/registry/meters", headers, workbook([["表计编号"], [units.a.meters[0]]])),
    ]
    for write in writes:
        response = await write
        assert response.status_code == 403, response.text
        assert response.json()["detail"] == "the role unit_user does not have the permission registry:write"

    xlsx = await client.get("/registry/institutions.xlsx", headers=headers)
    assert [row[0] for row in sheet_rows(xlsx.content)[1:]] == [units.a.institution]
    text = (await client.get("/registry/meters.csv", headers=headers)).content.decode("utf-8-sig")
    assert sorted(row["表计编号"] for row in csv.DictReader(io.StringIO(csv_body(text)))) == sorted(units.a.meters)
    # For systems: English headers, codes, no byte-order mark.
    params = {"language": "en", "bom": "false", "year": "2025"}
    english = await client.get("/registry/institutions.csv", headers=headers, params=params)
    assert english.headers["content-disposition"] == 'attachment; filename="institutions-2025.csv"'
    [row] = list(csv.DictReader(io.StringIO(csv_body(english.content.decode()))))
    assert (row["Institution id"], row["Category"], row["Key energy-using unit"], row["Year"]) == (
        units.a.institution,
        "agency",
        "no",
        "2025",
    )
    # Another unit's items are not there to export, nor to see.
    assert (await client.get(f"/institutions/{units.b.institution}/years", headers=headers)).status_code == 404


async def test_the_xlsx_export_holds_what_the_api_says_in_chinese_or_english(
    client: httpx.AsyncClient, units: Units, as_user: AsUser, tag: str
) -> None:
    staff = await as_user("energy_staff")
    body = institution(
        tag, units.a.organisation, category="hospital", latitude=28.6, longitude=115.9, in_assessment=True
    )
    await client.post("/institutions", headers=staff, json=body)
    await client.put(
        f"/institutions/{body['id']}/years/2025", headers=staff, json={"floor_area_m2": 42000, "headcount": 1800}
    )
    await client.post(
        "/meters", headers=staff, json=meter(tag, body["id"], sub_item="lighting_socket", installed_on="2024-05-01")
    )
    unit = await as_user("unit_user", units.a.organisation)

    response = await client.get("/registry/institutions.xlsx", headers=unit, params={"year": 2025})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == XLSX
    assert response.headers["content-disposition"] == 'attachment; filename="institutions-2025.xlsx"'
    header, *rows = sheet_rows(response.content)
    assert header[:12] == [
        "单位编号", "所属组织编号", "单位名称", "类别", "区县", "纬度", "经度",
        "重点用能单位", "纳入在线考核", "年度", "建筑面积（m²）", "用能人数",
    ]  # fmt: skip
    # Then what the statistics survey asks of the year (tests/api/registry/test_survey_facts.py).
    assert header[12:14] == ["统一社会信用代码", "主管部门编号"]
    exported = {row[0]: row for row in rows}
    assert set(exported) == {units.a.institution, body["id"]}
    api = (await client.get(f"/institutions/{body['id']}", headers=unit)).json()
    assert exported[body["id"]][:12] == [
        api["id"], api["organisation_id"], api["name"], "医院", None, api["latitude"], api["longitude"],
        "否", "是", "2025", 42000, 1800,
    ]  # fmt: skip
    assert exported[units.a.institution][9:12] == ["2025", None, None]  # no figures of 2025

    english = await client.get("/registry/institutions.xlsx", headers=unit, params={"year": 2025, "language": "en"})
    header, *rows = sheet_rows(english.content)
    assert header[:4] == ["Institution id", "Organisation id", "Name", "Category"]
    assert {row[0]: row for row in rows}[body["id"]][3] == "hospital"

    meters = sheet_rows((await client.get("/registry/meters.xlsx", headers=unit)).content)
    assert meters[0] == [
        "表计编号", "单位编号", "单位名称", "能源品种", "计量单位", "用电分项",
        "倍率", "表码上限", "每小时最大用量", "安装日期", "更换日期", "上报间隔（秒）",
    ]  # fmt: skip
    row = {r[0]: r for r in meters[1:]}[f"m-{tag}-1"]
    assert row[:7] == [f"m-{tag}-1", body["id"], body["name"], "电力", "kWh", "照明插座", 1]
    assert row[9].date() == date(2024, 5, 1)
    assert row[11] == 900  # the reading interval's default
    assert len(meters) == 1 + len(units.a.meters) + 1


async def test_an_exported_workbook_edited_in_excel_imports_back(
    client: httpx.AsyncClient, units: Units, as_user: AsUser, tag: str, api_settings: Settings
) -> None:
    staff = await as_user("energy_staff")
    await client.put(f"/institutions/{units.a.institution}/years/2025", headers=staff, json={"headcount": 100})
    # A unit's own export, so that the file holds this test's items only.
    unit = await as_user("unit_user", units.a.organisation)
    exported = await client.get("/registry/institutions.xlsx", headers=unit, params={"year": 2025})

    book = openpyxl.load_workbook(io.BytesIO(exported.content))
    sheet = book.worksheets[0]
    assert sheet["A2"].value == units.a.institution
    sheet["C2"] = "改名后的机关"
    sheet["D2"] = "事业单位"
    sheet["H2"] = "是"
    sheet["L2"] = 120
    sheet.append(
        [f"i-{tag}-new", units.a.organisation, "新单位", "社区", None, None, None, None, None, 2025, 800.5, 12]
    )
    edited = io.BytesIO()
    book.save(edited)

    response = await upload(client, "/registry/institutions", staff, edited.getvalue(), "名录.xlsx")
    assert response.status_code == 200, response.text
    assert response.json() == {"rows": 2, "created": 1, "updated": 1, "years": 2}
    [audit] = audit_rows(
        api_settings.database_url,
        "endpoint = '/registry/institutions' AND params->>'file' = %s AND user_name LIKE %s",
        ("名录.xlsx", f"%{tag}%"),
    )
    assert audit["action"] == "registry:write"
    assert audit["params"] == {
        "file": "名录.xlsx",
        "bytes": len(edited.getvalue()),
        "sha256": hashlib.sha256(edited.getvalue()).hexdigest(),
        "rows": 2,
        "created": 1,
        "updated": 1,
        "years": 2,
    }
    changed = (await client.get(f"/institutions/{units.a.institution}", headers=staff)).json()
    assert (changed["name"], changed["category"], changed["key_energy_unit"]) == (
        "改名后的机关",
        "public_institution",
        True,
    )
    years = (await client.get(f"/institutions/{units.a.institution}/years", headers=staff)).json()
    assert years == [in_year(2025, floor_area_m2=None, headcount=120)]
    new = (await client.get(f"/institutions/i-{tag}-new/years", headers=staff)).json()
    assert new == [in_year(2025, floor_area_m2=800.5, headcount=12)]


async def test_the_meters_csv_imports_back_and_a_changed_multiplier_recounts(
    client: httpx.AsyncClient, units: Units, as_user: AsUser, api_settings: Settings
) -> None:
    staff = await as_user("energy_staff")
    assert await consumed(api_settings, units.a.meters[0], registers=[10, 12.5]) == Decimal("2.5")
    unit = await as_user("unit_user", units.a.organisation)
    text = (await client.get("/registry/meters.csv", headers=unit)).content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(csv_body(text))))
    assert [r["能源品种"] for r in rows] == ["电力", "电力"]
    rows[0]["倍率"] = "1,200"  # as Excel writes a number it shows with a thousands separator
    rows[1]["更换日期"] = "2025/7/1"  # as Excel writes a date into a CSV on Chinese Windows
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)

    # Saved by Excel's "CSV (逗号分隔)" on Chinese Windows: GB18030, not UTF-8.
    response = await upload(client, "/registry/meters", staff, out.getvalue().encode("gb18030"), "meters.csv")
    assert response.status_code == 200, response.text
    assert response.json() == {"rows": 2, "created": 0, "updated": 2, "years": 0}
    first, second = [(await client.get(f"/meters/{m}", headers=staff)).json() for m in units.a.meters]
    assert first["multiplier"] == 1200.0
    assert second["replaced_on"] == "2025-07-01"
    # The sheet dates no multiplier: the new one holds from the import on, and the days counted before keep theirs.
    history = (await client.get(f"/meters/{units.a.meters[0]}/multipliers", headers=staff)).json()
    assert [h["multiplier"] for h in history] == [1, 1200]
    assert await consumed(api_settings, units.a.meters[0]) == Decimal("2.5")


async def test_a_multiplier_changed_through_the_registry_import_recounts_as_the_api_does(
    client: httpx.AsyncClient, units: Units, as_user: AsUser, api_settings: Settings
) -> None:
    """`yiwang registry import` is the third way to change a meter: it recounted nothing, so the figures kept the
    old multiplier while the same change through PATCH /meters or a spreadsheet recounted. (A multiplier dated from
    before the readings: they are counted again with it.)"""
    staff = await as_user("energy_staff")
    meter_id = units.a.meters[1]
    assert await consumed(api_settings, meter_id, registers=[10, 12.5]) == Decimal("2.5")
    stored = (await client.get(f"/meters/{meter_id}", headers=staff)).json()
    fields = {name: stored[name] for name in Meter.model_fields if name in stored}
    changed = Meter(**fields | {"multiplier": 40, "multiplier_from": BASE_TIME})
    await import_registry(api_settings.database_url, RegistryDocument(meters=[changed]))
    assert await consumed(api_settings, meter_id) == Decimal("2.5") * 40


async def test_a_csv_with_chinese_headers_adds_institutions_and_their_years(
    client: httpx.AsyncClient, units: Units, as_user: AsUser, tag: str
) -> None:
    staff = await as_user("energy_staff")
    org = units.b.organisation
    text = (
        "单位编号,所属组织编号,单位名称,类别,重点用能单位,年度,建筑面积（m²）,用能人数\n"
        f"i-{tag}-1,{org},市第一人民医院,医院,是,2024,42000,1800\n"
        f"i-{tag}-1,{org},市第一人民医院,医院,是,2025,45500,1900\n"
        f"i-{tag}-2,{org},市体育馆,场馆,否,2025,,\n"
    )
    response = await upload(client, "/registry/institutions", staff, text.encode(), "名录.csv")
    assert response.status_code == 200, response.text
    assert response.json() == {"rows": 3, "created": 2, "updated": 0, "years": 2}
    first = (await client.get(f"/institutions/i-{tag}-1", headers=staff)).json()
    assert (first["category"], first["key_energy_unit"], first["in_assessment"]) == ("hospital", True, False)
    assert (await client.get(f"/institutions/i-{tag}-1/years", headers=staff)).json() == [
        in_year(2024, floor_area_m2=42000.0, headcount=1800),
        in_year(2025, floor_area_m2=45500.0, headcount=1900),
    ]
    assert (await client.get(f"/institutions/i-{tag}-2/years", headers=staff)).json() == []

    # A file of ids and one column changes that column only.
    only = f"id,in_assessment\ni-{tag}-2,yes\n"
    assert (await upload(client, "/registry/institutions", staff, only.encode(), "x.csv")).status_code == 200
    second = (await client.get(f"/institutions/i-{tag}-2", headers=staff)).json()
    assert (second["name"], second["category"], second["in_assessment"]) == ("市体育馆", "venue", True)


async def test_bad_rows_are_all_reported_by_number_and_nothing_is_written(
    client: httpx.AsyncClient, units: Units, as_user: AsUser, tag: str
) -> None:
    staff = await as_user("energy_staff")
    org = units.a.organisation
    rows = [
        ["单位编号", "所属组织编号", "单位名称", "类别", "纬度", "年度", "用能人数"],
        [f"i-{tag}-good", org, "好单位", "学校", 28.6, 2025, 10],
        [],  # an empty row keeps its number
        [f"i-{tag}-bad", org, "坏单位", "动物园", 128.6, 2025, 10],
        [f"i-{tag}-orphan", "no-such-org", "无主单位", "学校", None, 2025, -3],
        [units.a.institution, org, "改名", "党政机关", None, None, None],
    ]
    response = await upload(client, "/registry/institutions", staff, workbook(rows))
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["detail"] == (
        "4 problems in 2 rows; nothing was imported: correct the rows and send the whole file again"
    )
    assert body["problems"] == [
        {"row": 4, "column": "类别", "reason": "'动物园' is none of 党政机关 (agency), 事业单位 (public_institution), "
         "学校 (school), 医院 (hospital), 社区 (community), 场馆 (venue)"},
        {"row": 4, "column": "纬度", "reason": "Input should be less than or equal to 90"},
        {"row": 5, "column": "所属组织编号",
         "reason": "no organisation no-such-org: give the id of an existing organisation"},
        {"row": 5, "column": "用能人数", "reason": "Input should be greater than 0"},
    ]  # fmt: skip
    # The good rows of the file were not written either.
    assert (await client.get(f"/institutions/i-{tag}-good", headers=staff)).status_code == 404
    assert (await client.get(f"/institutions/{units.a.institution}", headers=staff)).json()["name"] != "改名"


async def test_a_file_that_is_no_registry_table_is_refused_with_what_to_do(
    client: httpx.AsyncClient, units: Units, as_user: AsUser, tag: str
) -> None:
    staff = await as_user("energy_staff")

    async def refused(content: bytes, path: str = "/registry/institutions") -> Any:
        response = await upload(client, path, staff, content)
        assert response.status_code == 422, response.text
        return response.json()

    header = await refused(workbook([["单位编号", "单位名字", "用能人数"], ["x", "y", 1]]))
    assert [(p["row"], p["column"], p["reason"].split(";")[0]) for p in header["problems"]] == [
        (1, "单位名字", "no such column"),
        (1, "年度", "no such column, which 用能人数 needs: add it"),
    ]
    inst = units.a.institution
    meters = f"id,institution_id,energy_type\nm-{tag},{inst},电力\nm-{tag},{inst},水\n".encode()
    assert [(p["row"], p["column"], p["reason"]) for p in (await refused(meters, "/registry/meters"))["problems"]] == [
        (2, "unit", "is needed for a new meter: add the column"),
        (3, "unit", "is needed for a new meter: add the column"),
    ]
    big = f"单位编号,年度,用能人数\n{inst},2025,3000000000\n".encode()
    assert (await refused(big))["problems"] == [
        {"row": 2, "column": "用能人数", "reason": "Input should be less than or equal to 2147483647"}
    ]
    twice = f"表计编号,能源品种\n{units.a.meters[0]},电力\n{units.a.meters[0]},电力\n".encode()
    assert (await refused(twice, "/registry/meters"))["problems"] == [
        {"row": 3, "column": "表计编号", "reason": "is also in row 2"}
    ]
    assert (await refused(b""))["detail"] == (
        "the file is empty: its first row names the columns, the rows below it hold the items"
    )
    assert (await refused(b"\xff\xfe\x00\xd8\x00"))["detail"] == (
        "the file is neither an XLSX workbook nor CSV text in UTF-8 or GB18030: save it as .xlsx or as CSV UTF-8"
    )
    assert (await refused(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"))["detail"] == (
        "the file is an old Excel workbook (.xls): save it as .xlsx or CSV and send that"
    )
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("notes.txt", "not a workbook")
    assert (await refused(archive.getvalue()))["detail"].startswith(
        "the file is a zip but not an XLSX workbook that can be read"
    )
    no_file = await client.post("/registry/institutions", headers=staff, files={"other": ("a.csv", b"id\n")})
    assert no_file.status_code == 422
    assert no_file.json()["detail"].startswith("there is no file in the field 'file'")
    not_multipart = await client.post("/registry/institutions", headers=staff, content=b"id\n")
    assert not_multipart.status_code == 422
    too_large = await upload(client, "/registry/institutions", staff, b"id\n" + b"x" * (10 * 1024 * 1024))
    assert too_large.status_code == 413
    assert too_large.json()["detail"] == "the file is larger than 10 MB: split it into several files"
    too_long = await upload(client, "/registry/meters", staff, b"id\n" + b"m\n" * 50_001, "long.csv")
    assert too_long.status_code == 413
    assert too_long.json()["detail"] == "the file has more than 50,000 rows: split it into several files"
