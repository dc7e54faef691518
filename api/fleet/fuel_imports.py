"""Fuel-card and charging statements imported: each row read (domain/fuel.py knows the headers and values), its
plate resolved to the vehicle that held it at the purchase time, and stored once (db/fuel.py).

Unlike the registry's imports, a statement is not all or nothing: an office's statement holds every card of the
account, and one private car's row must not keep the unit's vehicles out. Good rows are stored; every other row is
named with its sheet, row, column and reason, and importing the file again after mending them adds only those.

A reversal (冲正) is a row of negative quantity (and a negative amount, or none). It reverses the purchase of the same
vehicle (its plate, resolved at the reversal's time), fuel and quantity, with the same amount and card where both rows
give one, at or before the reversal: the latest such row of the same statement, else the latest such purchase stored
before and not withdrawn. A pair within the statement stores neither row (and withdraws the original if an earlier
import stored it); an original stored before is withdrawn, marked with the reversal's statement and row. Both rows are
listed in `reversals`, not in `problems`; a reversal of nothing found is a problem. Importing the statement again
withdraws nothing more (the withdrawn purchase keeps the reversal's time).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Final
from zoneinfo import ZoneInfo

from openpyxl import load_workbook
from psycopg import AsyncConnection
from pydantic import BaseModel, Field

from api.registry.spreadsheets import FileRefused, is_blank
from db import fuel as fuel_db
from db import fuel_withdrawals as withdrawals_db
from db.scope import Scope
from domain import fuel
from domain.fuel import HEADERS, LIQUID, REQUIRED, Fuel, field_of, plate_key

# A bound on a quantity or amount that no purchase reaches: a typo's exponent is refused, not stored.
_MOST: Final = Decimal(100_000_000)


class FuelRowProblem(BaseModel):
    """Why a row of a statement was not stored."""

    sheet: str = Field(description="the workbook's sheet read (its first), or the CSV file's name")
    row: int = Field(description="as Excel numbers it: the header is row 1 unless '#' comment lines come first")
    column: str | None = Field(description="the column's header as the file has it, when the problem is of one")
    reason: str


class FuelImportResult(BaseModel):
    """What an import of a statement stored, and every row it did not, with why."""

    statement: str = Field(description="the file's name, kept with each purchase")
    sheet: str
    rows: int = Field(description="the rows of the file that hold data")
    imported: int = Field(description="purchases stored now")
    duplicates: int = Field(description="rows stored before (the same vehicle, time, fuel and quantity), not again")
    problems: list[FuelRowProblem] = Field(
        description="every row not stored, duplicates among them, reversals and the rows they paired with apart"
    )
    reversals: list[FuelReversal] = Field(
        default_factory=list, description="each reversal (冲正) row and what it reversed: neither counts"
    )


class FuelReversal(BaseModel):
    """A reversal (冲正) row and the purchase it reversed: neither is counted."""

    sheet: str
    row: int = Field(description="the reversal's row")
    original_row: int | None = Field(description="the row of this statement it reversed (neither stored)")
    withdrawn: int | None = Field(
        description="the id of the purchase stored before that it withdrew (GET-able as a purchase; null: none)"
    )
    note: str


@dataclass(frozen=True, slots=True)
class Densities:
    """kg per litre that gasoline and diesel are stored with (YIWANG_FUEL_*_KG_PER_LITRE)."""

    gasoline: Decimal
    diesel: Decimal

    def of(self, kind: Fuel) -> Decimal | None:
        return {"gasoline": self.gasoline, "diesel": self.diesel}.get(kind)


@dataclass(frozen=True, slots=True)
class _Read:
    """A row as read, before its plate is resolved."""

    number: int
    plate: str
    card: str | None
    time: datetime
    end_time: datetime | None
    station: str | None
    fuel: Fuel | None  # None: the vehicle's own (a fuel-card statement without 油品)
    grade: str | None
    quantity: Decimal  # negative: a reversal (冲正)
    amount: Decimal | None


def sheet_of(content: bytes, name: str) -> str:
    """The name a problem gives the rows' sheet: the workbook's first sheet, or the CSV file's name. Called after
    spreadsheets.read_rows accepted the file (its bounds checked)."""
    if not content.startswith(b"PK"):
        return name
    book = load_workbook(io.BytesIO(content), read_only=True)
    try:
        return str(book.sheetnames[0])
    finally:
        book.close()


class _Row:
    """One data row's cells by field, and the problems found reading it."""

    def __init__(self, sheet: str, number: int, cells: dict[str, tuple[str, object]]) -> None:
        self.sheet, self.number, self.cells = sheet, number, cells
        self.problems: list[FuelRowProblem] = []

    def value(self, field: str) -> object | None:
        _, value = self.cells.get(field, ("", None))
        return None if is_blank(value) else value

    def text(self, field: str) -> str | None:
        value = self.value(field)
        return None if value is None else str(value).strip()

    def problem(self, field: str | None, reason: str) -> None:
        header = self.cells[field][0] if field is not None and field in self.cells else None
        self.problems.append(FuelRowProblem(sheet=self.sheet, row=self.number, column=header, reason=reason))


