"""Every export says how it was made (issue 15, "Missing"): the XLSX's last sheet 说明 / About this file and the CSV's
'#' lines hold the period, the time zone, the factor versions and their sources, the data-quality summary (as
GET /energy/quality and GET /energy/flagged give it), the user and unit, and the time it was made; registry exports
still import back.

Institution Z of unit "丁单位 <tag>" has, from 2025-01-01 to 2025-04-01: an electricity meter read daily (max_rate
10 kWh/h, one day's jump of 5,000 kWh is implausible; one reading resent with another register), a gas meter read
daily in January and again from 20 March (a gap of 68 days, held), and a water meter that never reported.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import openpyxl
import pytest

from api.files.provenance import Line, Provenance, comment_records
from api.files.table import Column, Sheet
from api.files.workbook import csv_line, write_csv
from api.registry.spreadsheets import read_rows
from db import ingest
from db.pool import open_pool
from db.registry import import_document
from domain.registry import Institution, Meter, Organisation, RegistryDocument
from tests.support.api import AsUser, Person, person
from tests.support.files import upload, workbook
from tests.support.fleet import add_driver
from tests.support.rollups import settle
from yiwang.settings import Settings

SHANGHAI = ZoneInfo("Asia/Shanghai")
PERIOD = {"start": "2025-01-01", "end": "2025-04-01"}
START, END = date(2025, 1, 1), date(2025, 4, 1)


# ---------------------------------------------------------------------------------------------------------------
# The CSV block, pure


def _comment_reader(text: str) -> list[list[str]]:
    """Records as a reader of W3C's default CSV dialect reads them: a line starting with '#' is a comment, the header
    is the first other record (pandas' comment='#' does the same, and cuts a line at any '#' outside quotes)."""
    lines = text.splitlines(keepends=True)
    return list(csv.reader(io.StringIO("".join(line for line in lines if not line.startswith("#")), newline="")))


def test_a_csv_with_its_provenance_reads_as_without_it_by_a_reader_that_skips_comments() -> None:
    columns = (Column("id", "编号", "Id"), Column("name", "名称", "Name"), Column("kwh", "电量", "kWh", "decimal"))
    rows = [("#3", "1#楼, 东区", Decimal("1.5")), ("b", '=HYPERLINK("x")', None), ("c", "", Decimal(-2))]
    made = Provenance(
        (
            Line("file", "文件", "File", "能源统计报表", "Energy report"),
            Line("made_by", "制表人", "Made by", "=cmd|' /C calc'!A0", "=cmd|' /C calc'!A0"),
            Line("filters", "筛选条件", "Filters", "district=东区,\n北区", "district=东区,\n北区"),
        )
    )
    plain, commented = io.StringIO(newline=""), io.StringIO(newline="")
    write_csv(Sheet("t", "表", "T", columns, rows), plain)
    write_csv(Sheet("t", "表", "T", columns, rows), commented, comments=comment_records(made, "zh"))

    lines = commented.getvalue().split("\r\n")
    assert [line.split(",")[0] for line in lines[:3]] == ["#file", "#made_by", "#filters"]
    assert lines[3] == "id,name,kwh"
    assert _comment_reader(commented.getvalue()) == list(csv.reader(io.StringIO(plain.getvalue(), newline="")))
    # Each '#' of the data is inside quotes, where a comment-skipping reader does not look for one.
    assert '"#3","1#楼, 东区",1.5' in lines
    # The block's cells: the label and the value, the formula guard kept, a line break made a space.
    block = list(csv.reader(io.StringIO("\r\n".join(lines[:3]), newline="")))
    assert block[1] == ["#made_by", "制表人", "'=cmd|' /C calc'!A0"]
    assert block[2] == ["#filters", "筛选条件", "district=东区, 北区"]


def test_csv_line_quotes_what_rfc_4180_and_comment_readers_need() -> None:
    assert csv_line(["a", "b,c", 'say "hi"', "x\ny", "1#", ""]) == 'a,"b,c","say ""hi""","x\ny","1#",\r\n'
    assert csv_line([""]) == '""\r\n'
    assert csv_line(["#key", "#"], comment=True) == '#key,"#"\r\n'


def test_an_import_skips_the_comment_rows_before_the_header_only() -> None:
    content = "#file,文件,计量表名录\r\n#made_by,制表人,张三\r\nid,unit\r\n#m1,kWh\r\n".encode()
    assert read_rows(content) == [(3, ["id", "unit"]), (4, ["#m1", "kWh"])]
    # As Excel saves the file again: padded with empty cells, in GB18030, or as a workbook.
    excel = "#file,文件,计量表名录,\r\n#made_by,制表人,张三,\r\nid,unit,,\r\nm1,kWh,,\r\n".encode("gb18030")
    assert read_rows(excel) == [(3, ["id", "unit", "", ""]), (4, ["m1", "kWh", "", ""])]
    book = workbook([["#file", "文件", "计量表名录"], ["#made_by", "制表人", "张三"], ["id", "unit"], ["#m1", "kWh"]])
    assert [(n, list(r)) for n, r in read_rows(book)] == [(3, ["id", "unit"]), (4, ["#m1", "kWh"])]


# ---------------------------------------------------------------------------------------------------------------
# Against the API


@pytest.fixture
async def unit(api_settings: Settings, tag: str) -> tuple[str, str, str]:
    """The organisation, its name and its institution, with the meters and readings of the module's docstring."""
    org, z = f"org-{tag}-p", f"z-{tag}-p"
    name = f"丁单位 {tag}"
    e, g, w = f"{z}-e", f"{z}-g", f"{z}-w"
    document = RegistryDocument(
        organisations=[Organisation(id=org, name=name)],
        institutions=[Institution(id=z, organisation_id=org, name=f"1#楼 {tag}", category="school", district="东区")],
        meters=[
            Meter(id=e, institution_id=z, energy_type="electricity", unit="kWh", max_rate=10),
            Meter(id=g, institution_id=z, energy_type="natural_gas", unit="m3"),
            Meter(id=w, institution_id=z, energy_type="water", unit="m3"),
        ],
    )
    received = datetime.now(UTC)

    def at(day: date) -> datetime:
        return datetime(day.year, day.month, day.day, tzinfo=SHANGHAI)

    days = [START + timedelta(days=n) for n in range((END - START).days)]
    electricity = [(e, at(d), 100.0 * n + (5000.0 if n >= 40 else 0.0), received) for n, d in enumerate(days)]
    gas = [(g, at(d), 2.0 * n, received) for n, d in enumerate(days) if d < date(2025, 2, 1) or d >= date(2025, 3, 20)]
    resent = [(e, electricity[10][1], 999_999.0, received)]
    async with open_pool(api_settings.database_url, max_size=2, configure=ingest.prepare_connection) as pool:
        async with pool.connection() as conn:
            await import_document(conn, document)
            await conn.commit()
        async with pool.connection() as conn, conn.transaction():
            await ingest.insert_readings(conn, electricity + gas, resent)
        await settle(pool, [e, g, w])
    return org, name, z


def _about_sheet(content: bytes) -> dict[str, list[Any]]:
    """The workbook's last sheet, 说明 or About this file, as key -> values (from its key column)."""
    book = openpyxl.load_workbook(io.BytesIO(content))
    sheet = book.worksheets[-1]
    assert sheet.title in ("说明", "About this file")
    found: dict[str, list[Any]] = defaultdict(list)
    for _, value, key in list(sheet.iter_rows(values_only=True))[1:]:
        found[key].append(value)
    return found


def _csv_block(response: httpx.Response) -> tuple[dict[str, list[str]], list[list[str]]]:
    """The '#' lines of a CSV as key -> values, and the records after them."""
    assert response.status_code == 200, response.text
    text = response.content.decode("utf-8-sig")
    records = list(csv.reader(io.StringIO(text, newline="")))
    block: dict[str, list[str]] = defaultdict(list)
    for number, record in enumerate(records):
        if not record[0].startswith("#"):
            return block, records[number:]
        block[record[0][1:]].append(record[2])
    raise AssertionError("no header after the block")


def _only(found: dict[str, list[Any]], key: str) -> Any:
    [value] = found[key]
    return value


async def _expected_quality(client: httpx.AsyncClient, headers: dict[str, str], z: str) -> dict[str, str]:
    """The summary as GET /energy/quality and GET /energy/flagged give its parts."""
    query = {**PERIOD, "institution_id": z}
    quality = await client.get("/energy/quality", params=query, headers=headers)
    flagged = await client.get("/energy/flagged", params=query, headers=headers)
    assert quality.status_code == 200, quality.text
    assert flagged.status_code == 200, flagged.text
    meters = quality.json()["meters"]
    [institution] = quality.json()["institutions"]
    return {
        "meters": str(len(meters)),
        "meters_reporting": str(sum(m["readings"] > 0 for m in meters)),
        "readings": str(institution["readings"]),
        "readings_expected": str(institution["expected"]),
        "completeness": str(Decimal(institution["completeness"])),
        "silent_meters": str(institution["silent_meters"]),
        "held_gaps": str(sum(f["change"] == "gap" for f in flagged.json())),
        "implausible_deltas": str(institution["implausible"]),
        "conflicts": str(institution["conflicts"]),
    }


def _made_at_is_now(value: str) -> None:
    made_at = datetime.fromisoformat(value)
    assert made_at.utcoffset() == timedelta(hours=8)  # with the offset of the city's zone
    assert abs(datetime.now(UTC) - made_at) < timedelta(minutes=5)


async def test_the_energy_workbook_and_csv_say_how_they_were_made(
    client: httpx.AsyncClient, as_user: AsUser, unit: tuple[str, str, str]
) -> None:
    org, org_name, z = unit
    reader: Person = await person(client, as_user, "unit_user", org)
    query = {**PERIOD, "institution_id": z, "carbon_version": "cn-2022-average"}
    expected = await _expected_quality(client, reader.headers, z)
    # The figures rest on something worth saying: a held gap, an implausible delta, a conflict, a silent meter.
    assert {k: expected[k] for k in ("meters", "meters_reporting", "held_gaps", "implausible_deltas", "conflicts")} == {
        "meters": "3",
        "meters_reporting": "2",
        "held_gaps": "1",
        "implausible_deltas": "1",
        "conflicts": "1",
    }
    listed = await client.get("/factors", headers=reader.headers)
    assert listed.status_code == 200, listed.text
    versions = {v["version"]: v for v in listed.json()}

    response = await client.get("/exports/energy.xlsx", params=query, headers=reader.headers)
    assert response.status_code == 200, response.text
    about = _about_sheet(response.content)
    assert _only(about, "file") == "能源统计报表"
    assert (_only(about, "period_start"), _only(about, "period_end")) == ("2025-01-01", "2025-04-01")
    assert _only(about, "time_zone") == "Asia/Shanghai (UTC+08:00)"
    assert _only(about, "made_by") == reader.name
    assert _only(about, "made_by_unit") == f"{org_name} ({org})"
    _made_at_is_now(_only(about, "made_at"))
    assert _only(about, "carbon_version") == "cn-2022-average"
    assert "关于发布2022年电力二氧化碳排放因子的公告" in _only(about, "carbon_source")
    assert _only(about, "carbon_electricity_year") == "2022"
    assert _only(about, "standard_coal_version") == "gb2589-2020-equivalent"
    for kind, version in (("carbon", "cn-2022-average"), ("standard_coal", "gb2589-2020-equivalent")):
        assert _only(about, f"{kind}_source") == versions[version]["source"]
        assert _only(about, f"{kind}_intended_use") == versions[version]["intended_use"]
        assert _only(about, f"{kind}_published_on") == versions[version]["published_on"]
    assert {k: _only(about, k) for k in expected} == expected
    assert f"institution_id={z}" in _only(about, "filters")
    assert _only(about, "yiwang_version")

    for view in ("institutions", "factors", "quality"):
        csv_response = await client.get(
            "/exports/energy.csv", params={**query, "view": view, "language": "en"}, headers=reader.headers
        )
        block, records = _csv_block(csv_response)
        assert records[0][0] in ("institution_id", "kind", "meter_id"), view
        assert _only(block, "file") == f"Energy report ({view})"
        assert (_only(block, "period_start"), _only(block, "period_end")) == ("2025-01-01", "2025-04-01")
        assert _only(block, "time_zone") == "Asia/Shanghai (UTC+08:00)"
        assert _only(block, "made_by") == reader.name
        assert _only(block, "made_by_unit") == f"{org_name} ({org})"
        assert _only(block, "carbon_version") == "cn-2022-average"
        assert {k: _only(block, k) for k in expected} == expected
        _made_at_is_now(_only(block, "made_at"))

    bare = await client.get(
        "/exports/energy.csv", params={**query, "view": "institutions", "provenance": "false"}, headers=reader.headers
    )
    assert bare.status_code == 200, bare.text
    assert bare.text.startswith("institution_id,")

    # Staff exclude the gap: it is no longer held for them, though its event stays listed as flagged.
    [gap] = [
        f
        for f in (
            await client.get("/energy/flagged", params={**PERIOD, "institution_id": z}, headers=reader.headers)
        ).json()
        if f["change"] == "gap"
    ]
    staff = await as_user("energy_staff")
    decided = await client.put(
        f"/energy/gaps/{gap['meter_id']}",
        json={"start": gap["start"], "end": gap["end"], "decision": "exclude", "note": "时钟错误"},
        headers=staff,
    )
    assert decided.status_code == 200, decided.text
    response = await client.get("/exports/energy.xlsx", params=query, headers=reader.headers)
    assert _only(_about_sheet(response.content), "held_gaps") == "0"


async def test_the_dispatch_workbook_and_csv_say_how_they_were_made(
    client: httpx.AsyncClient, as_user: AsUser, unit: tuple[str, str, str]
) -> None:
    org, org_name, _ = unit
    reader = await person(client, as_user, "unit_user", org)
    response = await client.get("/exports/dispatch.xlsx", params=PERIOD, headers=reader.headers)
    assert response.status_code == 200, response.text
    about = _about_sheet(response.content)
    block, records = _csv_block(
        await client.get("/exports/dispatch.csv", params={**PERIOD, "view": "vehicles"}, headers=reader.headers)
    )
    assert records[0][0] == "vehicle_id"
    for found in (about, block):
        assert (_only(found, "period_start"), _only(found, "period_end")) == ("2025-01-01", "2025-04-01")
        assert _only(found, "time_zone") == "Asia/Shanghai (UTC+08:00)"
        assert _only(found, "made_by") == reader.name
        assert _only(found, "made_by_unit") == f"{org_name} ({org})"
        assert "carbon_version" not in found  # no factors make dispatch figures
        _made_at_is_now(_only(found, "made_at"))


@pytest.mark.parametrize("table", ["institutions", "meters", "vehicles", "drivers"])
async def test_a_registry_export_says_how_it_was_made_and_imports_back(
    client: httpx.AsyncClient, as_user: AsUser, unit: tuple[str, str, str], table: str
) -> None:
    org, _, z = unit
    admin = await person(client, as_user, "admin")
    vehicle = {"id": f"v-{z}", "organisation_id": org, "plate": f"赣A{z[2:7]}#", "energy": "gasoline"}
    assert (await client.post("/vehicles", headers=admin.headers, json=vehicle)).status_code == 201
    await add_driver(client, admin, org, name="王师傅 #2")
    params: dict[str, str] = {"year": "2025"} if table == "institutions" else {}
    for language in ("zh", "en"):
        csv_response = await client.get(
            f"/registry/{table}.csv", params={**params, "language": language}, headers=admin.headers
        )
        block, records = _csv_block(csv_response)
        assert _only(block, "made_by") == admin.name
        assert _only(block, "made_by_unit") == ("全部单位" if language == "zh" else "all organisations")
        assert _only(block, "time_zone") == "Asia/Shanghai (UTC+08:00)"
        _made_at_is_now(_only(block, "made_at"))
        if table == "institutions":
            assert _only(block, "year") == "2025"
            [row] = [r for r in records if r[0] == z]
            assert any(cell.startswith("1#楼 ") for cell in row)  # a '#' in the data is data
        assert len(records) > 1
        imported = await upload(client, f"/registry/{table}", admin.headers, csv_response.content, name=f"{table}.csv")
        assert imported.status_code == 200, imported.text
        assert imported.json()["rows"] == len(records) - 1
        assert imported.json()["created"] == 0

    xlsx_response = await client.get(f"/registry/{table}.xlsx", params=params, headers=admin.headers)
    assert xlsx_response.status_code == 200, xlsx_response.text
    about = _about_sheet(xlsx_response.content)
    assert _only(about, "made_by") == admin.name
    imported = await upload(client, f"/registry/{table}", admin.headers, xlsx_response.content)
    assert imported.status_code == 200, imported.text
    assert imported.json()["created"] == 0
