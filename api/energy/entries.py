"""Consumption that does not come from meters: bills, delivery notes and manual figures of an institution's energy or
water over a period, entered, corrected and withdrawn, never overwritten.

A correction is a new entry that supersedes the old one, with the reason; the old one stays listed, no longer
counted. A withdrawal marks the entry, with the reason. Who may: a unit's users for their own institutions, energy
staff and admins for every one (`entries:write`); every change is in the audit log. Whether the entries or the meters
count for an institution's type in a year is db/declared.py's rule (api/energy/sources.py).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal, Self

from psycopg import AsyncConnection
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, model_validator

from api.errors import Conflict, NotFound
from api.fields import Reason, Text
from db import entries as entries_db
from db.scope import Scope
from domain.entries import EntryPurpose, EntrySource, EntryType, counts_twice, unit_problem
from domain.periods import FIRST_YEAR, LAST_YEAR

# A quantity or cost as stated on a bill: not negative, to the millionth.
Amount = Annotated[
    Decimal,
    Field(ge=0, max_digits=18, decimal_places=6),
    WithJsonSchema({"type": "string", "pattern": r"^[0-9]{1,12}(\.[0-9]{1,6})?$"}),
]
Reference = Annotated[Text, Field(max_length=100)]
Day = Annotated[date, Field(ge=date(FIRST_YEAR, 1, 1), le=date(LAST_YEAR, 12, 31))]


class EntryFigures(BaseModel):
    """What a bill, a delivery note or staff state of one energy type over a period."""

    model_config = ConfigDict(extra="forbid")

    energy_type: EntryType = Field(description="other: other energy (其他能源), in kgce or tce")
    purpose: EntryPurpose = Field(
        default="general", description="heating: consumed for heating (采暖), which the survey reports apart"
    )
    period_start: Day = Field(description="the first day the entry covers")
    period_end: Day = Field(
        description="the day after the last day it covers (exclusive, as every period of the API): a bill of January "
        "runs to 02-01. It need not be a calendar month: its quantity and cost are shared between months by days"
    )
    quantity: Amount | None = Field(default=None, description="in `unit`; null: a bill that states only a cost")
    unit: Text | None = Field(
        default=None, description="one the type is counted in (electricity kWh or MWh, water m3 or t, ...; other kgce)"
    )
    cost: Amount | None = Field(default=None, description="yuan; null: not stated (never read as zero)")
    source: EntrySource = Field(description="bill, delivery_note (coal, LPG) or manual")
    reference: Reference = Field(default="", description="the bill's or delivery note's number")
    overlap: Literal["refused", "allowed"] = Field(
        default="refused",
        description="refused: a 409 names the entry that counts already for the same institution, type and purpose "
        "over some of these days (a bill typed by hand and imported again with its number, a monthly bill and a "
        "quarterly statement); allowed: both are meant (two supplies, two meters' bills), with `overlap_reason`, "
        "which the audit log keeps",
    )
    overlap_reason: Reason | None = Field(default=None, description="why an overlap is meant; with overlap: allowed")

    @model_validator(mode="after")
    def _fits(self) -> Self:
        if self.period_end <= self.period_start:
            raise ValueError("period_end is the day after the last day covered: it comes after period_start")
        if (self.overlap == "allowed") != (self.overlap_reason is not None):
            raise ValueError("overlap: allowed needs an overlap_reason, and an overlap_reason overlap: allowed")
        if self.quantity is None and self.cost is None:
            raise ValueError("an entry states a quantity, a cost or both")
        if (self.quantity is None) != (self.unit is None):
            raise ValueError("a quantity needs its unit, and a unit its quantity")
        if self.unit is not None:
            problem = unit_problem(self.energy_type, self.unit)
            if problem is not None:
                raise ValueError(problem)
        return self


class EntryCreate(EntryFigures):
    """A new entry of an institution."""

    institution_id: Text


class EntryCorrection(EntryFigures):
    """An entry's figures as they should be, and why: a new entry supersedes the old one, which stays."""

    reason: Reason = Field(description="why: what was wrong (a misread bill, a wrong period...)")


