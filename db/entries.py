"""SQL of consumption entries (`consumption_entry`: bills, delivery notes, manual figures) and of the declared source
(`declared_source`). An entry is never overwritten: a correction is a new entry that supersedes it, a withdrawal
marks it. An entry counts while it is neither withdrawn nor superseded (`COUNTED`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from psycopg import AsyncConnection, errors, sql

from db.scope import Scope

# An entry that counts: not withdrawn, and no later entry supersedes it.
COUNTED = sql.SQL(
    "(e.withdrawn_at IS NULL AND NOT EXISTS (SELECT 1 FROM consumption_entry s WHERE s.supersedes = e.id))"
)

# What the listing returns, in order (api/energy/entries.py's Entry has these fields).
COLUMNS = (
    "id",
    "institution_id",
    "energy_type",
    "purpose",
    "period_start",
    "period_end",
    "quantity",
    "unit",
    "cost",
    "source",
    "reference",
    "entered_by",
    "entered_by_name",
    "entered_at",
    "supersedes",
    "reason",
    "superseded_by",
    "withdrawn_by",
    "withdrawn_by_name",
    "withdrawn_at",
    "withdrawn_reason",
    "counted",
)


@dataclass(frozen=True, slots=True)
class Figures:
    """What an entry states: whose, of what, over which days, how much, at what cost, from which document."""

    institution_id: str
    energy_type: str
    purpose: str
    period_start: date
    period_end: date
    quantity: Decimal | None
    unit: str | None
    cost: Decimal | None
    source: str
    reference: str

    def key(self) -> tuple[str, str, str, str, str, date, date]:
        """What makes two entries the same document: a file imported again matches the entries it made."""
        return (
            self.institution_id,
            self.energy_type,
            self.purpose,
            self.source,
            self.reference,
            self.period_start,
            self.period_end,
        )


class Superseded(Exception):
    """The entry was corrected or withdrawn already: only an entry that counts is corrected or withdrawn."""


async def institution_visible(conn: AsyncConnection, scope: Scope, institution_id: str) -> bool:
    """Whether the institution exists within the scope."""
    cur = await conn.execute(
        sql.SQL("SELECT 1 FROM institution i WHERE i.id = %s AND {}").format(scope.condition("i.organisation_id")),
        (institution_id,),
    )
    return await cur.fetchone() is not None


async def lock_institutions(conn: AsyncConnection, institution_ids: Iterable[str]) -> None:
    """Hold the institutions' entries against a concurrent write until the transaction ends, so that the check for
    an entry of the same document and the insert are one step."""
    for institution_id in sorted(set(institution_ids)):
        await conn.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended('consumption_entry:' || %s, 0))", (institution_id,)
        )


async def counted_by_key(conn: AsyncConnection, institution_ids: Iterable[str]) -> dict[tuple[Any, ...], Figures]:
    """The entries that count of these institutions, by their document's key (`Figures.key`)."""
    cur = await conn.execute(
        sql.SQL(
            """SELECT e.institution_id, e.energy_type, e.purpose, e.period_start, e.period_end, e.quantity, e.unit,
                      e.cost, e.source, e.reference
               FROM consumption_entry e WHERE e.institution_id = ANY(%s) AND {counted}"""
        ).format(counted=COUNTED),
        (sorted(set(institution_ids)),),
    )
    out: dict[tuple[Any, ...], Figures] = {}
    for row in await cur.fetchall():
        figures = Figures(*row)
        out[figures.key()] = figures
    return out


async def counted(conn: AsyncConnection, institution_ids: Iterable[str]) -> list[tuple[int, Figures]]:
    """The entries that count of these institutions, with their ids, in id order."""
    cur = await conn.execute(
        sql.SQL(
            """SELECT e.id, e.institution_id, e.energy_type, e.purpose, e.period_start, e.period_end, e.quantity,
                      e.unit, e.cost, e.source, e.reference
               FROM consumption_entry e WHERE e.institution_id = ANY(%s) AND {counted} ORDER BY e.id"""
        ).format(counted=COUNTED),
        (sorted(set(institution_ids)),),
    )
    return [(row[0], Figures(*row[1:])) for row in await cur.fetchall()]


async def insert(
    conn: AsyncConnection, figures: Figures, user_id: int, *, supersedes: int | None = None, reason: str | None = None
) -> int:
    """Add an entry (a correction when it `supersedes` another, with the reason); its id.

    Raises:
        Superseded: the entry it supersedes has been corrected already.
    """
    try:
        async with conn.transaction():
            cur = await conn.execute(
                """INSERT INTO consumption_entry (institution_id, energy_type, purpose, period_start, period_end,
                       quantity, unit, cost, source, reference, entered_by, supersedes, reason)
                   VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id""",
                (
                    figures.institution_id,
                    figures.energy_type,
                    figures.purpose,
                    figures.period_start,
                    figures.period_end,
                    figures.quantity,
                    figures.unit,
                    figures.cost,
                    figures.source,
                    figures.reference,
                    user_id,
                    supersedes,
                    reason,
                ),
            )
    except errors.UniqueViolation as exc:  # consumption_entry_superseded: corrected at the same moment by another
        raise Superseded(f"entry {supersedes} has been corrected already") from exc
    row = await cur.fetchone()
    assert row is not None  # inserted
    return int(row[0])


