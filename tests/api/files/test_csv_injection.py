"""CSV injection (OWASP): a name or plate that a spreadsheet would run as a formula is exported by every CSV route as
text (a leading apostrophe), and an export imports back to the values exported."""

from __future__ import annotations

import csv
import io
from decimal import Decimal, InvalidOperation
from typing import get_args

import httpx

from api.energy import workbook as energy_workbook
from api.fleet import workbook as dispatch_workbook
from tests.support.api import AsUser, Units
from tests.support.files import upload

# What an attacker with registry rights types: Excel opens a link, or (DDE) starts a program, from a CSV's cell.
FORMULA_NAME = '=HYPERLINK("http://x","y")'
FORMULA_PLATE = "+cmd|'/Ccalc'!A0"  # the plate column holds 16 characters
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
YEAR = {"start": "2025-01-01", "end": "2026-01-01"}


def _cells(response: httpx.Response) -> list[list[str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))


def _is_number(cell: str) -> bool:
    try:
        Decimal(cell)
    except InvalidOperation:
        return False
    return True


def _formulas(rows: list[list[str]]) -> list[str]:
    """The cells a spreadsheet would run: starting with a formula character and no plain number (-3.5 is data)."""
    return [cell for row in rows for cell in row if cell.startswith(FORMULA_START) and not _is_number(cell)]


async def test_no_csv_export_hands_a_spreadsheet_a_formula_and_an_export_imports_back(
    client: httpx.AsyncClient, units: Units, as_user: AsUser, tag: str
) -> None:
    admin = await as_user("admin")
    unit = units.a.organisation
    institution = {"id": f"i-{tag}-f", "organisation_id": unit, "name": FORMULA_NAME, "category": "school"}
    assert (await client.post("/institutions", headers=admin, json=institution)).status_code == 201
    year = await client.put(f"/institutions/{institution['id']}/years/2025", headers=admin, json={"headcount": 10})
    assert year.is_success, year.text
    vehicle = {"id": f"v-{tag}-f", "organisation_id": unit, "plate": FORMULA_PLATE, "energy": "gasoline"}
    created = await client.post("/vehicles", headers=admin, json=vehicle)
    assert created.status_code == 201, created.text

    exports: dict[str, list[list[str]]] = {}
    for table in ("institutions", "meters", "vehicles", "drivers"):
        for language in ("zh", "en"):
            params = {"language": language, "year": "2025"} if table == "institutions" else {"language": language}
            exports[f"{table}.csv {language}"] = _cells(
                await client.get(f"/registry/{table}.csv", headers=admin, params=params)
            )
    for view in get_args(energy_workbook.View):
        exports[f"energy.csv {view}"] = _cells(
            await client.get("/exports/energy.csv", headers=admin, params={**YEAR, "view": view})
        )
    for view in get_args(dispatch_workbook.View):
        exports[f"dispatch.csv {view}"] = _cells(
            await client.get("/exports/dispatch.csv", headers=admin, params={**YEAR, "view": view})
        )

    assert {name: _formulas(rows) for name, rows in exports.items() if _formulas(rows)} == {}
    # The name and plate are there, as text a spreadsheet shows as typed.
    guarded_name, guarded_plate = "'" + FORMULA_NAME, "'" + FORMULA_PLATE
    for name in ("institutions.csv zh", "institutions.csv en", "energy.csv institutions"):
        assert guarded_name in {cell for row in exports[name] for cell in row}, name
    for name in ("vehicles.csv zh", "vehicles.csv en", "dispatch.csv vehicles"):
        assert guarded_plate in {cell for row in exports[name] for cell in row}, name

    # An export imports back to the same values, the apostrophe read as the guard it is.
    for table, item in (("institutions", institution), ("vehicles", vehicle)):
        params = {"language": "zh", "year": "2025"} if table == "institutions" else {"language": "zh"}
        exported = await client.get(f"/registry/{table}.csv", headers=admin, params=params)
        before = (await client.get(f"/{table}/{item['id']}", headers=admin)).json()
        imported = await upload(client, f"/registry/{table}", admin, exported.content, name=f"{table}.csv")
        assert imported.status_code == 200, imported.text
        after = (await client.get(f"/{table}/{item['id']}", headers=admin)).json()
        assert after == before
        assert after["name" if table == "institutions" else "plate"] in (FORMULA_NAME, FORMULA_PLATE)
