"""The registry import: institutions with their assessment flags and yearly area and headcount; all or nothing."""

from __future__ import annotations

import uuid
from decimal import Decimal

import psycopg
import pytest
from pydantic import ValidationError

from db.registry import Unfit, import_document, only_new
from domain.registry import (
    DataCentreRoom,
    Department,
    Driver,
    Institution,
    InstitutionYear,
    Organisation,
    RegistryDocument,
)
from yiwang.stack import Stack

SCHOOL_CODE = "123502001549897397"  # a published code (tests/domain/test_credit_codes.py)


def document(tag: str, years: list[InstitutionYear]) -> RegistryDocument:
    return RegistryDocument(
        organisations=[Organisation(id=f"o-{tag}", name="市机关事务管理局")],
        institutions=[
            Institution(
                id=f"i-{tag}",
                organisation_id=f"o-{tag}",
                name="市第一人民医院",
                category="hospital",
                key_energy_unit=True,
                in_assessment=True,
            )
        ],
        institution_years=years,
    )


async def test_yearly_area_and_headcount_are_stored_and_a_second_import_updates_them(stack: Stack) -> None:
    tag = uuid.uuid4().hex[:8]
    first = [
        InstitutionYear(institution_id=f"i-{tag}", year=2025, floor_area_m2=42000.0, headcount=1800),
        InstitutionYear(institution_id=f"i-{tag}", year=2026, floor_area_m2=42000.0, headcount=1850),
    ]
    async with await psycopg.AsyncConnection.connect(stack.postgres.url) as conn:
        await import_document(conn, document(tag, first))
        changed = [InstitutionYear(institution_id=f"i-{tag}", year=2026, floor_area_m2=45500.0, headcount=1900)]
        counts = await import_document(conn, document(tag, changed))
        rows = await (
            await conn.execute(
                "SELECT year, floor_area_m2, headcount FROM institution_year WHERE institution_id = %s ORDER BY year",
                [f"i-{tag}"],
            )
        ).fetchall()
        flags = await (
            await conn.execute("SELECT key_energy_unit, in_assessment FROM institution WHERE id = %s", [f"i-{tag}"])
        ).fetchone()
    assert counts["institution years"] == 1
    assert rows == [(2025, 42000.0, 1800), (2026, 45500.0, 1900)]
    assert flags == (True, True)


async def test_a_year_of_an_unknown_institution_imports_nothing_of_the_document(stack: Stack) -> None:
    tag = uuid.uuid4().hex[:8]
    years = [InstitutionYear(institution_id=f"nobody-{tag}", year=2026, floor_area_m2=100.0, headcount=3)]
    async with await psycopg.AsyncConnection.connect(stack.postgres.url) as conn:
        # Said in words, as `yiwang registry import` prints it, not a database error's traceback.
        with pytest.raises(Unfit) as refused:
            await import_document(conn, document(tag, years))
        assert str(refused.value) == (
            f'institution_year: Key (institution_id)=(nobody-{tag}) is not present in table "institution": add it to '
            "the registry first"
        )
        await conn.rollback()
        left = await (await conn.execute("SELECT count(*) FROM organisation WHERE id = %s", [f"o-{tag}"])).fetchone()
    assert left == (0,)


def test_impossible_years_and_areas_are_refused_before_the_database() -> None:
    with pytest.raises(ValidationError):
        InstitutionYear(institution_id="i", year=1899, floor_area_m2=100.0)
    with pytest.raises(ValidationError):
        InstitutionYear(institution_id="i", year=2026, floor_area_m2=0.0)
    with pytest.raises(ValidationError):
        InstitutionYear(institution_id="i", year=2026, headcount=-3)


