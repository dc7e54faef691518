"""Bills, delivery notes and manual figures entered by a unit for its own institutions: created, listed, corrected
(the old entry kept, superseded, with the reason), withdrawn (kept, with the reason), imported from a bill list with
every bad row named and nothing added twice; another unit can neither enter for, read, correct nor withdraw them; the
audit log has every change."""

from __future__ import annotations

import io
from typing import Any

import httpx
import openpyxl

from tests.support.api import AsUser, Units, audit_rows
from tests.support.files import upload
from yiwang.settings import Settings


def _bill(institution_id: str, **changes: Any) -> dict[str, Any]:
    return {
        "institution_id": institution_id,
        "energy_type": "natural_gas",
        "period_start": "2025-01-15",
        "period_end": "2025-02-15",
        "quantity": "310",
        "unit": "m3",
        "cost": "1000.50",
        "source": "bill",
        "reference": "GAS-2025-01",
        **changes,
    }


async def test_a_unit_enters_corrects_and_withdraws_its_own_bills_keeping_every_version(
    client: httpx.AsyncClient, as_user: AsUser, units: Units, api_settings: Settings
) -> None:
    a = await as_user("unit_user", units.a.organisation)
    made = await client.post("/energy/entries", headers=a, json=_bill(units.a.institution))
    assert made.status_code == 201, made.text
    entry = made.json()
    assert (entry["quantity"], entry["unit"], entry["cost"], entry["counted"]) == ("310", "m3", "1000.50", True)
    # The same bill again is refused: it would count twice.
    again = await client.post("/energy/entries", headers=a, json=_bill(units.a.institution))
    assert again.status_code == 409, again.text

    corrected = await client.post(
        f"/energy/entries/{entry['id']}/correction",
        headers=a,
        json={**_bill(units.a.institution), "quantity": "301", "reason": "misread 301 as 310"}
        | {"institution_id": None},
    )
    # A correction names no institution: it stays the entry's.
    assert corrected.status_code == 422
    body = {k: v for k, v in _bill(units.a.institution).items() if k != "institution_id"}
    corrected = await client.post(
        f"/energy/entries/{entry['id']}/correction", headers=a, json={**body, "quantity": "301", "reason": "misread"}
    )
    assert corrected.status_code == 201, corrected.text
    new = corrected.json()
    assert (new["supersedes"], new["reason"], new["quantity"], new["counted"]) == (entry["id"], "misread", "301", True)
    old = (await client.get(f"/energy/entries/{entry['id']}", headers=a)).json()
    assert (old["quantity"], old["superseded_by"], old["counted"]) == ("310", new["id"], False)
    # Only the entry that counts is corrected or withdrawn.
    twice = await client.post(
        f"/energy/entries/{entry['id']}/correction", headers=a, json={**body, "quantity": "300", "reason": "again"}
    )
    assert twice.status_code == 409, twice.text

    withdrawn = await client.post(
        f"/energy/entries/{new['id']}/withdrawal", headers=a, json={"reason": "the bill was cancelled"}
    )
    assert withdrawn.status_code == 200, withdrawn.text
    assert (withdrawn.json()["withdrawn_reason"], withdrawn.json()["counted"]) == ("the bill was cancelled", False)

    listed = await client.get("/energy/entries", headers=a, params={"institution_id": units.a.institution})
    assert [(e["id"], e["counted"]) for e in listed.json()] == [(new["id"], False), (entry["id"], False)]
    counting = await client.get("/energy/entries", headers=a, params={"counted": "true"})
    assert counting.json() == []

    audit = audit_rows(
        api_settings.database_url,
        "action = 'entries:write' AND resource_ids && %s",
        ([units.a.institution, str(entry["id"]), str(new["id"])],),
    )
    assert [(r["endpoint"], r["status"], r["outcome"]) for r in audit] == [
        ("/energy/entries", 201, "ok"),
        ("/energy/entries", 409, "conflict"),
        ("/energy/entries/{entry_id}/correction", 422, "invalid"),
        ("/energy/entries/{entry_id}/correction", 201, "ok"),
        ("/energy/entries/{entry_id}/correction", 409, "conflict"),
        ("/energy/entries/{entry_id}/withdrawal", 200, "ok"),
    ]
    assert audit[3]["params"]["reason"] == "misread"


