"""An office's bill list imported as entries: every sheet of an XLSX workbook (or a CSV file), each with a header row
naming its columns in English or Chinese, one entry a row.

Every bad row is named (sheet, row as Excel numbers it, column, reason) and then nothing is written; otherwise the new
entries are written in one transaction. A row of a document that counts already with the same figures adds nothing
(a file imported again adds nothing twice); one with other figures is a bad row (correct that entry instead), and so
is one that would count some of the days of an entry that counts, or of an earlier row, twice (the same institution,
type and purpose, both stating a quantity or both a cost): an overlap that is meant is entered by hand, allowed.
Another unit's institution is named as one that does not exist.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Sequence
from contextlib import closing
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from openpyxl import load_workbook
from psycopg import AsyncConnection
from pydantic import BaseModel, ValidationError

from api import errors
from api.energy.entries import EntryCreate, figures_of, overlap_refused, overlapping, same_document
from api.registry.spreadsheets import (
    MAX_LISTED_PROBLEMS,
    MAX_ROWS,
    FileRefused,
    check_workbook,
    is_blank,
    is_comment,
    read_rows,
)
from db import entries as entries_db
from db.scope import Scope
from domain.labels import ENERGY_TYPE, ENTRY_PURPOSE, ENTRY_SOURCE

# Each column: its key, the headers a file may give it (compared without case and spaces), and whether it is needed.
COLUMNS: Final[tuple[tuple[str, tuple[str, ...], bool], ...]] = (
    ("institution_id", ("institution_id", "机构编号", "机构代码"), True),
    ("energy_type", ("energy_type", "能源品种", "品种"), True),
    ("purpose", ("purpose", "用途"), False),
    ("period_start", ("period_start", "起始日期", "开始日期"), True),
    ("period_last_day", ("period_last_day", "截止日期", "结束日期"), True),
    ("quantity", ("quantity", "数量", "用量"), False),
    ("unit", ("unit", "单位"), False),
    ("cost", ("cost", "费用", "费用(元)", "金额", "金额(元)"), False),
    ("source", ("source", "来源"), True),
    ("reference", ("reference", "单据号", "账单号", "票据号"), False),
)
# Codes by their Chinese labels, as a file in Chinese writes them.
_CODES: Final[dict[str, dict[str, str]]] = {
    "energy_type": {label: code for code, label in ENERGY_TYPE.items()},
    "purpose": {label: code for code, label in ENTRY_PURPOSE.items()},
    "source": {label: code for code, label in ENTRY_SOURCE.items()},
}


# A date as offices type it when the cell is text: 2025-01-31, 2025/1/31, 2025.1.31, 2025年1月31日.
_DATE: Final = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")


class RowProblem(BaseModel):
    """Why a row of an imported bill list does not fit."""

    sheet: str | None  # the sheet's name; null in a CSV file
    row: int  # as Excel numbers it
    column: str | None  # the column's header as the file has it, when the problem is of one column
    reason: str


class EntryImportRefused(BaseModel):
    """422 of an import: which rows, where and why; nothing was written."""

    detail: str
    problems: list[RowProblem] = []


class EntryImportResult(BaseModel):
    """What an import wrote, in one transaction."""

    rows: int = 0  # the rows of the file that hold data
    created: int = 0
    unchanged: int = 0  # rows whose document counts already with the same figures: nothing added


class RowsRefused(FileRefused):
    """Rows do not fit: `problems` says which and why (422); nothing was written."""

    def __init__(self, problems: list[RowProblem]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.sheet or "", p.row))
        super().__init__(
            f"{len(problems):,} problems; nothing was imported: correct the rows and send the whole file again"
        )

    def body(self) -> dict[str, Any]:
        return EntryImportRefused(detail=str(self), problems=self.problems[:MAX_LISTED_PROBLEMS]).model_dump(
            mode="json"
        )


Sheet = tuple[str | None, list[tuple[int, Sequence[object]]]]


def read_sheets(content: bytes) -> list[Sheet]:
    """Every sheet of an XLSX workbook that holds rows (comment rows before the header left out), or a CSV file as
    one sheet without a name; each row with its number as Excel shows it, the header first.

    Raises:
        TooLarge: more than MAX_ROWS rows in all, or a workbook that unpacks to too much.
        FileRefused: the file cannot be read.
    """
    if not content.startswith(b"PK"):
        return [(None, read_rows(content))]
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            check_workbook(archive)
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except FileRefused:
        raise
    except Exception as exc:  # a file from outside may break the reader in any way: say so, with its words
        raise FileRefused(f"the file is not an XLSX workbook that can be read ({exc!r}): save it as .xlsx") from exc
    sheets: list[Sheet] = []
    total = 0
    with closing(book):
        for sheet in book.worksheets:
            sheet.reset_dimensions()  # the size a workbook states may be wrong
            rows: list[tuple[int, Sequence[object]]] = []
            try:
                for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
                    if all(is_blank(v) for v in row) or (not rows and is_comment(row)):
                        continue
                    total += 1
                    if total > MAX_ROWS:
                        raise errors.TooLarge(f"the file has more than {MAX_ROWS:,} rows: split it into several files")
                    rows.append((number, list(row)))
            except errors.Refused:
                raise
            except Exception as exc:  # as above: a broken sheet
                raise FileRefused(f"the sheet {sheet.title!r} cannot be read ({exc!r}): save it again") from exc
            if rows:
                sheets.append((sheet.title, rows))
    if not sheets:
        raise FileRefused("the file is empty: its first row names the columns, the rows below it hold the entries")
    return sheets


async def import_entries(conn: AsyncConnection, scope: Scope, sheets: list[Sheet], user_id: int) -> EntryImportResult:
    """Import the rows of the sheets as entries: all of them, or none and every problem.

    Raises:
        RowsRefused: rows do not fit.
    """
    problems: list[RowProblem] = []
    items: list[tuple[str | None, int, EntryCreate]] = []
    for name, rows in sheets:
        items += _items(name, rows, problems)
    result = EntryImportResult(rows=sum(len(rows) - 1 for _, rows in sheets))
    async with conn.transaction():
        institutions = sorted({item.institution_id for _, _, item in items})
        visible = {i for i in institutions if await entries_db.institution_visible(conn, scope, i)}
        await entries_db.lock_institutions(conn, visible)
        counted = await entries_db.counted_by_key(conn, visible)
        existing = await entries_db.counted(conn, visible)
        seen: dict[tuple[Any, ...], tuple[str | None, int]] = {}
        new: list[entries_db.Figures] = []
        new_rows: list[tuple[str | None, int]] = []
        for sheet, number, item in items:
            if item.institution_id not in visible:
                problems.append(
                    RowProblem(sheet=sheet, row=number, column=None, reason=f"no institution {item.institution_id}")
                )
                continue
            figures = figures_of(item, item.institution_id)
            key = figures.key()
            if key in seen:
                where = f"{seen[key][0]!r} " if seen[key][0] else ""
                problems.append(
                    RowProblem(
                        sheet=sheet, row=number, column=None, reason=f"the same document as {where}row {seen[key][1]}"
                    )
                )
                continue
            seen[key] = (sheet, number)
            if key in counted:
                if counted[key] == figures:
                    result.unchanged += 1
                else:
                    problems.append(RowProblem(sheet=sheet, row=number, column=None, reason=same_document(None)))
                continue
            # A document that differs only in its number or its period (a bill typed by hand, then imported with its
            # number; a monthly bill and a quarterly statement) would count its days twice: named, never added.
            clash = overlapping(figures, existing)
            if clash:
                entry_id, other = clash[0]
                reason = overlap_refused(f"entry {entry_id}", other)
                problems.append(RowProblem(sheet=sheet, row=number, column=None, reason=reason))
                continue
            earlier = overlapping(figures, list(enumerate(new)))
            if earlier:
                in_sheet, row = new_rows[earlier[0][0]]
                name = f"{in_sheet!r} row {row}" if in_sheet else f"row {row}"
                problems.append(
                    RowProblem(
                        sheet=sheet,
                        row=number,
                        column=None,
                        reason=overlap_refused(name, earlier[0][1], "keep one of the two rows"),
                    )
                )
                continue
            new.append(figures)
            new_rows.append((sheet, number))
        if problems:
            raise RowsRefused(problems)
        for figures in new:
            await entries_db.insert(conn, figures, user_id)
    result.created = len(new)
    return result


def _items(
    sheet: str | None, rows: list[tuple[int, Sequence[object]]], problems: list[RowProblem]
) -> list[tuple[str | None, int, EntryCreate]]:
    (header_row, header), data = rows[0], rows[1:]
    headers: dict[str, str] = {}
    positions: dict[str, int] = {}
    names = {_words(h): key for key, hs, _ in COLUMNS for h in hs}
    for index, cell in enumerate(header):
        if isinstance(cell, str) and _words(cell) in names:
            key = names[_words(cell)]
            positions[key], headers[key] = index, cell
    missing = [hs[0] for key, hs, needed in COLUMNS if needed and key not in positions]
    if missing:
        problems.append(
            RowProblem(
                sheet=sheet, row=header_row, column=None, reason=f"the header lacks the columns {', '.join(missing)}"
            )
        )
        return []
    out = []
    for number, row in data:
        values: dict[str, object] = {}
        bad = False
        for key, index in positions.items():
            cell = row[index] if index < len(row) else None
            try:
                value = _value(key, cell)
            except ValueError as exc:
                problems.append(RowProblem(sheet=sheet, row=number, column=headers[key], reason=str(exc)))
                bad = True
                continue
            if value is not None:
                values[key] = value
        if bad:
            continue
        last = values.pop("period_last_day", None)
        if isinstance(last, date):
            values["period_end"] = last + timedelta(days=1)
        try:
            out.append((sheet, number, EntryCreate.model_validate(values)))
        except ValidationError as exc:
            for error in exc.errors():
                field = str(error["loc"][0]) if error["loc"] else None
                field = "period_last_day" if field == "period_end" else field
                reason = "is empty" if error["type"] == "missing" else error["msg"].removeprefix("Value error, ")
                problems.append(RowProblem(sheet=sheet, row=number, column=headers.get(field or ""), reason=reason))
    return out


def _value(key: str, cell: object) -> object:
    """A cell as the field reads it; None when empty.

    Raises:
        ValueError: a cell that cannot be the field (why).
    """
    if is_blank(cell):
        return None
    if key in ("period_start", "period_last_day"):
        if isinstance(cell, datetime):
            return cell.date()
        if isinstance(cell, date):
            return cell
        found = _DATE.match(str(cell).strip())
        try:
            if found is None:
                raise ValueError(cell)
            return date(*(int(part) for part in found.groups()))
        except ValueError as exc:
            raise ValueError("is not a date (2025-01-31, 2025/1/31 or 2025年1月31日)") from exc
    if key in ("quantity", "cost"):
        if isinstance(cell, bool):
            raise ValueError("is not a number")
        try:
            return Decimal(str(cell).strip().replace(",", ""))
        except InvalidOperation as exc:
            raise ValueError("is not a number") from exc
    text = str(cell).strip()
    return _CODES.get(key, {}).get(text, text)


def _words(text: str) -> str:
    return "".join(text.replace("（", "(").replace("）", ")").split()).casefold()