async def test_a_documents_departments_import_in_any_order_and_a_cycle_imports_nothing(stack: Stack) -> None:
    """The registry document carries the supervising departments, the survey's facts and data-centre rooms: a child
    may come before its parent, and a chain of parents that comes back refuses the whole document."""
    tag = uuid.uuid4().hex[:8]
    top, under = f"gov-{tag}", f"edu-{tag}"
    departments = [Department(id=under, name="市教育局", parent_id=top), Department(id=top, name="市人民政府")]
    year = InstitutionYear(
        institution_id=f"i-{tag}", year=2025, floor_area_m2=900.0, department_id=under, credit_code=SCHOOL_CODE
    )
    room = DataCentreRoom(institution_id=f"i-{tag}", year=2025, name="机房", racks=3, electricity_kwh=Decimal(1200))
    good = document(tag, [year]).model_copy(update={"departments": departments, "data_centre_rooms": [room]})
    async with await psycopg.AsyncConnection.connect(stack.postgres.url) as conn:
        counts = await import_document(conn, good)
        assert (counts["departments"], counts["institution years"], counts["data-centre rooms"]) == (2, 1, 1)
        stored = await (
            await conn.execute(
                "SELECT department_id, credit_code FROM institution_year WHERE institution_id = %s", [f"i-{tag}"]
            )
        ).fetchall()
        assert stored == [(under, SCHOOL_CODE)]
        await conn.commit()

        loop = RegistryDocument(departments=[Department(id=top, name="市人民政府", parent_id=under)])
        with pytest.raises(Unfit, match=f"department {top} would be under itself"):
            await import_document(conn, loop)
        await conn.rollback()
        unknown = RegistryDocument(institution_years=[year.model_copy(update={"department_id": f"none-{tag}"})])
        with pytest.raises(Unfit, match=rf'\(department_id\)=\(none-{tag}\) is not present in table "department"'):
            await import_document(conn, unknown)
        await conn.rollback()
        parents = await (
            await conn.execute("SELECT id, parent_id FROM department WHERE id = ANY(%s) ORDER BY id", [[top, under]])
        ).fetchall()
    assert parents == [(under, top), (top, None)]


def test_a_credit_code_with_a_wrong_check_character_is_refused_before_the_database() -> None:
    with pytest.raises(ValidationError, match="check character"):
        InstitutionYear(institution_id="i", year=2026, credit_code="91350211M000100Y43")


async def test_importing_only_what_is_new_keeps_what_users_changed_and_adds_the_rest(stack: Stack) -> None:
    # `yiwang run` imports the simulated city on every start: a headcount staff corrected must survive the next one.
    tag = uuid.uuid4().hex[:8]
    years = [InstitutionYear(institution_id=f"i-{tag}", year=2026, floor_area_m2=42000.0, headcount=1850)]
    async with await psycopg.AsyncConnection.connect(stack.postgres.url) as conn:
        await import_document(conn, document(tag, years))
        await conn.execute(
            "UPDATE institution_year SET headcount = 1901 WHERE institution_id = %s AND year = 2026", [f"i-{tag}"]
        )
        await conn.execute("UPDATE institution SET name = '市第一医院' WHERE id = %s", [f"i-{tag}"])
        again = document(tag, [*years, InstitutionYear(institution_id=f"i-{tag}", year=2025, headcount=1800)])
        new = await only_new(conn, again)
        counts = await import_document(conn, new)
        rows = await (
            await conn.execute(
                "SELECT year, headcount FROM institution_year WHERE institution_id = %s ORDER BY year", [f"i-{tag}"]
            )
        ).fetchall()
        name = await (await conn.execute("SELECT name FROM institution WHERE id = %s", [f"i-{tag}"])).fetchone()
    assert (counts["institutions"], counts["institution years"], counts["organisations"]) == (0, 1, 0)
    assert rows == [(2025, 1800), (2026, 1901)]
    assert name == ("市第一医院",)


async def test_a_documents_drivers_are_added_once_whatever_the_imports(stack: Stack) -> None:
    tag = uuid.uuid4().hex[:8]
    drivers = [
        Driver(organisation_id=f"o-{tag}", name="王伟", phone="13800000001", licence_class="C1"),
        Driver(organisation_id=f"o-{tag}", name="王伟", licence_class="B1"),  # a namesake without a phone
    ]
    async with await psycopg.AsyncConnection.connect(stack.postgres.url) as conn:
        with_drivers = document(tag, []).model_copy(update={"drivers": drivers})
        first = await import_document(conn, with_drivers)
        second = await import_document(conn, with_drivers)
        third = await import_document(conn, await only_new(conn, with_drivers))
        held = await (
            await conn.execute(
                "SELECT name, phone, licence_class FROM driver WHERE organisation_id = %s ORDER BY id", [f"o-{tag}"]
            )
        ).fetchall()
    assert (first["drivers"], second["drivers"], third["drivers"]) == (2, 0, 0)
    assert held == [("王伟", "13800000001", "C1"), ("王伟", None, "B1")]
