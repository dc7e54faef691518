"""Spreadsheet files as an import reads them: the first sheet of an XLSX workbook, or a CSV file (UTF-8, or
GB18030 as Excel saves CSV on Chinese Windows), into rows numbered as Excel shows them, within limits that keep a
small file from unpacking into gigabytes; and the refusals of a file, whole or by rows."""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile
from collections.abc import Callable, Generator, Sequence
from contextlib import closing
from typing import Any, Final
from xml.parsers import expat

from openpyxl import load_workbook
from openpyxl.xml.constants import ARC_CONTENT_TYPES, SHARED_STRINGS

from api import errors
from api.files.provenance import COMMENT
from api.files.workbook import csv_cell
from api.registry.models import ImportRefused, RowProblem

# What one import may hold: a city's registry is ~1,000 institutions and a few thousand meters; a province's ten times.
MAX_UPLOAD_BYTES: Final = 10 * 1024 * 1024
MAX_ROWS: Final = 50_000
# An XLSX is a zip, and a small one can unpack into gigabytes of XML (a 373 KB file of shared strings cost 76 s of CPU
# and 500 MB): what it may hold is checked before it is parsed (`check_workbook`). Sizes are those the zip declares,
# which Python's zipfile holds each part to when it is read. The bounds are several times what MAX_ROWS rows take:
# the registry's institutions export of 50,000 rows unpacks to 34 MB, its sheet at 9 to 1, and parses in 7 s of CPU.
MAX_UNPACKED_BYTES: Final = 128 * 1024 * 1024
MAX_PARTS: Final = 1000  # a workbook of one sheet has about ten
MAX_RATIO: Final = 100  # unpacked to packed, for parts larger than RATIO_FROM: XML of real cells zips at 5 to 20
RATIO_FROM: Final = 1024 * 1024
# Shared strings are all held in memory by the reader: each distinct text of the file once.
MAX_SHARED_STRINGS: Final = 500_000
_MANIFEST_BYTES: Final = 1024 * 1024
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


def is_comment(row: Sequence[object]) -> bool:
    """Whether a row before the header is a comment: its first cell starts with '#', as the lines saying how an
    export was made do (api/files/provenance.py), in a CSV and in a workbook Excel saved from one. Only rows before
    the header are comments: after it, a row starting with '#' is data."""
    return bool(row) and isinstance(row[0], str) and row[0].startswith(COMMENT)


def read_rows(content: bytes, *, max_rows: int = MAX_ROWS) -> list[tuple[int, Sequence[object]]]:
    """The rows of the file that hold something, each with its number as Excel shows it: those of the first sheet of
    an XLSX workbook (a zip, starting with b"PK"), or those of a CSV file (UTF-8, with or without a byte-order mark,
    or GB18030). Comment rows before the header (`is_comment`) are skipped. The first row returned is the header.

    Raises:
        TooLarge: more than `max_rows` rows of data, or an XLSX that unpacks to more than MAX_UNPACKED_BYTES.
        FileRefused: the file is not an XLSX workbook or CSV text that can be read.
    """
    rows: list[tuple[int, Sequence[object]]] = []
    with closing(_xlsx_rows(content) if content.startswith(b"PK") else _csv_rows(content)) as read:
        for number, row in enumerate(read, start=1):
            if all(is_blank(value) for value in row) or (not rows and is_comment(row)):
                continue
            if len(rows) > max_rows:  # the header and max_rows rows of data are in
                raise errors.TooLarge(f"the file has more than {max_rows:,} rows: split it into several files")
            rows.append((number, row))
    if not rows:
        raise FileRefused("the file is empty: its first row names the columns, the rows below it hold the items")
    return rows


