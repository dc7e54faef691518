"""Sheets written as XLSX for staff and CSV for systems, streaming rows so that memory stays bounded.

XLSX goes through openpyxl's write-only mode: each row becomes XML in a temporary file on disk as soon as
it is read, and the files are zipped into the target when the workbook is saved. Only the first
`WIDTH_SAMPLE` rows of a sheet are held at once, to size its columns before the first row is written (the
column widths come before the rows in the file). A zip cannot be sent before it is finished, so XLSX is
not streamed to a client while it is written: `spool_xlsx` writes it to a spooled temporary file (memory
up to a bound, disk beyond) and `file_chunks` then sends that. CSV has no such limit: `csv_chunks` yields
bytes as the rows come.

Disk, not memory, is what a large XLSX export takes: until the save, openpyxl keeps each sheet's XML
uncompressed in the temporary directory (about 60 bytes a cell: 23 MB for 200,000 rows of two numbers,
which zip to under 3 MB).

The generators here are synchronous: Starlette's StreamingResponse iterates them in its thread pool, so
they do not block the event loop.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from datetime import date
from decimal import Decimal
from io import BytesIO, TextIOWrapper
from itertools import chain, islice
from tempfile import SpooledTemporaryFile
from typing import IO, Any, Literal

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from api.files.table import Cell, Column, Sheet
from domain.labels import Language

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"

# Rows held to size a sheet's columns; the only rows of a sheet ever in memory together.
WIDTH_SAMPLE = 100
# A spooled XLSX stays in memory up to this size and moves to disk beyond it.
SPOOL_MEMORY = 8 * 1024 * 1024
CHUNK_SIZE = 64 * 1024

# Excel's limits: a sheet has at most 1,048,576 rows (the header is one of them); a sheet name has at most
# 31 characters, none of these, not an apostrophe at either end, and is not 'History' (Excel's own).
EXCEL_ROWS = 1_048_576
_SHEET_NAME_LENGTH = 31
_SHEET_NAME_FORBIDDEN = str.maketrans(dict.fromkeys("\\/?*[]:", "_"))
_RESERVED_SHEET_NAME = "history"
# Column widths in Excel's units (the width of a '0'); beyond the cap a column would hide its neighbours.
_MIN_WIDTH = 6
_MAX_WIDTH = 60
# The header is bold and carries the filter's drop-down button.
_HEADER_ALLOWANCE = 4

Header = Literal["key", "zh", "en"]

# The control characters that XML 1.0 cannot carry, as openpyxl knows them.
_ILLEGAL_CHARACTERS: re.Pattern[str] = ILLEGAL_CHARACTERS_RE

# The write-only worksheet is a different class from the one the stubs describe: Any here.
_Worksheet = Any


def write_xlsx(sheets: Iterable[Sheet], target: IO[bytes], *, language: Language = "zh") -> None:
    """Write `sheets` as one XLSX workbook to `target`, reading each sheet's rows once, one at a time.

    Each sheet gets its caption's lines if it has any, then headers in `language` (bold, frozen, with a filter),
    number formats by column kind,
    column widths from the header and the first `WIDTH_SAMPLE` rows (CJK characters count double), and its
    chart if it asks for one (a chart of a sheet with no rows is left out: it would plot nothing). Sheet
    names are made valid for Excel: forbidden characters become '_', long names are cut to 31 characters,
    and names that collide get a number.

    Args:
        sheets: the sheets, in order.
        target: a binary file opened for writing; it is not closed.
        language: 'zh' (the default) or 'en', for sheet names, headers and chart titles.

    Raises:
        ValueError: a row does not fit its sheet (wrong length, a value not of its column's kind), or a sheet
            has more rows than Excel opens. The workbook is saved only once every row is written, so
            `target` is untouched then.
    """
    workbook = Workbook(write_only=True)
    try:
        taken: set[str] = set()
        for sheet in sheets:
            name = sheet_name(sheet.title(language) or sheet.key, taken)
            taken.add(name.casefold())
            _write_sheet(workbook.create_sheet(name), sheet, language)
        workbook.save(target)
    except BaseException:
        _discard(workbook)
        raise


def spool_xlsx(
    sheets: Iterable[Sheet], *, language: Language = "zh", memory: int = SPOOL_MEMORY
) -> SpooledTemporaryFile[bytes]:
    """The workbook of `sheets` written to a spooled temporary file and rewound, ready for `file_chunks`.

    Write it before the response starts, so that a row that does not fit becomes an error response rather
    than a broken download:

        spool = await run_in_threadpool(spool_xlsx, sheets, language=language)
        return StreamingResponse(file_chunks(spool), media_type=XLSX_MEDIA_TYPE)

    Args:
        sheets: the sheets, in order; see `write_xlsx`.
        language: 'zh' (the default) or 'en'.
        memory: bytes kept in memory before the file moves to disk.
    """
    # Not a `with`: the open file is what this returns; `file_chunks` closes it.
    spool: SpooledTemporaryFile[bytes] = SpooledTemporaryFile(max_size=memory)  # noqa: SIM115
    try:
        write_xlsx(sheets, spool, language=language)
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    return spool


def file_chunks(file: IO[bytes], chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """The rest of `file` in chunks of `chunk_size` bytes; the file is closed at the end or when the consumer
    stops early (a client that went away), which deletes a temporary file."""
    with file:
        while chunk := file.read(chunk_size):
            yield chunk


def xlsx_chunks(sheets: Iterable[Sheet], *, language: Language = "zh", chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """The XLSX workbook of `sheets` in chunks, written to a spooled temporary file on the first request.

    Errors in the rows surface only when iteration starts, after a response would have begun: routes
    that want an error response use `spool_xlsx` and `file_chunks` instead.
    """
    yield from file_chunks(spool_xlsx(sheets, language=language), chunk_size)


def write_csv(
    sheet: Sheet,
    target: IO[str],
    *,
    header: Header = "key",
    bom: bool = False,
    comments: Iterable[Sequence[str]] = (),
) -> None:
    """Write `sheet` as CSV (RFC 4180, CRLF line ends) to a text stream, reading its rows once, one at a time.

    Values are written for machines: ISO dates ('2024-03-01'), months as '2024-03', numbers plain with a
    '.' and no thousands separators or exponent, percentages as the fraction given (0.125), empty for None.
    Text is written as given, except that text a spreadsheet would run as a formula gets a leading apostrophe
    (`csv_text`); numbers are never changed, so -3.5 stays a number.

    Args:
        sheet: the sheet; its chart is ignored.
        target: a UTF-8 text stream opened with newline=''; it is not closed.
        header: 'key' (the default) for the columns' stable keys, which systems read; 'zh' or 'en' for
            headers people read.
        bom: start with a byte-order mark. Excel reads a CSV as UTF-8, and so shows Chinese correctly, only
            when it starts with one; other systems often take it for part of the first header, hence off by
            default. Do not set it on a stream whose codec writes one itself ('utf-8-sig').
        comments: records written before the header, each starting with a cell that starts with '#' (the
            file's provenance, api/files/provenance.py); their other cells are guarded as text is.
    """
    if bom:
        target.write("\ufeff")
    for line in _csv_lines(sheet, header, comments):
        target.write(line)


def csv_chunks(
    sheet: Sheet,
    *,
    header: Header = "key",
    bom: bool = False,
    comments: Iterable[Sequence[str]] = (),
    chunk_size: int = CHUNK_SIZE,
) -> Iterator[bytes]:
    """`write_csv`'s output as UTF-8 bytes, produced as the rows are read, in chunks of `chunk_size` bytes or
    a row more.

    A row that does not fit raises mid-stream, after a response has begun: the client gets a cut file.
    """
    buffer = BytesIO()
    # Written through at once, so that the buffer's size is the bytes of the rows written so far.
    text = TextIOWrapper(buffer, encoding="utf-8", newline="", write_through=True)
    if bom:
        text.write("\ufeff")
    for line in _csv_lines(sheet, header, comments):
        text.write(line)
        if buffer.tell() >= chunk_size:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue()


# What a CSV cell is quoted for: the separator, the quote, a line break (RFC 4180), and '#', which readers that skip
# comment lines (pandas' comment='#') take for the start of a comment anywhere outside quotes.
_QUOTED = re.compile(r'[,"\r\n#]')


def csv_line(cells: Sequence[str], *, comment: bool = False) -> str:
    """One CSV record (RFC 4180) ending in CRLF: a cell is quoted when it holds a comma, a quote, a line break or a
    '#', its quotes doubled; a record of one empty cell is written '""', so that it is not a blank line. A
    `comment` record's first cell ('#key' of the provenance) is left unquoted: the line starts with its '#'."""
    if len(cells) == 1 and cells[0] == "":
        return '""\r\n'
    out = [
        cell if (comment and number == 0) or not _QUOTED.search(cell) else '"' + cell.replace('"', '""') + '"'
        for number, cell in enumerate(cells)
    ]
    return ",".join(out) + "\r\n"


# What makes a spreadsheet read a CSV cell as a formula (OWASP, "CSV Injection"): =, +, - and @, and a tab or
# carriage return before one of them. A cell already starting with apostrophes before one is guarded too, so that
# `csv_cell` undoes exactly what `csv_text` did and any text makes the round trip.
_FORMULA = re.compile(r"'*[=+\-@\t\r]")


def csv_text(text: str) -> str:
    """`text` as a CSV cell that a spreadsheet shows as text, never runs: with an apostrophe before it when it starts
    (after any apostrophes) with = + - @, a tab or a carriage return. Excel and LibreOffice take a leading apostrophe
    as "this is text" and do not show it. Only text goes through here: numbers, typed by their column, are data,
    and a negative one is no formula."""
    return "'" + text if _FORMULA.match(text) else text


def csv_cell(text: str) -> str:
    """A CSV cell as `csv_text` had it: its guarding apostrophe removed, for an import of an export to read back the
    values exported."""
    return text[1:] if text.startswith("'") and _FORMULA.match(text, 1) else text


def sheet_name(title: str, taken: Iterable[str] = ()) -> str:
    """`title` made a valid Excel sheet name, distinct (ignoring case) from the casefolded names in `taken`.

    Forbidden characters (\\ / ? * [ ] :) and control characters become '_', apostrophes at either end are
    dropped, the name is cut to 31 characters (UTF-16 units, as Excel counts), and 'History', which Excel
    reserves, becomes 'History_'. A name that is taken gets ' (2)', ' (3)'... within the 31 characters.
    """
    name = "".join("_" if unicodedata.category(char) == "Cc" else char for char in title)
    name = name.translate(_SHEET_NAME_FORBIDDEN).strip().strip("'").strip() or "Sheet"
    if name.casefold() == _RESERVED_SHEET_NAME:
        name += "_"
    name = _cut(name, _SHEET_NAME_LENGTH)
    used = set(taken)
    candidate, number = name, 1
    while candidate.casefold() in used:
        number += 1
        suffix = f" ({number})"
        candidate = _cut(name, _SHEET_NAME_LENGTH - len(suffix)).rstrip().rstrip("'") + suffix
    return candidate


def _cut(text: str, units: int) -> str:
    # Excel counts UTF-16 units: a character beyond the Basic Multilingual Plane takes two.
    while len(text.encode("utf-16-le")) > 2 * units:
        text = text[:-1]
    return text


def _write_sheet(worksheet: _Worksheet, sheet: Sheet, language: Language) -> None:
    columns = sheet.columns
    rows = (_coerce_row(sheet, row, number) for number, row in enumerate(sheet.rows, start=1))
    # The widths are written before the first row, so they can only come from the rows read so far.
    sample = list(islice(rows, WIDTH_SAMPLE))
    for index, column in enumerate(columns, start=1):
        width = _width(column, language, (row[index - 1] for row in sample))
        worksheet.column_dimensions[get_column_letter(index)].width = width
    # The header's row: after the caption's lines, if any.
    top = len(sheet.caption) + 1
    worksheet.freeze_panes = f"A{top + 1}"

    bold = Font(bold=True)
    for number, line in enumerate(sheet.caption):
        cell = WriteOnlyCell(worksheet, _xml_text(line))
        cell.data_type = "s"
        if number == 0:
            cell.font = bold
        worksheet.append([cell])
    headers = []
    for column in columns:
        cell = WriteOnlyCell(worksheet, _xml_text(column.header(language)))
        cell.font = bold
        headers.append(cell)
    worksheet.append(headers)

    formats = [_number_format(column) for column in columns]
    count = 0
    for values in chain(sample, rows):
        count += 1
        if count >= EXCEL_ROWS:
            raise ValueError(
                f"sheet {sheet.key!r} has more than {EXCEL_ROWS - 1:,} rows, more than Excel opens: "
                "export a shorter period or CSV"
            )
        worksheet.append([_cell(worksheet, value, fmt) for value, fmt in zip(values, formats, strict=True)])

    last = get_column_letter(len(columns))
    # The filter covers the data, not just the header, so that sorting it moves whole rows.
    worksheet.auto_filter.ref = f"A{top}:{last}{count + top}"
    if sheet.chart is not None and count:
        _add_chart(worksheet, sheet, language, count, top)


def _coerce_row(sheet: Sheet, row: Sequence[object], number: int) -> list[Cell]:
    if len(row) != len(sheet.columns):
        raise ValueError(
            f"sheet {sheet.key!r}, row {number}: {len(row)} values for {len(sheet.columns)} columns "
            f"({', '.join(column.key for column in sheet.columns)})"
        )
    try:
        return [column.coerce(value) for column, value in zip(sheet.columns, row, strict=True)]
    except ValueError as error:
        raise ValueError(f"sheet {sheet.key!r}, row {number}: {error}") from error


def _cell(worksheet: _Worksheet, value: Cell, number_format: str | None) -> object:
    if value is None:
        return None
    if isinstance(value, str):
        cell = WriteOnlyCell(worksheet, _xml_text(value))
        # Otherwise openpyxl makes a formula of '=...' and an error of '#N/A': a name is never either.
        cell.data_type = "s"
        return cell
    # The stubs leave out Decimal and date, which openpyxl writes as numbers and dates.
    cell = WriteOnlyCell(worksheet, value)  # type: ignore[arg-type]
    if number_format is not None:
        cell.number_format = number_format
    return cell


def _number_format(column: Column) -> str | None:
    places = "." + "0" * column.places if column.places else ""
    match column.kind:
        case "integer" | "decimal":
            return "#,##0" + places
        case "percent":
            return "0" + places + "%"
        case "date":
            return "yyyy-mm-dd"
        case "month":
            return "yyyy-mm"
        case "text":
            return None


def _width(column: Column, language: Language, values: Iterable[Cell]) -> float:
    widest = _display_width(column.header(language)) + _HEADER_ALLOWANCE
    for value in values:
        widest = max(widest, _display_width(_shown(column, value)) + 2)
    return float(min(max(widest, _MIN_WIDTH), _MAX_WIDTH))


def _shown(column: Column, value: Cell) -> str:
    # As Excel shows the value with the column's number format, which is what takes room.
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, date):
        return _iso(column, value)
    if column.kind == "percent":
        return f"{value * 100:.{column.places}f}%"
    return f"{value:,.{column.places}f}"


def _iso(column: Column, value: date) -> str:
    return f"{value.year:04}-{value.month:02}" if column.kind == "month" else value.isoformat()


def _display_width(text: str) -> int:
    # CJK (wide and fullwidth) characters take two columns of a '0'.
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def _xml_text(text: str) -> str:
    # XML 1.0 cannot carry most control characters; openpyxl refuses them. Keep a visible mark instead.
    return _ILLEGAL_CHARACTERS.sub("\ufffd", text)


def _add_chart(worksheet: _Worksheet, sheet: Sheet, language: Language, count: int, top: int) -> None:
    spec = sheet.chart
    assert spec is not None  # checked by the caller, which owns the count
    index = {column.key: number for number, column in enumerate(sheet.columns, start=1)}
    chart = BarChart() if spec.kind == "bar" else LineChart()
    chart.title = spec.title(language)
    for key in spec.values:
        # From the header row, so that each series is named by its header in the workbook's language.
        data = Reference(worksheet, min_col=index[key], min_row=top, max_row=count + top)
        chart.add_data(data, titles_from_data=True)
    chart.set_categories(Reference(worksheet, min_col=index[spec.category], min_row=top + 1, max_row=count + top))
    first = next(column for column in sheet.columns if column.key == spec.values[0])
    chart.y_axis.number_format = _number_format(first)
    # openpyxl 3.1 leaves `delete` unset, and recent Excel then hides both axes.
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    chart.width, chart.height = 24, 12
    worksheet.add_chart(chart, f"{get_column_letter(len(sheet.columns) + 2)}{top + 1}")


def _discard(workbook: Any) -> None:
    # Write-only sheets stream into temporary files that openpyxl deletes only after a save, or at exit:
    # an export that fails would otherwise leave its rows on disk for the life of the server.
    for worksheet in workbook.worksheets:
        writer = worksheet._writer  # openpyxl offers no public way to drop a sheet
        if writer is None:
            continue
        try:
            # Closing finishes the sheet's XML and its file; a sheet that broke mid-row may fail to, and is
            # deleted all the same.
            rows = worksheet._rows
            if rows is not None:
                rows.close()
            writer.close()
        finally:
            if os.path.exists(writer.out):
                writer.cleanup()


def _csv_lines(sheet: Sheet, header: Header, comments: Iterable[Sequence[str]]) -> Iterator[str]:
    for first, *rest in comments:
        if not first.startswith("#") or _QUOTED.search(first, 1):
            raise ValueError(f"a comment record starts with '#' and a plain key, not {first!r}")
        yield csv_line([first, *(csv_text(cell) for cell in rest)], comment=True)
    yield csv_line([csv_text(column.key if header == "key" else column.header(header)) for column in sheet.columns])
    for number, row in enumerate(sheet.rows, start=1):
        values = _coerce_row(sheet, row, number)
        yield csv_line([_csv_value(column, value) for column, value in zip(sheet.columns, values, strict=True)])


def _csv_value(column: Column, value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return csv_text(value)
    if isinstance(value, date):
        return _iso(column, value)
    if isinstance(value, float):
        # repr is the shortest text that reads back as the same float; Decimal drops its exponent.
        return format(Decimal(repr(value)), "f")
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)
