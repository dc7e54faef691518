"""Spreadsheet files as an import reads them: the first sheet of an XLSX workbook, or a CSV file (UTF-8, or
GB18030 as Excel saves CSV on Chinese Windows), into rows numbered as Excel shows them, within limits that keep a
small file from unpacking into gigabytes; and the refusals of a file, whole or by rows."""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile
from collections.abc import Generator, Sequence
from contextlib import closing
from typing import Any, Final

from openpyxl import load_workbook

from api import errors
from api.files.workbook import csv_cell
from api.registry.models import ImportRefused, RowProblem

# What one import may hold: a city's registry is ~1,000 institutions and a few thousand meters; a province's ten times.
MAX_UPLOAD_BYTES: Final = 10 * 1024 * 1024
MAX_ROWS: Final = 50_000
# An XLSX is a zip: what it may unpack to, so that a small file cannot expand into gigabytes of XML.
MAX_UNPACKED_BYTES: Final = 40 * MAX_UPLOAD_BYTES
# The problems a refusal lists (it counts them all).
MAX_LISTED_PROBLEMS: Final = 1000


class FileRefused(errors.Refused):
    """The file as a whole cannot be imported; the message says why and what to do (422)."""


class RowsRefused(FileRefused):
    """Rows of the file do not fit: `problems` says which and why (422, listing them)."""

    def __init__(self, problems: list[RowProblem]) -> None:
        self.problems = sorted(problems, key=lambda p: p.row)
        rows = len({p.row for p in problems})
        listed = "" if len(problems) <= MAX_LISTED_PROBLEMS else f" (the first {MAX_LISTED_PROBLEMS:,} are listed)"
        super().__init__(
            f"{len(problems):,} problems in {rows:,} rows{listed}; nothing was imported: correct the rows and send "
            "the whole file again"
        )

    def body(self) -> dict[str, Any]:
        """The 422's body: ImportRefused."""
        return ImportRefused(detail=str(self), problems=self.problems[:MAX_LISTED_PROBLEMS]).model_dump(mode="json")


def is_blank(value: object) -> bool:
    """Whether a cell holds nothing: none, or only spaces."""
    return value is None or (isinstance(value, str) and not value.strip())


def read_rows(content: bytes, *, max_rows: int = MAX_ROWS) -> list[tuple[int, Sequence[object]]]:
    """The rows of the file that hold something, each with its number as Excel shows it: those of the first sheet of
    an XLSX workbook (a zip, starting with b"PK"), or those of a CSV file (UTF-8, with or without a byte-order mark,
    or GB18030). The first is the header.

    Raises:
        TooLarge: more than `max_rows` rows of data, or an XLSX that unpacks to more than MAX_UNPACKED_BYTES.
        FileRefused: the file is not an XLSX workbook or CSV text that can be read.
    """
    rows: list[tuple[int, Sequence[object]]] = []
    with closing(_xlsx_rows(content) if content.startswith(b"PK") else _csv_rows(content)) as read:
        for number, row in enumerate(read, start=1):
            if all(is_blank(value) for value in row):
                continue
            if len(rows) > max_rows:  # the header and max_rows rows of data are in
                raise errors.TooLarge(f"the file has more than {max_rows:,} rows: split it into several files")
            rows.append((number, row))
    if not rows:
        raise FileRefused("the file is empty: its first row names the columns, the rows below it hold the items")
    return rows


def _xlsx_rows(content: bytes) -> Generator[Sequence[object], None, None]:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            unpacked = sum(item.file_size for item in archive.infolist())
    except zipfile.BadZipFile as exc:
        raise FileRefused(f"the file is neither an XLSX workbook nor CSV text ({exc})") from exc
    if unpacked > MAX_UNPACKED_BYTES:
        raise errors.TooLarge(f"the workbook unpacks to more than {MAX_UNPACKED_BYTES // (1024 * 1024)} MB: split it")
    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # a file from outside may break the reader in any way: say so, with its words
        raise FileRefused(
            f"the file is a zip but not an XLSX workbook that can be read ({exc!r}): save it as .xlsx"
        ) from exc
    try:
        sheet = book.worksheets[0]
        # The size a workbook states may be wrong (some programs write A1): read the rows that are there.
        sheet.reset_dimensions()
        try:
            for row in sheet.iter_rows(values_only=True):
                yield list(row)
        except Exception as exc:  # as above: a broken sheet
            raise FileRefused(f"the workbook's first sheet cannot be read ({exc!r}): save it again as .xlsx") from exc
    finally:
        book.close()


def _csv_rows(content: bytes) -> Generator[Sequence[object], None, None]:
    if content.startswith(b"\xd0\xcf\x11\xe0"):
        raise FileRefused("the file is an old Excel workbook (.xls): save it as .xlsx or CSV and send that")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = content.decode("gb18030")  # Excel's "CSV (逗号分隔)" on Chinese Windows
        except UnicodeDecodeError as exc:
            raise FileRefused(
                "the file is neither an XLSX workbook nor CSV text in UTF-8 or GB18030: save it as .xlsx or as "
                "CSV UTF-8"
            ) from exc
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        # The apostrophe an export put before text that a spreadsheet would run as a formula is not the value.
        for row in reader:
            yield [csv_cell(cell) for cell in row]
    except csv.Error as exc:
        raise FileRefused(f"record {reader.line_num} of the CSV cannot be read: {exc}") from exc


def fingerprint(content: bytes) -> str:
    """The SHA-256 of a file, for the audit log: which file was imported."""
    return hashlib.sha256(content).hexdigest()
