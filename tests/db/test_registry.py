"""The registry import: institutions with their assessment flags and yearly area and headcount; all or nothing."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from pydantic import ValidationError

from db.registry import import_document
from domain.registry import Institution, InstitutionYear, Organisation, RegistryDocument
from yiwang.stack import Stack


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
        with pytest.raises(psycopg.errors.ForeignKeyViolation):
            await import_document(conn, document(tag, years))
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