async def test_another_unit_can_neither_enter_read_correct_nor_withdraw_a_units_bills(
    client: httpx.AsyncClient, as_user: AsUser, units: Units
) -> None:
    a = await as_user("unit_user", units.a.organisation)
    b = await as_user("unit_user", units.b.organisation)
    entry = (await client.post("/energy/entries", headers=a, json=_bill(units.a.institution))).json()

    for_a = await client.post("/energy/entries", headers=b, json=_bill(units.a.institution, reference="B-1"))
    assert (for_a.status_code, for_a.json()["detail"]) == (404, f"no institution {units.a.institution}")
    assert (await client.get(f"/energy/entries/{entry['id']}", headers=b)).status_code == 404
    listed = await client.get("/energy/entries", headers=b, params={"institution_id": units.a.institution})
    assert listed.status_code == 404
    assert entry["id"] not in [e["id"] for e in (await client.get("/energy/entries", headers=b)).json()]
    body = {k: v for k, v in _bill(units.a.institution).items() if k != "institution_id"}
    corrected = await client.post(
        f"/energy/entries/{entry['id']}/correction", headers=b, json={**body, "quantity": "1", "reason": "mine now"}
    )
    assert (corrected.status_code, corrected.json()["detail"]) == (404, f"no entry {entry['id']}")
    withdrawn = await client.post(f"/energy/entries/{entry['id']}/withdrawal", headers=b, json={"reason": "x"})
    assert withdrawn.status_code == 404
    # A's entry is untouched and still counts.
    still = (await client.get(f"/energy/entries/{entry['id']}", headers=a)).json()
    assert (still["quantity"], still["counted"], still["superseded_by"]) == ("310", True, None)
    # An auditor reads it, and may not enter any.
    auditor = await as_user("auditor")
    assert (await client.get(f"/energy/entries/{entry['id']}", headers=auditor)).status_code == 200
    assert (await client.post("/energy/entries", headers=auditor, json=_bill(units.a.institution))).status_code == 403


def _workbook(sheets: dict[str, list[list[Any]]]) -> bytes:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


_HEADER = ["机构编号", "能源品种", "用途", "起始日期", "截止日期", "数量", "单位", "费用(元)", "来源", "单据号"]


