"""SQL of the conversion factors: `factor_version` (a named, immutable set of standard-coal or carbon factors and its
source), `coal_factor` (kgce per unit of each energy type) and `carbon_factor` (kgCO2 per unit, per region and
publication year).

Listings take the row type to make (a model with a field per selected column); the choice of a period's factors
returns plain rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import TypeVar

from psycopg import AsyncConnection
from psycopg.rows import class_row

Row = TypeVar("Row")


async def versions(conn: AsyncConnection, row: type[Row]) -> list[Row]:
    """Every version (version, kind, method, title, source, published_on, intended_use, unconfirmed), by kind and
    in the order they were added."""
    async with conn.cursor(row_factory=class_row(row)) as cur:
        await cur.execute(
            """SELECT version, kind, method, title, source, published_on, intended_use, unconfirmed
               FROM factor_version ORDER BY kind, created_at, version"""
        )
        return await cur.fetchall()


async def version(conn: AsyncConnection, row: type[Row], name: str) -> Row | None:
    """The version of that name (version, kind, method, title, source, published_on, intended_use, unconfirmed)."""
    async with conn.cursor(row_factory=class_row(row)) as cur:
        await cur.execute(
            """SELECT version, kind, method, title, source, published_on, intended_use, unconfirmed
               FROM factor_version WHERE version = %s""",
            (name,),
        )
        return await cur.fetchone()


async def latest(conn: AsyncConnection, kind: str, method: str | None = None) -> str | None:
    """The newest version of a kind, and of a method when one is named; None when there is none."""
    cur = await conn.execute(
        """SELECT version FROM factor_version WHERE kind = %s AND (%s::text IS NULL OR method = %s)
           ORDER BY created_at DESC, version DESC LIMIT 1""",
        (kind, method, method),
    )
    row = await cur.fetchone()
    return None if row is None else str(row[0])


async def exists(conn: AsyncConnection, name: str, kind: str) -> bool:
    """Whether there is a version of that name and kind."""
    cur = await conn.execute("SELECT 1 FROM factor_version WHERE version = %s AND kind = %s", (name, kind))
    return await cur.fetchone() is not None


async def method(conn: AsyncConnection, name: str) -> str | None:
    """A standard-coal version's method; None for a carbon version or an unknown name."""
    cur = await conn.execute("SELECT method FROM factor_version WHERE version = %s", (name,))
    row = await cur.fetchone()
    return None if row is None else row[0]


async def coal_factors(conn: AsyncConnection, row: type[Row], name: str) -> list[Row]:
    """A version's standard-coal factors (energy_type, unit, kgce_per_unit), in energy type order."""
    async with conn.cursor(row_factory=class_row(row)) as cur:
        await cur.execute(
            "SELECT energy_type, unit, kgce_per_unit FROM coal_factor WHERE version = %s ORDER BY energy_type",
            (name,),
        )
        return await cur.fetchall()


async def carbon_factors(conn: AsyncConnection, row: type[Row], name: str) -> list[Row]:
    """A version's carbon factors (energy_type, region, year, unit, kgco2_per_unit), in energy type, region and
    year order (a factor for any year first)."""
    async with conn.cursor(row_factory=class_row(row)) as cur:
        await cur.execute(
            """SELECT energy_type, region, year, unit, kgco2_per_unit FROM carbon_factor WHERE version = %s
               ORDER BY energy_type, region, year NULLS FIRST""",
            (name,),
        )
        return await cur.fetchall()


async def coal_per_unit(conn: AsyncConnection, name: str) -> list[tuple[str, str, Decimal]]:
    """A version's standard-coal factors as (energy type, unit, kgce per unit)."""
    cur = await conn.execute("SELECT energy_type, unit, kgce_per_unit FROM coal_factor WHERE version = %s", (name,))
    return await cur.fetchall()


async def carbon_for_year(
    conn: AsyncConnection, name: str, *, region: str, year: int
) -> list[tuple[str, str, Decimal, int | None]]:
    """A version's carbon factors of a region for a period starting in `year`, one per energy type, as (energy type,
    unit, kgCO2 per unit, the year it is published for: None for any year)."""
    # Per energy type: this region's factor of the newest year not after `year`, else one for any year,
    # else the oldest of later years (a factor published for a later year beats none). A fuel burns the same in
    # every region: without a factor of the region its national one applies. Electricity's is the grid's, and
    # a region without one has none (the result names it missing) rather than quietly the national one.
    cur = await conn.execute(
        """SELECT DISTINCT ON (energy_type) energy_type, unit, kgco2_per_unit, year
           FROM carbon_factor
           WHERE version = %(version)s
             AND (region = %(region)s OR (region = 'national' AND energy_type <> 'electricity'))
           ORDER BY energy_type, region = %(region)s DESC,
                    CASE WHEN year <= %(year)s THEN 0 WHEN year IS NULL THEN 1 ELSE 2 END,
                    CASE WHEN year <= %(year)s THEN -year ELSE year END""",
        {"version": name, "region": region, "year": year},
    )
    return await cur.fetchall()


async def add_version(
    conn: AsyncConnection,
    name: str,
    *,
    kind: str,
    method: str | None,
    title: str,
    source: str,
    published_on: date | None,
    intended_use: str | None = None,
    unconfirmed: str | None = None,
) -> bool:
    """Add a version without values, in the caller's transaction; False when one of that name exists (versions are
    never changed)."""
    cur = await conn.execute(
        """INSERT INTO factor_version (version, kind, method, title, source, published_on, intended_use, unconfirmed)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (version) DO NOTHING""",
        (name, kind, method, title, source, published_on, intended_use, unconfirmed),
    )
    return cur.rowcount != 0


async def add_values(
    conn: AsyncConnection,
    name: str,
    *,
    coal: Sequence[tuple[str, str, Decimal]],
    carbon: Sequence[tuple[str, str, int | None, str, Decimal]],
) -> None:
    """Add a new version's values, in the caller's transaction: standard-coal factors as (energy type, unit, kgce
    per unit), carbon factors as (energy type, region, year or None for any year, unit, kgCO2 per unit)."""
    async with conn.cursor() as c:
        await c.executemany(
            "INSERT INTO coal_factor (version, energy_type, unit, kgce_per_unit) VALUES (%s, %s, %s, %s)",
            [(name, *f) for f in coal],
        )
        await c.executemany(
            """INSERT INTO carbon_factor (version, energy_type, region, year, unit, kgco2_per_unit)
               VALUES (%s, %s, %s, %s, %s, %s)""",
            [(name, *f) for f in carbon],
        )