class EntryWithdrawal(BaseModel):
    """An entry withdrawn, with the reason: it stays listed, no longer counted."""

    model_config = ConfigDict(extra="forbid")

    reason: Reason


class Entry(BaseModel):
    """An entry as stored, counted or not."""

    id: int
    institution_id: str
    energy_type: str
    purpose: str
    period_start: date
    period_end: date = Field(description="exclusive")
    quantity: Decimal | None
    unit: str | None
    cost: Decimal | None
    source: str
    reference: str
    entered_by: int
    entered_by_name: str
    entered_at: datetime
    supersedes: int | None = Field(description="the entry this one corrects")
    reason: str | None = Field(description="why it corrects that entry")
    superseded_by: int | None = Field(description="the entry that corrects this one: this one no longer counts")
    withdrawn_by: int | None
    withdrawn_by_name: str | None
    withdrawn_at: datetime | None
    withdrawn_reason: str | None
    counted: bool = Field(description="neither withdrawn nor superseded: it counts where entries are the source")


class AlreadyEntered(Conflict):
    """An entry of the same document counts already (409)."""


def figures_of(item: EntryFigures, institution_id: str) -> entries_db.Figures:
    """The stored figures of an entry."""
    return entries_db.Figures(
        institution_id=institution_id,
        energy_type=item.energy_type,
        purpose=item.purpose,
        period_start=item.period_start,
        period_end=item.period_end,
        quantity=item.quantity,
        unit=item.unit,
        cost=item.cost,
        source=item.source,
        reference=item.reference,
    )


class Overlapping(Conflict):
    """An entry that counts covers some of the same days of the same institution, type and purpose (409)."""


def overlapping(
    figures: entries_db.Figures, counted: list[tuple[int, entries_db.Figures]], *, exclude: int | None = None
) -> list[tuple[int, entries_db.Figures]]:
    """The entries among `counted` (but `exclude`, the entry being corrected) of the same institution, type and
    purpose that would count some of these figures' days twice."""
    return [
        (entry_id, other)
        for entry_id, other in counted
        if entry_id != exclude
        and (other.institution_id, other.energy_type, other.purpose)
        == (figures.institution_id, figures.energy_type, figures.purpose)
        and counts_twice(_span(figures), _span(other))
    ]


# What to do about an overlap, where the other is an entry that counts.
CORRECT_OR_ALLOW = (
    "correct or withdraw that one, or, where both are meant, enter this one with overlap: allowed and an overlap_reason"
)


def overlap_refused(which: str, other: entries_db.Figures, advice: str = CORRECT_OR_ALLOW) -> str:
    """Why an entry whose days another one covers already is refused; `which` names the other ("entry 12")."""
    reference = f" {other.reference!r}" if other.reference else " without a reference"
    return (
        f"{which} ({other.source}{reference}, {other.period_start.isoformat()} to {other.period_end.isoformat()}, "
        f"end exclusive) covers some of the same days of the same institution, type and purpose: {advice}"
    )


def _span(figures: entries_db.Figures) -> tuple[date, date, bool, bool]:
    return (figures.period_start, figures.period_end, figures.quantity is not None, figures.cost is not None)


def same_document(entry_id: int | None) -> str:
    """Why an entry of a document that is entered already is refused."""
    which = f"entry {entry_id}" if entry_id is not None else "an entry"
    return (
        f"{which} of the same document (institution, type, purpose, source, reference and period) counts already: "
        "correct that one instead"
    )


async def create(conn: AsyncConnection, scope: Scope, item: EntryCreate, user_id: int) -> Entry:
    """Add an entry of an institution of the scope.

    Raises:
        NotFound: no such institution in the scope.
        AlreadyEntered: an entry of the same document counts already.
        Overlapping: an entry that counts covers some of the same days, and the item does not allow it.
    """
    await visible(conn, scope, item.institution_id)
    figures = figures_of(item, item.institution_id)
    async with conn.transaction():
        await entries_db.lock_institutions(conn, [item.institution_id])
        if figures.key() in await entries_db.counted_by_key(conn, [item.institution_id]):
            raise AlreadyEntered(same_document(None))
        await _refuse_overlap(conn, item, figures)
        made = await entries_db.insert(conn, figures, user_id)
    return await one(conn, scope, made)