async def test_a_bill_list_imports_all_or_names_every_bad_row_and_adds_nothing_twice(
    client: httpx.AsyncClient, as_user: AsUser, units: Units
) -> None:
    a = await as_user("unit_user", units.a.organisation)
    inst, other = units.a.institution, units.b.institution
    good = {
        "一月": [
            _HEADER,
            [inst, "天然气", "", "2025-01-15", "2025-02-14", 310, "m3", 1000, "账单", "G-1"],
            [inst, "electricity", "general", "2025-01-01", "2025-01-31", 1240, "kWh", 868.5, "bill", "E-1"],
        ],
        "采暖": [
            _HEADER,
            [inst, "热力", "采暖", "2025-11-15", "2026-03-14", 12, "GJ", 2400, "账单", "H-1"],
            [inst, "原煤", "", "2025/12/1", "2025年12月1日", 2, "t", None, "送货单", "C-7"],
        ],
    }
    bad = {
        "一月": [
            _HEADER,
            [inst, "天然气", "", "2025-01-15", "2025-02-14", 310, "m3", 1000, "账单", "G-1"],
            [inst, "steam", "", "2025-01-01", "2025-01-31", 5, "t", 10, "bill", "S-1"],
            [inst, "electricity", "", "2025-02-01", "2025-01-31", 5, "kWh", 10, "bill", "E-2"],
        ],
        "二月": [
            _HEADER,
            [other, "electricity", "", "2025-02-01", "2025-02-28", 5, "kWh", 10, "bill", "E-3"],
            [inst, "electricity", "", "2025-02-01", "2025-02-30", "many", "kWh", 10, "bill", "E-4"],
            [inst, "heat", "", "2025-02-01", "2025-02-28", 5, "kWh", None, "bill", "E-5"],
            [inst, "天然气", "", "2025-01-15", "2025-02-14", 310, "m3", 1000, "账单", "G-1"],
        ],
    }
    refused = await upload(client, "/energy/entries/import", a, _workbook(bad), "bills.xlsx")
    assert refused.status_code == 422, refused.text
    problems = [(p["sheet"], p["row"], p["column"], p["reason"]) for p in refused.json()["problems"]]
    assert problems == [
        ("一月", 3, "能源品种", problems[0][3]),
        ("一月", 4, None, "period_end is the day after the last day covered: it comes after period_start"),
        ("二月", 2, None, f"no institution {other}"),
        ("二月", 3, "截止日期", "is not a date (2025-01-31, 2025/1/31 or 2025年1月31日)"),
        ("二月", 3, "数量", "is not a number"),
        ("二月", 4, None, "heat is entered in one of GJ, MJ, not 'kWh'"),
        ("二月", 5, None, "the same document as '一月' row 2"),
    ]
    assert (await client.get("/energy/entries", headers=a)).json() == []  # nothing was written

    first = await upload(client, "/energy/entries/import", a, _workbook(good), "bills.xlsx")
    assert first.status_code == 200, first.text
    assert first.json() == {"rows": 4, "created": 4, "unchanged": 0}
    again = await upload(client, "/energy/entries/import", a, _workbook(good), "bills.xlsx")
    assert again.json() == {"rows": 4, "created": 0, "unchanged": 4}
    entries = (await client.get("/energy/entries", headers=a)).json()
    assert len(entries) == 4
    heat = next(e for e in entries if e["energy_type"] == "heat")
    # The bill's last day is in the file; the entry's period ends the day after (exclusive).
    assert (heat["purpose"], heat["period_end"], heat["quantity"], heat["unit"]) == (
        "heating",
        "2026-03-15",
        "12",
        "GJ",
    )
    coal = next(e for e in entries if e["energy_type"] == "raw_coal")
    assert (coal["source"], coal["cost"], coal["period_end"]) == ("delivery_note", None, "2025-12-02")

    # The same bill number with another figure is not a re-import: it is named, and correcting is the way.
    changed = {"一月": [_HEADER, [inst, "天然气", "", "2025-01-15", "2025-02-14", 320, "m3", 1000, "账单", "G-1"]]}
    conflict = await upload(client, "/energy/entries/import", a, _workbook(changed), "bills.xlsx")
    assert conflict.status_code == 422
    assert [p["row"] for p in conflict.json()["problems"]] == [2]
    assert "correct that one instead" in conflict.json()["problems"][0]["reason"]