def _columns(header: Sequence[object]) -> dict[str, tuple[int, str]]:
    """Each field the header names -> (its column index, its header as written); the first of repeats counts."""
    found: dict[str, tuple[int, str]] = {}
    for index, title in enumerate(header):
        field = field_of(title)
        if field is not None and field not in found:
            found[field] = (index, str(title).strip())
    missing = [f for f in REQUIRED if f not in found]
    if not ("litres" in found or "kwh" in found):
        missing.append("litres")
    if missing:
        names = "; ".join(f"{f}: {' / '.join(HEADERS[f][:4])}" for f in missing)
        raise FileRefused(
            f"the statement's first row names no column of {names}: its header row names the card, plate, time, "
            "station, fuel, quantity (litres or kWh) and amount (docs/api.md, 'Fuel and charging')"
        )
    return found


def _times(row: _Row, zone: ZoneInfo) -> tuple[datetime | None, datetime | None]:
    """The purchase's time (a charge's start) and a charge's end."""
    found: dict[str, datetime] = {}
    for field in ("time", "end_time"):
        raw = row.value(field)
        if raw is None:
            if field == "time":
                row.problem(field, "no time of the purchase")
            continue
        try:
            found[field] = fuel.time_of(raw, zone)
        except ValueError as exc:
            row.problem(field, f"unparseable time: {exc}")
    time, end_time = found.get("time"), found.get("end_time")
    if time is not None and end_time is not None and end_time < time:
        row.problem("end_time", f"the charge ends ({end_time.isoformat()}) before it starts ({time.isoformat()})")
    return time, end_time


def _positive(row: _Row, field: str, unit: str, *, zero: bool, negative: bool = False) -> Decimal | None:
    """A quantity or amount, None (with a problem) when it cannot be read or is not a purchase's (`negative`: or a
    reversal's, below zero)."""
    raw = row.value(field)
    if raw is None:
        return None
    try:
        number = fuel.number_of(raw)
    except ValueError as exc:
        row.problem(field, f"unparseable number: {exc}")
        return None
    if negative and number < 0:
        pass
    elif number < 0 or (number == 0 and not zero):
        row.problem(field, f"{number} {unit} is not a purchase: a refund or reversal (冲正) is not stored")
        return None
    if abs(number) > _MOST:
        row.problem(field, f"{raw} {unit} is more than any purchase ({_MOST:,})")
        return None
    return number


def _fuel_and_quantity(row: _Row) -> tuple[Fuel | None, Decimal | None]:
    """The fuel named (None: the vehicle's own) and the quantity, in kWh when the row gives kWh and no litres."""
    litres, kwh = row.value("litres"), row.value("kwh")
    named = row.text("fuel")
    kind: Fuel | None = None
    if named is not None:
        kind = fuel.fuel_of(named)
        if kind is None:
            row.problem("fuel", f"{named!r} names neither gasoline (汽油), diesel (柴油) nor electricity (电)")
    field = "kwh" if kwh is not None and litres is None else "litres"
    if field == "kwh":
        kind = kind or "electricity"
        if kind != "electricity":
            row.problem("fuel", f"{named!r} is no electricity, and the row gives kWh")
    elif kind == "electricity" and litres is not None:
        row.problem("fuel", f"{named!r} is electricity, and the row gives litres")
    if (kwh if field == "kwh" else litres) is None:
        row.problem(field, "no quantity (litres or kWh)")
    return kind, _positive(row, field, "kWh" if field == "kwh" else "L", zero=False, negative=True)


def _read(row: _Row, zone: ZoneInfo) -> _Read | None:
    for field, (_, value) in row.cells.items():
        # PostgreSQL's text holds no NUL: a CSV cell with one would fail the whole import.
        if isinstance(value, str) and "\x00" in value:
            row.problem(field, "holds a NUL character, which no statement's text has")
    if row.problems:
        return None
    plate = row.text("plate")
    if plate is None:
        row.problem("plate", "no plate: a purchase is resolved to its vehicle by the plate")
    time, end_time = _times(row, zone)
    kind, quantity = _fuel_and_quantity(row)
    reversal = quantity is not None and quantity < 0
    amount = _positive(row, "amount", "yuan", zero=True, negative=reversal)
    if reversal and amount is not None and amount > 0:
        row.problem("amount", f"{amount} yuan with {quantity} of fuel: a reversal (冲正) gives back a negative amount")
    if row.problems or plate is None or time is None or quantity is None:
        return None
    return _Read(
        row.number, plate, row.text("card"), time, end_time, row.text("station"), kind, row.text("fuel"), quantity,
        amount,
    )  # fmt: skip