def check_workbook(archive: zipfile.ZipFile) -> None:
    """Refuse a workbook that would cost more to read than the largest import: too many parts, more unpacked bytes
    than MAX_UNPACKED_BYTES, a large part packed more tightly than XML of real cells packs (a zip bomb), or more
    than MAX_SHARED_STRINGS shared strings. Reads only the manifest and the shared strings' part, streamed.

    Raises:
        TooLarge: the workbook holds more than an import takes (413), saying which bound.
        FileRefused: the manifest or the shared strings cannot be read (422).
    """
    parts = archive.infolist()
    if len(parts) > MAX_PARTS:
        raise errors.TooLarge(f"the workbook has {len(parts):,} parts, more than {MAX_PARTS:,}: save it as .xlsx again")
    unpacked = sum(part.file_size for part in parts)
    if unpacked > MAX_UNPACKED_BYTES:
        raise errors.TooLarge(
            f"the workbook unpacks to {unpacked / 2**20:,.0f} MB, more than {MAX_UNPACKED_BYTES // 2**20} MB: split it"
        )
    for part in parts:
        if part.file_size > RATIO_FROM and part.file_size > MAX_RATIO * part.compress_size:
            raise errors.TooLarge(
                f"the workbook's part {part.filename} unpacks {part.file_size // max(part.compress_size, 1):,} times "
                f"its packed size, more than the {MAX_RATIO} times of a real sheet: save it as .xlsx again"
            )
    strings = _shared_strings_part(archive)
    if strings is not None:
        count = _count_elements(archive, strings, "si", MAX_SHARED_STRINGS)
        if count > MAX_SHARED_STRINGS:
            raise errors.TooLarge(
                f"the workbook has more than {MAX_SHARED_STRINGS:,} distinct texts (shared strings): split it"
            )


def _shared_strings_part(archive: zipfile.ZipFile) -> str | None:
    # Found as openpyxl finds it (ExcelReader.read_strings): the first Override of the manifest with that content
    # type, whatever the part's name or the element's namespace.
    try:
        manifest = archive.getinfo(ARC_CONTENT_TYPES)
    except KeyError:
        return None  # not a workbook: load_workbook says so
    if manifest.file_size > _MANIFEST_BYTES:
        raise errors.TooLarge(f"the workbook's {ARC_CONTENT_TYPES} is larger than {_MANIFEST_BYTES // 1024} KB")
    found: list[str] = []

    def start(tag: str, attributes: dict[str, str]) -> None:
        if tag == "Override" and attributes.get("ContentType") == SHARED_STRINGS:
            found.append(attributes.get("PartName", "").removeprefix("/"))
            raise _Enough

    _parse_part(archive, ARC_CONTENT_TYPES, start)
    return found[0] if found else None


def _count_elements(archive: zipfile.ZipFile, name: str, local: str, most: int) -> int:
    """How many elements named `local` (in any namespace: a prefix cannot hide one) the part holds, counting no
    further than `most` + 1."""
    count = 0

    def start(tag: str, attributes: dict[str, str]) -> None:
        nonlocal count
        if tag == local:
            count += 1
            if count > most:
                raise _Enough

    _parse_part(archive, name, start)
    return count


class _Enough(Exception):
    """Raised by a handler of `_parse_part` that has seen what it needed."""


def _parse_part(archive: zipfile.ZipFile, name: str, start: Callable[[str, dict[str, str]], None]) -> None:
    """Stream a part through expat, calling `start` with each element's local name and attributes, in memory that
    does not grow with the part. A DOCTYPE (entities that expand) is refused: no workbook has one. A part that the
    zip lacks is left to load_workbook to report."""
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.StartElementHandler = lambda tag, attributes: start(tag.rpartition(" ")[2], attributes)

    def doctype(*args: object) -> None:
        raise FileRefused(f"the workbook's part {name} declares a DOCTYPE, which no workbook has: save it as .xlsx")

    parser.StartDoctypeDeclHandler = doctype
    try:
        with archive.open(name) as part:
            while chunk := part.read(1024 * 1024):
                parser.Parse(chunk, False)
            parser.Parse(b"", True)
    except (_Enough, KeyError):
        pass
    except (expat.ExpatError, zipfile.BadZipFile) as exc:
        raise FileRefused(f"the workbook's part {name} cannot be read ({exc}): save it as .xlsx") from exc


def _xlsx_rows(content: bytes) -> Generator[Sequence[object], None, None]:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            check_workbook(archive)
    except zipfile.BadZipFile as exc:
        raise FileRefused(f"the file is neither an XLSX workbook nor CSV text ({exc})") from exc
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