async def test_a_bill_that_covers_days_of_one_that_counts_is_refused_unless_meant(
    client: httpx.AsyncClient, as_user: AsUser, units: Units, api_settings: Settings
) -> None:
    a = await as_user("unit_user", units.a.organisation)
    inst = units.a.institution
    january = {"energy_type": "electricity", "period_start": "2025-01-01", "period_end": "2025-02-01"}
    typed = await client.post(
        "/energy/entries",
        headers=a,
        json={"institution_id": inst, **january, "quantity": "1240", "unit": "kWh", "source": "bill", "reference": ""},
    )
    assert typed.status_code == 201, typed.text
    typed_id = typed.json()["id"]

    # The same bill, imported later with its number: another key, the same days. Named, nothing written.
    imported = {
        "一月": [_HEADER, [inst, "electricity", "", "2025-01-01", "2025-01-31", 1240, "kWh", 868, "bill", "E-01"]]
    }
    refused = await upload(client, "/energy/entries/import", a, _workbook(imported), "bills.xlsx")
    assert refused.status_code == 422, refused.text
    [problem] = refused.json()["problems"]
    assert (problem["sheet"], problem["row"]) == ("一月", 2)
    assert problem["reason"].startswith(f"entry {typed_id} (bill without a reference, 2025-01-01 to 2025-02-01")

    # A quarterly statement of the same months: a 409 that names the entry.
    quarter = {
        "institution_id": inst,
        **january,
        "period_end": "2025-04-01",
        "quantity": "3700",
        "unit": "kWh",
        "source": "bill",
        "reference": "Q1",
    }
    overlapping = await client.post("/energy/entries", headers=a, json=quarter)
    assert overlapping.status_code == 409, overlapping.text
    assert overlapping.json()["detail"].startswith(f"entry {typed_id} (bill without a reference")
    # Meant, it needs its reason; with it, it is entered and the reason is in the audit log.
    bare = await client.post("/energy/entries", headers=a, json={**quarter, "overlap": "allowed"})
    assert bare.status_code == 422, bare.text
    meant = {**quarter, "overlap": "allowed", "overlap_reason": "the annex's own supply, billed quarterly"}
    allowed = await client.post("/energy/entries", headers=a, json=meant)
    assert allowed.status_code == 201, allowed.text
    counting = await client.get("/energy/entries", headers=a, params={"institution_id": inst, "counted": "true"})
    assert sorted(e["id"] for e in counting.json()) == [typed_id, allowed.json()["id"]]
    audit = audit_rows(api_settings.database_url, "endpoint = '/energy/entries' AND %s = ANY(resource_ids)", (inst,))
    assert [(r["status"], r["params"].get("overlap_reason")) for r in audit] == [
        (201, None),
        (409, None),
        (201, "the annex's own supply, billed quarterly"),
    ]

    # A correction is held to the same rule, its own old entry aside: widening the typed bill meets the quarter.
    wider = {**january, "period_end": "2025-03-01", "quantity": "2400", "unit": "kWh", "source": "bill"}
    corrected = await client.post(
        f"/energy/entries/{typed_id}/correction", headers=a, json={**wider, "reason": "it was two months"}
    )
    assert corrected.status_code == 409, corrected.text
    assert corrected.json()["detail"].startswith(f"entry {allowed.json()['id']} (bill 'Q1'")

    # A delivery note's quantity and a separate invoice's cost for the same days count nothing twice.
    water = {"institution_id": inst, "energy_type": "water", "period_start": "2025-02-01", "period_end": "2025-03-01"}
    note = await client.post(
        "/energy/entries", headers=a, json={**water, "quantity": "40", "unit": "m3", "source": "manual"}
    )
    invoice = await client.post("/energy/entries", headers=a, json={**water, "cost": "120", "source": "bill"})
    assert (note.status_code, invoice.status_code) == (201, 201), invoice.text

    # Two rows of one file that cover the same days: the later one is named.
    gas = {
        "一月": [
            _HEADER,
            [inst, "天然气", "", "2025-01-01", "2025-01-31", 300, "m3", 900, "账单", "G-01"],
            [inst, "天然气", "", "2025-01-01", "2025-03-31", 900, "m3", 2700, "账单", "G-Q1"],
        ]
    }
    twice = await upload(client, "/energy/entries/import", a, _workbook(gas), "gas.xlsx")
    assert twice.status_code == 422, twice.text
    assert [(p["row"], p["reason"].split(", end exclusive")[0]) for p in twice.json()["problems"]] == [
        (3, "'一月' row 2 (bill 'G-01', 2025-01-01 to 2025-02-01")
    ]