async def import_statement(
    conn: AsyncConnection,
    scope: Scope,
    rows: Sequence[tuple[int, Sequence[object]]],
    *,
    statement: str,
    sheet: str,
    zone: ZoneInfo,
    densities: Densities,
    user_id: int | None,
) -> FuelImportResult:
    """Read a statement's rows (the first is the header), resolve each plate to the vehicle in the scope that held
    it at the purchase time, and store the purchases that fit, none twice.

    Raises:
        FileRefused: the header names no plate, time or quantity column.
    """
    (_, header), data = rows[0], rows[1:]
    columns = _columns(header)
    problems: list[FuelRowProblem] = []
    read: list[_Read] = []
    for number, cells in data:
        row = _Row(
            sheet,
            number,
            {f: (title, cells[i] if i < len(cells) else None) for f, (i, title) in columns.items()},
        )
        item = _read(row, zone)
        problems.extend(row.problems)
        if item is not None:
            read.append(item)
    holders = await fuel_db.holders(conn, zone.key, [(plate_key(r.plate), r.time) for r in read])
    plate_header = columns["plate"][1]
    fuel_header = columns.get("fuel", columns.get("litres", columns.get("kwh", (0, ""))))[1]
    new: list[fuel_db.NewPurchase] = []
    reversing: list[fuel_db.NewPurchase] = []  # quantity and amount negative
    seen: dict[tuple[str, datetime, str, Decimal], int] = {}

    def refuse(item: _Read, column: str | None, reason: str) -> None:
        problems.append(FuelRowProblem(sheet=sheet, row=item.number, column=column, reason=reason))

    for item in read:
        day = item.time.astimezone(zone).date()
        every = holders.get((plate_key(item.plate), item.time), [])
        mine = [h for h in every if scope.allows(h.organisation_id)]
        if not mine:
            whose = "of your units " if not scope.everything else ""
            refuse(item, plate_header, f"unknown plate: no vehicle {whose}held plate {item.plate} on {day}")
            continue
        if len(mine) > 1:
            ids = ", ".join(h.vehicle_id for h in mine)
            refuse(item, plate_header, f"plate {item.plate} was held by several vehicles on {day} ({ids})")
            continue
        holder = mine[0]
        kind = item.fuel or _fuel_of_vehicle(holder.energy)
        if kind is None:
            refuse(item, fuel_header, f"vehicle {holder.vehicle_id} is battery electric: it buys no litres")
            continue
        if item.quantity < 0:
            reversing.append(
                _purchase(item, holder.vehicle_id, day, kind, densities=densities, statement=statement, sheet=sheet)
            )
            continue
        key = (holder.vehicle_id, item.time, kind, item.quantity)
        if key in seen:
            refuse(item, None, f"duplicate of row {seen[key]}: the same vehicle, time, fuel and quantity")
            continue
        seen[key] = item.number
        new.append(_purchase(item, holder.vehicle_id, day, kind, densities=densities, statement=statement, sheet=sheet))
    pairs = pair(reversing, new)
    paired = {id(o) for o in pairs.values() if o is not None}
    new = [p for p in new if id(p) not in paired]
    fresh = await _not_stored(conn, new, problems)
    async with conn.transaction():
        imported = await fuel_db.add(conn, fresh, user_id)
        reversals = [await _reverse(conn, r, pairs[i], user_id, problems=problems) for i, r in enumerate(reversing)]
    return FuelImportResult(
        statement=statement,
        sheet=sheet,
        rows=len(data),
        imported=imported,
        duplicates=len(new) - imported,
        problems=sorted(problems, key=lambda p: p.row),
        reversals=sorted((r for r in reversals if r is not None), key=lambda r: r.row),
    )


async def _not_stored(
    conn: AsyncConnection, new: Sequence[fuel_db.NewPurchase], problems: list[FuelRowProblem]
) -> list[fuel_db.NewPurchase]:
    """The purchases not stored before; each that was is named a duplicate among the problems."""
    before = await fuel_db.stored_already(conn, [(p.vehicle_id, p.time, p.fuel, p.quantity) for p in new])
    for p in new:
        found = before.get((p.vehicle_id, p.time, p.fuel, p.quantity))
        if found is not None:
            reason = f"duplicate: imported before from {found[0]}, row {found[1]}"
            problems.append(FuelRowProblem(sheet=p.sheet, row=p.row_number, column=None, reason=reason))
    return [p for p in new if (p.vehicle_id, p.time, p.fuel, p.quantity) not in before]


