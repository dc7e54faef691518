"""A small city for the survey's tests, every figure computable by hand: two units, four institutions (one not in the
registry's survey), three departments (one under another), a machine room, vehicles by home institution."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from typing import Any

import openpyxl
import psycopg

from domain.registry import Institution, InstitutionYear, Meter, Organisation, RegistryDocument, Vehicle
from tests.support.registry import plate
from tests.support.rollups import read_daily

YEAR = 2025
CREDIT_CODE = "913601007055123456"  # the pattern of 0032_survey_facts.sql (the check character is the API's)


@dataclass(frozen=True)
class City:
    a: str  # organisation A: a1, a2 and a3 (not in the survey)
    b: str  # organisation B: b1
    a1: str
    a2: str
    a3: str
    b1: str
    root: str  # department: a1's, with `child` under it
    child: str  # a2's
    other: str  # b1's


async def small_city(url: str, tag: str) -> City:
    """The city of the survey's tests, its consumption rolled up: 9 days of readings from 2025-03-01.

    a1: 1,000 m², 20 people, 25 on the staff quota, 800 m² heated by itself for 120 days; 22,500 kWh and 27 m³ of
    water; a gasoline and an electric car (a diesel one retired in June). a2: 500 m², no headcount, no meter, a machine
    room. a3: not in the survey (90 kWh). b1: 2,000 m², 100 people, 110 on the quota, 45 m³ of gas, a plug-in hybrid.
    """
    c = City(
        a=f"org-{tag}-a",
        b=f"org-{tag}-b",
        a1=f"s-{tag}-a1",
        a2=f"s-{tag}-a2",
        a3=f"s-{tag}-a3",
        b1=f"s-{tag}-b1",
        root=f"d-{tag}-root",
        child=f"d-{tag}-child",
        other=f"d-{tag}-other",
    )
    document = RegistryDocument(
        organisations=[Organisation(id=c.a, name=f"甲单位 {tag}"), Organisation(id=c.b, name=f"乙单位 {tag}")],
        institutions=[
            Institution(id=c.a1, organisation_id=c.a, name=f"甲局 {tag}", category="agency"),
            Institution(id=c.a2, organisation_id=c.a, name=f"乙校 {tag}", category="school"),
            Institution(id=c.a3, organisation_id=c.a, name=f"丙馆 {tag}", category="venue"),
            Institution(id=c.b1, organisation_id=c.b, name=f"丁院 {tag}", category="hospital"),
        ],
        institution_years=[
            InstitutionYear(institution_id=c.a1, year=YEAR, floor_area_m2=1000, headcount=20),
            InstitutionYear(institution_id=c.a2, year=YEAR, floor_area_m2=500),
            InstitutionYear(institution_id=c.a3, year=YEAR, floor_area_m2=300, headcount=5),
            InstitutionYear(institution_id=c.b1, year=YEAR, floor_area_m2=2000, headcount=100),
        ],
        meters=[
            Meter(id=f"{c.a1}-e", institution_id=c.a1, energy_type="electricity", unit="MWh"),
            Meter(id=f"{c.a1}-w", institution_id=c.a1, energy_type="water", unit="t"),
            Meter(id=f"{c.a3}-e", institution_id=c.a3, energy_type="electricity", unit="kWh"),
            Meter(id=f"{c.b1}-g", institution_id=c.b1, energy_type="natural_gas", unit="m3"),
        ],
        vehicles=[
            Vehicle(
                id=f"{c.a1}-v1", organisation_id=c.a, plate=plate(tag, 1), energy="gasoline", home_institution_id=c.a1
            ),
            Vehicle(
                id=f"{c.a1}-v2",
                organisation_id=c.a,
                plate=plate(tag, 2),
                energy="battery_electric",
                home_institution_id=c.a1,
            ),
            Vehicle(
                id=f"{c.a1}-v3", organisation_id=c.a, plate=plate(tag, 3), energy="diesel", home_institution_id=c.a1
            ),
            Vehicle(
                id=f"{c.b1}-v1",
                organisation_id=c.b,
                plate=plate(tag, 4),
                energy="plug_in_hybrid",
                home_institution_id=c.b1,
            ),
        ],
    )
    per_day = {f"{c.a1}-e": 2.5, f"{c.a1}-w": 3.0, f"{c.a3}-e": 10.0, f"{c.b1}-g": 5.0}
    await read_daily(url, document, per_day, first=date(YEAR, 3, 1), days=10)
    async with await psycopg.AsyncConnection.connect(url) as conn:
        await conn.execute(
            "INSERT INTO department (id, name, parent_id) VALUES (%s, '委员会', NULL), (%s, '委属局', %s), "
            "(%s, '卫健委', NULL)",
            (c.root, c.child, c.root, c.other),
        )
        facts = """UPDATE institution_year SET in_survey = %s, credit_code = %s, department_id = %s,
                   division_code = %s, survey_category = %s, staff_quota = %s, heated_area_m2 = %s,
                   heated_area_own_m2 = %s, heating_days = %s WHERE institution_id = %s AND year = %s"""
        await conn.execute(facts, (True, CREDIT_CODE, c.root, "360102", "state_organ", 25, 800, 800, 120, c.a1, YEAR))
        await conn.execute(facts, (True, None, c.child, "360102", "education", None, None, None, None, c.a2, YEAR))
        await conn.execute(facts, (False, None, c.root, "360102", "culture", 7, None, None, None, c.a3, YEAR))
        await conn.execute(facts, (True, None, c.other, "360103", "health", 110, None, None, None, c.b1, YEAR))
        await conn.execute(
            """INSERT INTO data_centre_room (institution_id, year, name, floor_area_m2, racks, it_power_kw,
                   cooling_power_kw, distribution_power_kw, electricity_kwh, it_kwh, cooling_kwh, distribution_kwh)
               VALUES (%s, %s, '主机房', 50, 10, 20, 10, 5, 100000, 60000, 30000, 10000)""",
            (c.a2, YEAR),
        )
        await conn.execute(
            """UPDATE vehicle SET lifecycle = 'retired', retired_on = %s, retired_how = 'scrapped' WHERE id = %s""",
            (date(YEAR, 6, 1), f"{c.a1}-v3"),
        )
    return c


def sheets(content: bytes) -> dict[str, list[list[Any]]]:
    """Every sheet of a workbook by name: its rows, the header first."""
    book = openpyxl.load_workbook(io.BytesIO(content))
    return {ws.title: [list(row) for row in ws.iter_rows(values_only=True)] for ws in book.worksheets}


def caption(rows: list[list[Any]]) -> list[str]:
    """The lines above a sheet's header (a form's title, who filled it): rows with one cell."""
    return [row[0] for row in rows[: _header(rows)]]


def records(rows: list[list[Any]]) -> list[dict[str, Any]]:
    """A sheet's rows under its header (after its caption) as records keyed by the header."""
    header, *body = rows[_header(rows) :]
    return [dict(zip(header, row, strict=True)) for row in body]


def _header(rows: list[list[Any]]) -> int:
    return next(n for n, row in enumerate(rows) if sum(cell is not None for cell in row) > 1)