async def correct(conn: AsyncConnection, scope: Scope, entry_id: int, body: EntryCorrection, user_id: int) -> Entry:
    """Supersede an entry that counts by one with these figures, keeping the old one.

    Raises:
        NotFound: no such entry in the scope.
        Conflict: the entry no longer counts (corrected or withdrawn already), or another counting entry holds the
            corrected figures' document or some of its days (unless the body allows the overlap).
    """
    async with conn.transaction():
        old = await _counted(conn, scope, entry_id)
        await entries_db.lock_institutions(conn, [old.institution_id])
        figures = figures_of(body, old.institution_id)
        other = await entries_db.counted_by_key(conn, [old.institution_id])
        if figures.key() != old.key() and figures.key() in other:
            raise AlreadyEntered(same_document(None))
        await _refuse_overlap(conn, body, figures, exclude=entry_id)
        try:
            made = await entries_db.insert(conn, figures, user_id, supersedes=entry_id, reason=body.reason)
        except entries_db.Superseded as exc:
            raise Conflict(f"entry {entry_id} no longer counts: {exc}") from exc
    return await one(conn, scope, made)


async def withdraw(conn: AsyncConnection, scope: Scope, entry_id: int, body: EntryWithdrawal, user_id: int) -> Entry:
    """Withdraw an entry that counts, keeping it listed.

    Raises:
        NotFound: no such entry in the scope.
        Conflict: it no longer counts (corrected or withdrawn already).
    """
    async with conn.transaction():
        await _counted(conn, scope, entry_id)
        await entries_db.withdraw(conn, entry_id, body.reason, user_id)
    return await one(conn, scope, entry_id)


async def listed(
    conn: AsyncConnection,
    scope: Scope,
    *,
    institution_id: str | None,
    energy_type: str | None,
    start: date | None,
    end: date | None,
    counted: bool | None,
) -> list[Entry]:
    """Entries of the scope's institutions, the latest first.

    Raises:
        NotFound: `institution_id` names no institution of the scope.
    """
    if institution_id is not None:
        await visible(conn, scope, institution_id)
    rows = await entries_db.listed(
        conn, scope, institution_id=institution_id, energy_type=energy_type, start=start, end=end, counted=counted
    )
    return [_entry(row) for row in rows]


async def one(conn: AsyncConnection, scope: Scope, entry_id: int) -> Entry:
    """An entry of the scope.

    Raises:
        NotFound: none such in the scope.
    """
    rows = await entries_db.listed(conn, scope, entry_id=entry_id)
    if not rows:
        raise NotFound(f"no entry {entry_id}")
    return _entry(rows[0])


async def visible(conn: AsyncConnection, scope: Scope, institution_id: str) -> None:
    """Raises NotFound unless the institution is in the scope (another unit's is answered as one that does not
    exist)."""
    if not await entries_db.institution_visible(conn, scope, institution_id):
        raise NotFound(f"no institution {institution_id}")


async def _refuse_overlap(
    conn: AsyncConnection, item: EntryFigures, figures: entries_db.Figures, *, exclude: int | None = None
) -> None:
    """Raises Overlapping when an entry that counts covers some of the figures' days, unless the item allows it."""
    if item.overlap == "allowed":
        return
    found = overlapping(figures, await entries_db.counted(conn, [figures.institution_id]), exclude=exclude)
    if found:
        entry_id, other = found[0]
        raise Overlapping(overlap_refused(f"entry {entry_id}", other))


async def _counted(conn: AsyncConnection, scope: Scope, entry_id: int) -> entries_db.Figures:
    figures = await entries_db.counted_figures(conn, scope, entry_id)
    if figures is not None:
        return figures
    await one(conn, scope, entry_id)  # NotFound when it is not the scope's
    raise Conflict(f"entry {entry_id} no longer counts (corrected or withdrawn): correct the entry that counts")


def _entry(row: tuple[object, ...]) -> Entry:
    return Entry.model_validate(dict(zip(entries_db.COLUMNS, row, strict=True)))