def _purchase(
    item: _Read, vehicle_id: str, day: date, kind: Fuel, *, densities: Densities, statement: str, sheet: str
) -> fuel_db.NewPurchase:
    return fuel_db.NewPurchase(
        vehicle_id, item.plate, item.card, item.time, item.end_time, day, item.station, kind, item.grade,
        item.quantity, densities.of(kind), item.amount, statement, sheet, item.number,
    )  # fmt: skip


def reverses(reversal: fuel_db.NewPurchase, original: fuel_db.NewPurchase) -> bool:
    """Whether a reversal (冲正) row reverses a purchase row: the same vehicle, fuel and quantity, the same amount and
    card where both give one, the purchase at or before the reversal."""
    return (
        original.vehicle_id == reversal.vehicle_id
        and original.fuel == reversal.fuel
        and original.quantity == -reversal.quantity
        and original.time <= reversal.time
        and (original.amount is None or reversal.amount is None or original.amount == -reversal.amount)
        and (
            original.card_number is None or reversal.card_number is None or original.card_number == reversal.card_number
        )
    )


def pair(
    reversals: Sequence[fuel_db.NewPurchase], purchases: Sequence[fuel_db.NewPurchase]
) -> dict[int, fuel_db.NewPurchase | None]:
    """Each reversal's index -> the purchase row of the same statement it reverses (the latest one at or before it,
    each purchase reversed once), or None: its original is to be found among those stored before."""
    taken: set[int] = set()
    out: dict[int, fuel_db.NewPurchase | None] = {}
    for index in sorted(range(len(reversals)), key=lambda i: reversals[i].time):
        reversal = reversals[index]
        found = [p for p in purchases if id(p) not in taken and reverses(reversal, p)]
        original = max(found, key=lambda p: p.time) if found else None
        if original is not None:
            taken.add(id(original))
        out[index] = original
    return out


async def _reverse(
    conn: AsyncConnection,
    reversal: fuel_db.NewPurchase,
    original: fuel_db.NewPurchase | None,
    user_id: int | None,
    *,
    problems: list[FuelRowProblem],
) -> FuelReversal | None:
    """Apply a reversal: withdraw its original where one is stored (an earlier import's), or name it a problem when
    it reverses nothing found."""
    quantity = -reversal.quantity
    why = f"reversed (冲正) by {reversal.statement}, row {reversal.row_number}"
    row = reversal.row_number
    if original is not None:
        stored = await withdrawals_db.stored(conn, original.vehicle_id, original.time, original.fuel, original.quantity)
        if stored is not None:
            await withdrawals_db.withdraw(conn, stored, why, user_id, reversal.time)
        note = f"reverses row {original.row_number}: neither is counted"
        return FuelReversal(
            sheet=reversal.sheet, row=row, original_row=original.row_number, withdrawn=stored, note=note
        )
    applied = await withdrawals_db.reversal_applied(conn, reversal.vehicle_id, reversal.fuel, quantity, reversal.time)
    if applied is not None:
        note = f"applied before: purchase {applied} is withdrawn"
        return FuelReversal(sheet=reversal.sheet, row=row, original_row=None, withdrawn=applied, note=note)
    found = await withdrawals_db.original(
        conn,
        vehicle_id=reversal.vehicle_id,
        fuel=reversal.fuel,
        quantity=quantity,
        amount=None if reversal.amount is None else -reversal.amount,
        card=reversal.card_number,
        before=reversal.time,
    )
    if found is None:
        problems.append(
            FuelRowProblem(
                sheet=reversal.sheet,
                row=row,
                column=None,
                reason=f"a reversal (冲正) of no purchase found: none of vehicle {reversal.vehicle_id} with "
                f"{quantity} of {reversal.fuel} at or before {reversal.time.isoformat()}, in this statement or "
                "stored before and not withdrawn",
            )
        )
        return None
    await withdrawals_db.withdraw(conn, found, why, user_id, reversal.time)
    note = f"withdraws purchase {found}, imported before"
    return FuelReversal(sheet=reversal.sheet, row=row, original_row=None, withdrawn=found, note=note)


def _fuel_of_vehicle(energy: str | None) -> Fuel | None:
    """What a vehicle buys in litres when the statement names no fuel: its own (a plug-in hybrid's is gasoline)."""
    if energy in LIQUID:
        return energy
    return "gasoline" if energy == "plug_in_hybrid" else None