async def counted_figures(conn: AsyncConnection, scope: Scope, entry_id: int) -> Figures | None:
    """An entry of the scope that counts, locked until the transaction ends; None when there is none such."""
    cur = await conn.execute(
        sql.SQL(
            """SELECT e.institution_id, e.energy_type, e.purpose, e.period_start, e.period_end, e.quantity, e.unit,
                      e.cost, e.source, e.reference
               FROM consumption_entry e JOIN institution i ON i.id = e.institution_id
               WHERE e.id = %s AND {scope} AND {counted} FOR UPDATE OF e"""
        ).format(scope=scope.condition("i.organisation_id"), counted=COUNTED),
        (entry_id,),
    )
    row = await cur.fetchone()
    return None if row is None else Figures(*row)


async def withdraw(conn: AsyncConnection, entry_id: int, reason: str, user_id: int) -> bool:
    """Withdraw an entry that counts; whether it did."""
    cur = await conn.execute(
        sql.SQL(
            """UPDATE consumption_entry e SET withdrawn_by = %s, withdrawn_at = now(), withdrawn_reason = %s
               WHERE e.id = %s AND {counted} RETURNING e.id"""
        ).format(counted=COUNTED),
        (user_id, reason, entry_id),
    )
    return await cur.fetchone() is not None


async def listed(
    conn: AsyncConnection,
    scope: Scope,
    *,
    entry_id: int | None = None,
    institution_id: str | None = None,
    energy_type: str | None = None,
    start: date | None = None,
    end: date | None = None,
    counted: bool | None = None,
) -> list[tuple[Any, ...]]:
    """Entries of the scope's institutions (COLUMNS), the latest first, at most 10,000, filtered by id, institution,
    type, period overlapping [start, end) and whether they count (None: either)."""
    conditions: list[sql.Composable] = [scope.condition("i.organisation_id")]
    for column, operator, value in (
        ("id", "=", entry_id),
        ("institution_id", "=", institution_id),
        ("energy_type", "=", energy_type),
        ("period_end", ">", start),
        ("period_start", "<", end),
    ):
        if value is not None:
            # Literals: a '%' in an id would read as a placeholder.
            conditions.append(
                sql.SQL("e.{} {} {}").format(sql.Identifier(column), sql.SQL(operator), sql.Literal(value))
            )
    if counted is not None:
        conditions.append(COUNTED if counted else sql.SQL("NOT {}").format(COUNTED))
    cur = await conn.execute(
        sql.SQL(
            """SELECT e.id, e.institution_id, e.energy_type, e.purpose, e.period_start, e.period_end, e.quantity,
                      e.unit, e.cost, e.source, e.reference, e.entered_by, eu.name, e.entered_at, e.supersedes,
                      e.reason, (SELECT s.id FROM consumption_entry s WHERE s.supersedes = e.id),
                      e.withdrawn_by, wu.name, e.withdrawn_at, e.withdrawn_reason, {counted}
               FROM consumption_entry e
               JOIN institution i ON i.id = e.institution_id
               JOIN app_user eu ON eu.id = e.entered_by
               LEFT JOIN app_user wu ON wu.id = e.withdrawn_by
               WHERE {conditions} ORDER BY e.entered_at DESC, e.id DESC LIMIT 10000"""
        ).format(counted=COUNTED, conditions=sql.SQL(" AND ").join(conditions))
    )
    return list(await cur.fetchall())


async def counted_between(
    conn: AsyncConnection, institution_ids: list[str], start: date, end: date
) -> list[tuple[str, str, str, date, date, Decimal | None, str | None, Decimal | None]]:
    """The entries that count of these institutions whose period overlaps the days [start, end): (institution_id,
    energy_type, purpose, period_start, period_end, quantity, unit, cost)."""
    cur = await conn.execute(
        sql.SQL(
            """SELECT e.institution_id, e.energy_type, e.purpose, e.period_start, e.period_end, e.quantity, e.unit,
                      e.cost
               FROM consumption_entry e
               WHERE e.institution_id = ANY(%s) AND e.period_end > %s AND e.period_start < %s AND {counted}"""
        ).format(counted=COUNTED),
        (institution_ids, start, end),
    )
    return await cur.fetchall()


async def declared_sources(
    conn: AsyncConnection, institution_ids: list[str], years: Iterable[int]
) -> list[tuple[str, str, int, str, str, str, Any]]:
    """The sources staff declared: (institution_id, energy_type, year, source, reason, declared_by name,
    declared_at)."""
    cur = await conn.execute(
        """SELECT d.institution_id, d.energy_type, d.year, d.source, d.reason, u.name, d.declared_at
           FROM declared_source d JOIN app_user u ON u.id = d.declared_by
           WHERE d.institution_id = ANY(%s) AND d.year = ANY(%s)""",
        (institution_ids, sorted(set(years))),
    )
    return await cur.fetchall()


async def declare(
    conn: AsyncConnection, institution_id: str, energy_type: str, year: int, *, source: str, reason: str, user_id: int
) -> None:
    """Make `source` the one that counts for the institution's type in the year (replacing what was declared)."""
    await conn.execute(
        """INSERT INTO declared_source (institution_id, energy_type, year, source, reason, declared_by)
           VALUES (%s, %s, %s, %s, %s, %s)
           ON CONFLICT (institution_id, energy_type, year) DO UPDATE
           SET source = excluded.source, reason = excluded.reason, declared_by = excluded.declared_by,
               declared_at = now()""",
        (institution_id, energy_type, year, source, reason, user_id),
    )
