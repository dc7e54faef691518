"""The registry as staff keep it: institutions, meters, vehicles and drivers as XLSX or CSV tables, exported and
imported back.

An export is one sheet (api/exports) with Chinese headers and labels (类别 学校, 是/否) or English ones. An import
reads the first sheet of an XLSX workbook, or a CSV file (UTF-8, or GB18030 as Excel saves CSV on Chinese
Windows); its first row names the columns in Chinese, English or as keys, so that an export edited in Excel
imports back. Every row is validated with the registry's models (api/registry.py, from db/registry.py) and
every bad row is reported with its number as Excel shows it (the header is row 1); one bad row and nothing is
written, else every row is written in one transaction.

A row changes the columns the file has: a column left out of the file keeps what the registry holds, an empty
cell sets the field's default (none, 否, a multiplier of 1, a vehicle in service). An institution may appear in
several rows, one per year of its floor area and headcount, if its other cells agree. Drivers are numbered by the
registry: a row without a driver id adds a driver.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import zipfile
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator, Iterable, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Final, cast

from fastapi import HTTPException, Request, status
from fastapi.responses import JSONResponse
from openpyxl import load_workbook
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool
from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic import Field as PydanticField
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from api import drivers, registry
from api.access import Scope
from api.audit import audit_entry
from api.drivers import BIGINT_MAX, DriverCreate, DriverOfOrganisation
from api.errors import Problem, responses
from api.exports.table import Column, Language, Sheet
from api.exports.workbook import XLSX_MEDIA_TYPE
from api.registry import (
    InstitutionCreate,
    InstitutionInYear,
    InstitutionYearRecord,
    MeterCreate,
    MeterOfInstitution,
    MeterRecord,
    VehicleCreate,
    VehicleOfOrganisation,
    VehiclePublic,
    VehicleRecord,
)
from db.registry import Institution, InstitutionYear

# What one import may hold: a city's registry is ~1,000 institutions and a few thousand meters; a province's ten times.
MAX_UPLOAD_BYTES: Final = 10 * 1024 * 1024
MAX_ROWS: Final = 50_000
# An XLSX is a zip: what it may unpack to, so that a small file cannot expand into gigabytes of XML.
MAX_UNPACKED_BYTES: Final = 40 * MAX_UPLOAD_BYTES
# The problems a refusal lists (it counts them all).
MAX_LISTED_PROBLEMS: Final = 1000
# Room for the multipart envelope around the file.
_ENVELOPE_BYTES = 64 * 1024

# The words staff read for the registry's codes (the codes stay what the API and systems use).
CATEGORY_ZH: Final = {
    "agency": "党政机关",
    "public_institution": "事业单位",
    "school": "学校",
    "hospital": "医院",
    "community": "社区",
    "venue": "场馆",
}
ENERGY_TYPE_ZH: Final = {
    "electricity": "电力",
    "water": "水",
    "natural_gas": "天然气",
    "heat": "热力",
    "raw_coal": "原煤",
    "gasoline": "汽油",
    "diesel": "柴油",
    "lpg": "液化石油气",
}
SUB_ITEM_ZH: Final = {
    "lighting_socket": "照明插座",
    "air_conditioning": "空调",
    "power": "动力",
    "special": "特殊用电",
}
VEHICLE_ENERGY_ZH: Final = {
    "gasoline": "汽油",
    "diesel": "柴油",
    "battery_electric": "纯电动",
    "plug_in_hybrid": "插电式混合动力",
}
LIFECYCLE_ZH: Final = {"active": "在用", "maintenance": "维修", "retired": "已处置"}
RETIRED_HOW_ZH: Final = {"auctioned": "拍卖", "scrapped": "报废"}
_YES = {"是", "yes", "y", "true", "1"}
_NO = {"否", "no", "n", "false", "0"}


# ---------------------------------------------------------------------------------------------------------------
# What goes out of an import


class RowProblem(BaseModel):
    """Why a row of an imported file does not fit."""

    row: int  # as Excel numbers it: the header is row 1
    column: str | None  # the column's header as the file has it, when the problem is of one column
    reason: str


class ImportRefused(BaseModel):
    """422 of an import: what is wrong with the file, or with which rows and why; nothing was written."""

    detail: str | list[dict[str, Any]]
    problems: list[RowProblem] = []


class ImportResult(BaseModel):
    """What an import wrote, all in one transaction."""

    rows: int  # the rows of the file that hold data
    created: int
    updated: int  # rows of existing items, changed or not
    years: int = 0  # floor area and headcount of an institution in a year, written or cleared


class FileRefused(ValueError):
    """The file as a whole cannot be imported; the message says why and what to do."""


class TooLarge(FileRefused):
    """The file is larger, or holds more rows, than one import takes."""


class RowsRefused(FileRefused):
    """Rows of the file do not fit: `problems` says which and why."""

    def __init__(self, problems: list[RowProblem]) -> None:
        self.problems = sorted(problems, key=lambda p: p.row)
        rows = len({p.row for p in problems})
        listed = "" if len(problems) <= MAX_LISTED_PROBLEMS else f" (the first {MAX_LISTED_PROBLEMS:,} are listed)"
        super().__init__(
            f"{len(problems):,} problems in {rows:,} rows{listed}; nothing was imported: correct the rows and send "
            "the whole file again"
        )

    def body(self) -> ImportRefused:
        """The 422's body."""
        return ImportRefused(detail=str(self), problems=self.problems[:MAX_LISTED_PROBLEMS])


# ---------------------------------------------------------------------------------------------------------------
# The tables


Reader = Callable[[object], object]
Shower = Callable[[object, Language], object]


def _shown_as_is(value: object, language: Language) -> object:
    return value


@dataclass(frozen=True)
class TableField:
    """One column of a registry table: its header and kind, how a non-blank cell reads in (ValueError says what is
    wrong with it), and how a value is shown in a file.

    Args:
        column: the column of the export; its key is the field of the registry's model.
        read: a non-blank cell (a str from CSV; str, int, float, bool or datetime from XLSX) into the model's value.
        show: a value of the field into what the file shows in a language.
        informative: written by the export for people to read, ignored by the import.
    """

    column: Column
    read: Reader
    show: Shower = _shown_as_is
    informative: bool = False

    @property
    def key(self) -> str:
        return self.column.key


@dataclass(frozen=True)
class Table:
    """A registry table as a file: its sheet's names and its fields (the fields of the registry's models).

    Args:
        numbered: the registry numbers new items (drivers): a file needs no id column, and a row without an id adds
            an item.
    """

    key: str
    zh: str
    en: str
    fields: tuple[TableField, ...]
    numbered: bool = False

    def sheet(self, items: Iterable[BaseModel], language: Language) -> Sheet:
        """The sheet of these items (models with an attribute per field) in `language`."""
        rows = ([f.show(getattr(item, f.key), language) for f in self.fields] for item in items)
        return Sheet(self.key, self.zh, self.en, [f.column for f in self.fields], rows)


def _is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def read_text(value: object) -> str:
    """A cell as text: numbers as written (1001, not 1001.0), dates as ISO dates; no NUL characters."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime):
        value = value.date() if value == datetime(value.year, value.month, value.day) else value
    if isinstance(value, date):
        return value.isoformat()
    text = str(value).strip()
    if "\x00" in text:
        raise ValueError("holds a NUL character, which the registry cannot store")
    return text


_THOUSANDS = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?")


def read_number(value: object) -> float:
    """A cell as a finite number; text may group thousands with commas (as Excel writes '1,234.50' to a CSV)."""
    if isinstance(value, bool | date):
        raise ValueError(f"{read_text(value)!r} is not a number")
    if isinstance(value, int | float):
        number = Decimal(value) if isinstance(value, int) else Decimal(repr(value))
    else:
        text = read_text(value)
        try:
            number = Decimal(text.replace(",", "") if _THOUSANDS.fullmatch(text) else text)
        except InvalidOperation:
            raise ValueError(f"{text!r} is not a number") from None
    if not number.is_finite():
        raise ValueError(f"{read_text(value)!r} is not a finite number")
    return float(number)


def read_integer(value: object) -> int:
    """A cell as a whole number."""
    number = read_number(value)
    if not number.is_integer():
        raise ValueError(f"{read_text(value)!r} is not a whole number")
    return int(number)


def read_flag(value: object) -> bool:
    """A cell as yes or no: 是/否, yes/no, y/n, true/false (Excel's TRUE/FALSE), 1/0."""
    if isinstance(value, bool):
        return value
    word = read_text(value).casefold()
    if word in _YES:
        return True
    if word in _NO:
        return False
    raise ValueError(f"{read_text(value)!r} is neither 是 (yes) nor 否 (no)")


_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T]0?0:00(?::00(?:\.0+)?)?)?")


def read_date(value: object) -> date:
    """A cell as a date: an Excel date, or text such as 2024-03-01, 2024/3/1 or 2024年3月1日."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError(f"{read_text(value)!r} is a number, not a date: format the cell as a date (yyyy-mm-dd)")
    text = read_text(value)
    match = _DATE.fullmatch(text)
    try:
        if match is None:
            raise ValueError(text)
        return date(*map(int, match.groups()))
    except ValueError:
        raise ValueError(f"{text!r} is not a date (yyyy-mm-dd)") from None


def _code(text: str) -> str:
    return re.sub(r"[\s_-]+", "_", text.strip().casefold())


def _choice(labels: Mapping[str, str]) -> tuple[Reader, Shower]:
    """How a coded column reads (its code, or its Chinese label) and shows (the label in Chinese, the code in
    English)."""
    codes = {_code(code): code for code in labels} | {_code(label): code for code, label in labels.items()}
    choices = ", ".join(f"{label} ({code})" for code, label in labels.items())

    def read(value: object) -> str:
        text = read_text(value)
        code = codes.get(_code(text))
        if code is None:
            raise ValueError(f"{text!r} is none of {choices}")
        return code

    def show(value: object, language: Language) -> object:
        return labels.get(str(value), value) if language == "zh" and value is not None else value

    return read, show


def _show_flag(value: object, language: Language) -> str:
    if language == "zh":
        return "是" if value else "否"
    return "yes" if value else "no"


def _show_text(value: object, language: Language) -> object:
    return None if value is None else str(value)


_CATEGORY = _choice(CATEGORY_ZH)
_ENERGY_TYPE = _choice(ENERGY_TYPE_ZH)
_SUB_ITEM = _choice(SUB_ITEM_ZH)

INSTITUTIONS = Table(
    "institutions",
    "公共机构名录",
    "Institutions",
    (
        TableField(Column("id", "单位编号", "Institution id"), read_text),
        TableField(Column("organisation_id", "所属组织编号", "Organisation id"), read_text),
        TableField(Column("name", "单位名称", "Name"), read_text),
        TableField(Column("category", "类别", "Category"), *_CATEGORY),
        TableField(Column("district", "区县", "District"), read_text),
        TableField(Column("latitude", "纬度", "Latitude", "decimal", decimals=6), read_number),
        TableField(Column("longitude", "经度", "Longitude", "decimal", decimals=6), read_number),
        TableField(Column("key_energy_unit", "重点用能单位", "Key energy-using unit"), read_flag, _show_flag),
        TableField(Column("in_assessment", "纳入在线考核", "In the online assessment"), read_flag, _show_flag),
        # Text, not an integer column: Excel would show an integer's thousands separator (2,026).
        TableField(Column("year", "年度", "Year"), read_integer, _show_text),
        TableField(Column("floor_area_m2", "建筑面积（m²）", "Floor area (m²)", "decimal", decimals=1), read_number),
        TableField(Column("headcount", "用能人数", "Energy-using headcount", "integer"), read_integer),
    ),
)
_YEAR_FIGURES = ("floor_area_m2", "headcount")

METERS = Table(
    "meters",
    "能源计量器具",
    "Meters",
    (
        TableField(Column("id", "表计编号", "Meter id"), read_text),
        TableField(Column("institution_id", "单位编号", "Institution id"), read_text),
        TableField(Column("institution_name", "单位名称", "Institution"), read_text, informative=True),
        TableField(Column("energy_type", "能源品种", "Energy type"), *_ENERGY_TYPE),
        TableField(Column("unit", "计量单位", "Unit"), read_text),
        TableField(Column("sub_item", "用电分项", "Sub-item"), *_SUB_ITEM),
        TableField(Column("multiplier", "倍率", "Multiplier (CT/PT ratio)", "decimal"), read_number),
        TableField(Column("register_max", "表码上限", "Register maximum", "decimal"), read_number),
        TableField(Column("max_rate", "每小时最大用量", "Most per hour", "decimal"), read_number),
        TableField(Column("installed_on", "安装日期", "Installed on", "date"), read_date),
        TableField(Column("replaced_on", "更换日期", "Replaced on", "date"), read_date),
    ),
)


_VEHICLE_ENERGY = _choice(VEHICLE_ENERGY_ZH)
_LIFECYCLE = _choice(LIFECYCLE_ZH)
_RETIRED_HOW = _choice(RETIRED_HOW_ZH)

VEHICLES = Table(
    "vehicles",
    "公务用车",
    "Vehicles",
    (
        TableField(Column("id", "车辆编号", "Vehicle id"), read_text),
        TableField(Column("organisation_id", "所属组织编号", "Organisation id"), read_text),
        TableField(Column("organisation_name", "所属组织", "Organisation"), read_text, informative=True),
        TableField(Column("plate", "车牌号码", "Plate"), read_text),
        TableField(Column("vin", "车架号（VIN）", "VIN"), read_text),
        TableField(Column("vehicle_type", "车辆类型", "Vehicle type"), read_text),
        TableField(Column("energy", "能源类型", "Energy"), *_VEHICLE_ENERGY),
        TableField(Column("seats", "核定座位数", "Seats", "integer"), read_integer),
        TableField(
            Column("battery_kwh", "电池容量（kWh）", "Battery capacity (kWh)", "decimal", decimals=1), read_number
        ),
        TableField(Column("terminal_id", "车载终端号", "Terminal id"), read_text),
        TableField(Column("home_institution_id", "常驻单位编号", "Home institution id"), read_text),
        TableField(Column("lifecycle", "车辆状态", "Lifecycle"), *_LIFECYCLE),
        TableField(Column("in_service_on", "启用日期", "In service on", "date"), read_date),
        TableField(Column("retired_on", "处置日期", "Retired on", "date"), read_date),
        TableField(Column("retired_how", "处置方式", "Retired how"), *_RETIRED_HOW),
    ),
)


def _read_driver_id(value: object) -> int:
    number = read_integer(value)
    if not 1 <= number <= BIGINT_MAX:
        raise ValueError(f"{read_text(value)!r} is not a driver id: leave it empty for a new driver")
    return number


def _read_licence_class(value: object) -> str:
    return read_text(value).upper()  # c1 is C1


DRIVERS = Table(
    "drivers",
    "驾驶员",
    "Drivers",
    (
        # Text, not an integer column: Excel would show an integer's thousands separator (1,024).
        TableField(Column("id", "驾驶员编号", "Driver id"), _read_driver_id, _show_text),
        TableField(Column("organisation_id", "所属组织编号", "Organisation id"), read_text),
        TableField(Column("organisation_name", "所属组织", "Organisation"), read_text, informative=True),
        TableField(Column("name", "姓名", "Name"), read_text),
        TableField(Column("phone", "联系电话", "Phone"), read_text),
        TableField(Column("licence_class", "准驾车型", "Licence class"), _read_licence_class),
        TableField(Column("active", "在岗", "Active"), read_flag, _show_flag),
    ),
    numbered=True,
)


def institutions_sheet(items: Iterable[InstitutionInYear], language: Language) -> Sheet:
    """The institutions with their figures of a year, as a sheet."""
    return INSTITUTIONS.sheet(items, language)


def meters_sheet(items: Iterable[MeterOfInstitution], language: Language) -> Sheet:
    """The meters with their institutions' names, as a sheet."""
    return METERS.sheet(items, language)


def vehicles_sheet(items: Iterable[VehicleOfOrganisation], language: Language) -> Sheet:
    """The vehicles with their organisations' names, as a sheet."""
    return VEHICLES.sheet(items, language)


def drivers_sheet(items: Iterable[DriverOfOrganisation], language: Language) -> Sheet:
    """The drivers with their organisations' names, as a sheet."""
    return DRIVERS.sheet(items, language)


# ---------------------------------------------------------------------------------------------------------------
# Reading a file


async def read_upload(request: Request, *, limit: int = MAX_UPLOAD_BYTES) -> tuple[str, bytes]:
    """The name and content of the file sent as the multipart/form-data field `file`.

    The body is read here, after the route's dependencies have checked the user, and no further than `limit`
    bytes and the envelope: a larger one is refused before it is all received.

    Raises:
        TooLarge: the file is larger than `limit`.
        FileRefused: the body is not multipart/form-data with one file in the field `file`.
    """
    how = "send the file as multipart/form-data in the field 'file' (curl -F file=@registry.xlsx)"
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise FileRefused(f"the body is not multipart/form-data: {how}")
    too_large = TooLarge(f"the file is larger than {limit // (1024 * 1024)} MB: split it into several files")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + _ENVELOPE_BYTES:
        raise too_large

    async def body() -> AsyncGenerator[bytes, None]:
        received = 0
        async for chunk in request.stream():
            received += len(chunk)
            if received > limit + _ENVELOPE_BYTES:
                raise too_large
            yield chunk

    parser = MultiPartParser(request.headers, body(), max_files=1, max_fields=10)
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise FileRefused(f"the body cannot be read ({exc}): {how}") from exc
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise FileRefused(f"there is no file in the field 'file': {how}")
        content = await upload.read()
        if len(content) > limit:
            raise too_large
        return upload.filename or "", content
    finally:
        await form.close()


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
            if all(_is_blank(value) for value in row):
                continue
            if len(rows) > max_rows:  # the header and max_rows rows of data are in
                raise TooLarge(f"the file has more than {max_rows:,} rows: split it into several files")
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
        raise TooLarge(f"the workbook unpacks to more than {MAX_UNPACKED_BYTES // (1024 * 1024)} MB: split it")
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
        yield from reader
    except csv.Error as exc:
        raise FileRefused(f"record {reader.line_num} of the CSV cannot be read: {exc}") from exc


# ---------------------------------------------------------------------------------------------------------------
# Rows into items


def _header_words(text: str) -> str:
    return " ".join(text.replace("（", "(").replace("）", ")").split()).casefold()


_BLANK = object()  # a cell of the file's column that is empty: the field's default


@dataclass
class _Row:
    number: int
    values: dict[str, object]  # of the fields the file has: a value read, or _BLANK
    failed: set[str]  # fields whose cells could not be read (and are reported)

    @property
    def id(self) -> str | None:
        value = self.values.get("id")
        return value if isinstance(value, str) else None

    def given(self, key: str) -> bool:
        return self.values.get(key, _BLANK) is not _BLANK


@dataclass
class _File:
    """A table's file as read: where its fields are, its rows, and the problems found so far."""

    table: Table
    positions: dict[str, int] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    language: Language | None = None  # of the file's headers, to name the columns it lacks
    rows: list[_Row] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)

    def header(self, key: str | None) -> str | None:
        """The header of a field: the file's, or the field's header in the file's language."""
        if key is None or key in self.headers:
            return self.headers.get(key or "")
        column = next((f.column for f in self.table.fields if f.key == key), None)
        if column is None:
            return None
        return column.header(self.language) if self.language else column.key

    def problem(self, row: int, key: str | None, reason: str) -> None:
        self.problems.append(RowProblem(row=row, column=self.header(key), reason=reason))

    def refuse_if_wrong(self) -> None:
        if self.problems:
            raise RowsRefused(self.problems)

    def ids(self) -> set[str]:
        return {row.id for row in self.rows if row.id}

    def validated(self, model: type[BaseModel], values: dict[str, Any], row: _Row, what: str) -> Any:
        """The item of the row, or None when it does not fit (the problems are noted, except those of cells that
        could not be read, which are)."""
        try:
            return model.model_validate(values)
        except ValidationError as exc:
            for error in exc.errors():
                key = str(error["loc"][0]) if error["loc"] else None
                if key in row.failed:
                    continue
                if error["type"] == "missing" and key is not None:
                    reason = "is empty" if key in row.values else f"is needed for a new {what}: add the column"
                else:
                    reason = error["msg"].removeprefix("Value error, ")
                self.problem(row.number, key, reason)
            return None


def _read(
    table: Table, rows: Sequence[tuple[int, Sequence[object]]], needs: Mapping[str, Sequence[str]] | None = None
) -> _File:
    """The rows of a file of `table` (the first is its header) with their cells read.

    Args:
        needs: a column that the file must have when it has any of those columns (the id is always needed).

    Raises:
        RowsRefused: the header does not fit: nothing of the rows can be read.
    """
    (number, header), *data = rows
    file = _File(table)
    names: dict[str, tuple[str, Language | None]] = {}
    for f in table.fields:
        for text, language in ((f.column.zh, "zh"), (f.column.en, "en"), (f.key, None)):
            names.setdefault(_header_words(text), (f.key, cast(Language | None, language)))
    known = ", ".join(f"{f.column.zh} ({f.key})" for f in table.fields)
    for index, cell in enumerate(header):
        if _is_blank(cell):
            continue
        try:
            text = read_text(cell)
        except ValueError as exc:
            file.problems.append(RowProblem(row=number, column=None, reason=f"a header {exc}"))
            continue
        key, language = names.get(_header_words(text), (None, None))
        if key is None:
            file.problems.append(RowProblem(row=number, column=text, reason=f"no such column; the columns are {known}"))
        elif key in file.positions:
            file.problems.append(RowProblem(row=number, column=text, reason=f"a second column of {file.headers[key]}"))
        else:
            file.positions[key], file.headers[key] = index, text
            file.language = file.language or language
    if "id" not in file.positions and not table.numbered:
        file.problem(number, "id", "no such column: add it")
    for key, others in (needs or {}).items():
        given = [file.headers[other] for other in others if other in file.positions]
        if given and key not in file.positions:
            file.problem(number, key, f"no such column, which {' and '.join(given)} needs: add it")
    file.refuse_if_wrong()
    placed = set(file.positions.values())
    file.rows = [_cells(file, placed, n, row) for n, row in data]
    return file


def _cells(file: _File, placed: set[int], number: int, row: Sequence[object]) -> _Row:
    values: dict[str, object] = {}
    failed: set[str] = set()
    for f in file.table.fields:
        if f.informative or f.key not in file.positions:
            continue
        index = file.positions[f.key]
        cell = row[index] if index < len(row) else None
        if _is_blank(cell):
            values[f.key] = _BLANK
            continue
        try:
            values[f.key] = f.read(cell)
        except ValueError as exc:
            failed.add(f.key)
            file.problem(number, f.key, str(exc))
    if any(not _is_blank(cell) for index, cell in enumerate(row) if index not in placed):
        file.problem(number, None, "a value in a column without a header")
    return _Row(number, values, failed)


def _model_values(
    model: type[BaseModel], row: _Row, current: BaseModel | None, fixed: Mapping[str, object] | None = None
) -> dict[str, Any]:
    """The fields of an item as the row leaves it: the current item's, changed by the row's cells (an empty cell:
    the field's default), and `fixed`."""
    values = {name: getattr(current, name) for name in model.model_fields if hasattr(current, name)}
    for name, info in model.model_fields.items():
        value = row.values.get(name)
        if value is _BLANK:
            if info.is_required():
                values.pop(name, None)  # reported as empty
            else:
                values[name] = info.get_default(call_default_factory=True)
        elif name in row.values:
            values[name] = value
    return {**values, **(fixed or {})}


async def import_institutions(
    conn: AsyncConnection, scope: Scope, rows: Sequence[tuple[int, Sequence[object]]]
) -> ImportResult:
    """Validate every row of an institutions table (the first of `rows` is its header) and write them all, with
    their yearly figures, in one transaction; or write nothing.

    Raises:
        RowsRefused: the header or rows do not fit (an organisation that is not one in the scope, for one).
    """
    # Reading and validating the rows is Python's work: in a thread, not in the event loop that serves everyone.
    file = await run_in_threadpool(_read, INSTITUTIONS, rows, {"year": _YEAR_FIGURES})
    async with conn.transaction():
        current, hidden = await registry.institutions_to_change(conn, scope, file.ids())
        items, in_years = await run_in_threadpool(_institutions, file, current, hidden)
        organisations = await registry.visible_organisations(conn, scope, {i.organisation_id for _, i in items})
        for number, item in items:
            if item.organisation_id not in organisations:
                reason = f"no organisation {item.organisation_id}: give the id of an existing organisation"
                file.problem(number, "organisation_id", reason)
        stored = await registry.years_to_change(conn, in_years)
        years, cleared = await run_in_threadpool(_years, file, in_years, stored)
        file.refuse_if_wrong()
        institutions = [item for _, item in items]
        await registry.write(conn, institutions=institutions, years=years)
        await registry.clear_years(conn, cleared)
    created = sum(1 for item in institutions if item.id not in current)
    return ImportResult(
        rows=len(file.rows), created=created, updated=len(institutions) - created, years=len(years) + len(cleared)
    )


def _institutions(
    file: _File, current: Mapping[str, BaseModel], hidden: set[str]
) -> tuple[list[tuple[int, Institution]], dict[tuple[str, int], _Row]]:
    """The institutions of the file, each with its first row, and the row of each (institution, year)."""
    items: dict[str, tuple[int, Institution]] = {}
    in_years: dict[tuple[str, int], _Row] = {}
    for row in file.rows:
        values = _model_values(Institution, row, current.get(row.id or ""))
        item = file.validated(InstitutionCreate, values, row, "institution")
        if item is None:
            continue
        if item.id in hidden:
            file.problem(row.number, "id", "is the id of an institution of another organisation")
            continue
        first, earlier = items.setdefault(item.id, (row.number, item))
        if earlier != item:
            reason = f"institution {item.id} is also in row {first} with other values: give the same in each row"
            file.problem(row.number, None, reason)
        year = row.values.get("year")
        if isinstance(year, int):
            if (item.id, year) in in_years:
                file.problem(row.number, "year", f"{item.id} of {year} is also in row {in_years[item.id, year].number}")
            in_years.setdefault((item.id, year), row)
        elif first != row.number:
            file.problem(row.number, "id", f"is also in row {first} (rows of one institution are rows of its years)")
        if year is _BLANK and any(row.given(key) for key in _YEAR_FIGURES):
            file.problem(row.number, "year", "is empty: the floor area and headcount are those of a year")
    return list(items.values()), in_years


def _years(
    file: _File, in_years: Mapping[tuple[str, int], _Row], stored: Mapping[tuple[str, int], BaseModel]
) -> tuple[list[InstitutionYear], list[tuple[str, int]]]:
    """The figures of the (institution, year)s of the file to write, and those to clear (nothing known any more)."""
    years: list[InstitutionYear] = []
    cleared: list[tuple[str, int]] = []
    for (institution_id, year), row in in_years.items():
        key = {"institution_id": institution_id, "year": year}
        values = _model_values(InstitutionYear, row, stored.get((institution_id, year)), key)
        figures = file.validated(InstitutionYearRecord, values, row, "year")
        if figures is None:
            continue
        if figures.floor_area_m2 is not None or figures.headcount is not None:
            years.append(figures)
        elif (institution_id, year) in stored:
            cleared.append((institution_id, year))  # no row for a year of which nothing is known
    return years, cleared


async def import_meters(
    conn: AsyncConnection, scope: Scope, rows: Sequence[tuple[int, Sequence[object]]]
) -> ImportResult:
    """Validate every row of a meters table (the first of `rows` is its header) and write them all in one
    transaction, or nothing; meters whose multiplier, register maximum or most per hour changed are recounted
    from their first reading.

    Raises:
        RowsRefused: the header or rows do not fit (an institution that is not one in the scope, for one).
    """
    file = await run_in_threadpool(_read, METERS, rows)
    async with conn.transaction():
        current, hidden = await registry.meters_to_change(conn, scope, file.ids())
        items = await run_in_threadpool(_meters, file, current, hidden)
        institutions = await registry.visible_institutions(conn, scope, {i.institution_id for _, i in items.values()})
        for number, item in items.values():
            if item.institution_id not in institutions:
                reason = f"no institution {item.institution_id}: give the id of an existing institution"
                file.problem(number, "institution_id", reason)
        file.refuse_if_wrong()
        meters = [item for _, item in items.values()]
        await registry.write(conn, meters=meters)
        changed = [m.id for m in meters if m.id in current and registry.counting_changed(current[m.id], m)]
        await registry.recount(conn, changed)
    created = sum(1 for m in meters if m.id not in current)
    return ImportResult(rows=len(file.rows), created=created, updated=len(meters) - created)


def _meters(file: _File, current: Mapping[str, BaseModel], hidden: set[str]) -> dict[str, tuple[int, MeterRecord]]:
    """The meters of the file, each with its row."""
    items: dict[str, tuple[int, MeterRecord]] = {}
    for row in file.rows:
        item = file.validated(MeterCreate, _model_values(MeterRecord, row, current.get(row.id or "")), row, "meter")
        if item is None:
            continue
        if item.id in hidden:
            file.problem(row.number, "id", "is the id of a meter of another organisation")
        elif item.id in items:
            file.problem(row.number, "id", f"is also in row {items[item.id][0]}")
        else:
            items[item.id] = (row.number, item)
    return items


async def import_vehicles(
    conn: AsyncConnection, scope: Scope, rows: Sequence[tuple[int, Sequence[object]]]
) -> ImportResult:
    """Validate every row of a vehicles table (the first of `rows` is its header) and write them all in one
    transaction, or nothing. A row may change a vehicle's lifecycle as PATCH /vehicles/{id} does, under the same
    rules: a retired vehicle does not come back, one on an open trip request is not retired, and a plate or
    terminal is one vehicle's in the fleet.

    Raises:
        RowsRefused: the header or rows do not fit (an organisation that is not one in the scope, for one).
        FileRefused: another write gave a plate or terminal of the file to another vehicle meanwhile.
    """
    file = await run_in_threadpool(_read, VEHICLES, rows)
    async with conn.transaction():
        current, hidden = await registry.vehicles_to_change(conn, scope, file.ids())
        items = await run_in_threadpool(_vehicles, file, current, hidden)
        vehicles = [item for _, item in items.values()]
        organisations = await registry.visible_organisations(conn, scope, {v.organisation_id for v in vehicles})
        homes = {v.home_institution_id for v in vehicles if v.home_institution_id is not None}
        institutions = await registry.visible_institutions(conn, scope, homes)
        open_requests = await registry.open_requests(conn, [v.id for v in vehicles if v.id in current])
        for number, item in items.values():
            if item.organisation_id not in organisations:
                reason = f"no organisation {item.organisation_id}: give the id of an existing organisation"
                file.problem(number, "organisation_id", reason)
            if item.home_institution_id is not None and item.home_institution_id not in institutions:
                reason = f"no institution {item.home_institution_id}: give the id of an existing institution"
                file.problem(number, "home_institution_id", reason)
            retiring = registry.lifecycle_problem(current.get(item.id), item.lifecycle, open_requests.get(item.id))
            if retiring is not None:
                file.problem(number, "lifecycle", retiring)
        for (vehicle_id, key), reason in (await registry.fleet_holders(conn, scope, vehicles)).items():
            file.problem(items[vehicle_id][0], key, reason)
        file.refuse_if_wrong()
        try:
            await registry.write(conn, vehicles=vehicles)
        except registry.Conflict as exc:
            raise FileRefused(str(exc)) from exc
    created = sum(1 for v in vehicles if v.id not in current)
    return ImportResult(rows=len(file.rows), created=created, updated=len(vehicles) - created)


def _vehicles(
    file: _File, current: Mapping[str, VehiclePublic], hidden: set[str]
) -> dict[str, tuple[int, VehicleRecord]]:
    """The vehicles of the file, each with its row; no two in the fleet (not retired) with one plate or terminal."""
    items: dict[str, tuple[int, VehicleRecord]] = {}
    fitted: dict[tuple[str, str], int] = {}  # (plate or terminal_id, value) -> the first row of a vehicle with it
    for row in file.rows:
        if row.id in hidden:  # said first: what else is wrong with the row follows from not seeing that vehicle
            file.problem(row.number, "id", "is the id of a vehicle of another organisation")
            continue
        before = current.get(row.id or "")
        lifecycle = row.values.get("lifecycle")
        if lifecycle is _BLANK:
            lifecycle = VehicleRecord.model_fields["lifecycle"].default  # an empty cell sets the default
        # A retired vehicle brought back, said before what the vehicle would lack (a retirement is checked with the
        # vehicle's trips, once the rows are read).
        back = registry.lifecycle_problem(before, lifecycle, None) if isinstance(lifecycle, str) else None
        if back is not None:
            file.problem(row.number, "lifecycle", back)
            continue
        values = _model_values(VehicleRecord, row, before)
        item = file.validated(VehicleCreate, values, row, "vehicle")
        if item is None:
            continue
        if item.id in items:
            file.problem(row.number, "id", f"is also in row {items[item.id][0]}")
            continue
        items[item.id] = (row.number, item)
        if item.lifecycle == "retired":
            continue  # its plate and terminal are history
        for key in ("plate", "terminal_id"):
            value = getattr(item, key)
            if value is None:
                continue
            first = fitted.setdefault((key, value), row.number)
            if first != row.number:
                file.problem(row.number, key, f"{value} is also that of the vehicle in row {first}")
    return items


async def import_drivers(
    conn: AsyncConnection, scope: Scope, rows: Sequence[tuple[int, Sequence[object]]]
) -> ImportResult:
    """Validate every row of a drivers table (the first of `rows` is its header) and write them all in one
    transaction, or nothing: a row with a driver id changes that driver, a row without one adds a driver.

    Raises:
        RowsRefused: the header or rows do not fit (a driver id that is not one in the scope, for one).
    """
    file = await run_in_threadpool(_read, DRIVERS, rows)
    ids = {driver_id for row in file.rows if isinstance(driver_id := row.values.get("id"), int)}
    async with conn.transaction():
        current = await drivers.drivers_to_change(conn, scope, ids)
        changed, new = await run_in_threadpool(_drivers, file, current)
        items = [*changed.values(), *new]
        organisations = await registry.visible_organisations(conn, scope, {d.organisation_id for _, d in items})
        for number, item in items:
            if item.organisation_id not in organisations:
                reason = f"no organisation {item.organisation_id}: give the id of an existing organisation"
                file.problem(number, "organisation_id", reason)
        leaving = {i for i, (_, item) in changed.items() if current[i].active and not item.active}
        for driver_id, request_id in (await drivers.open_requests(conn, leaving)).items():
            name = current[driver_id].name
            file.problem(changed[driver_id][0], "active", drivers.busy_problem(driver_id, name, request_id))
        file.refuse_if_wrong()
        await drivers.write_drivers(
            conn, changed={driver_id: item for driver_id, (_, item) in changed.items()}, new=[item for _, item in new]
        )
    return ImportResult(rows=len(file.rows), created=len(new), updated=len(changed))


def _drivers(
    file: _File, current: Mapping[int, BaseModel]
) -> tuple[dict[int, tuple[int, DriverCreate]], list[tuple[int, DriverCreate]]]:
    """The drivers the file changes, by id, and those it adds, each with its row."""
    changed: dict[int, tuple[int, DriverCreate]] = {}
    new: list[tuple[int, DriverCreate]] = []
    for row in file.rows:
        driver_id = row.values.get("id")
        if "id" in row.failed:
            continue  # reported
        if not isinstance(driver_id, int):  # no id: a new driver
            item = file.validated(DriverCreate, _model_values(DriverCreate, row, None), row, "driver")
            if item is not None:
                new.append((row.number, item))
        elif driver_id not in current:
            file.problem(row.number, "id", f"no driver {driver_id}: leave the id empty to add a driver")
        elif driver_id in changed:
            file.problem(row.number, "id", f"is also in row {changed[driver_id][0]}")
        else:
            item = file.validated(DriverCreate, _model_values(DriverCreate, row, current[driver_id]), row, "driver")
            if item is not None:
                changed[driver_id] = (row.number, item)
    return changed, new


def fingerprint(content: bytes) -> str:
    """The SHA-256 of a file, for the audit log: which file was imported."""
    return hashlib.sha256(content).hexdigest()


# ---------------------------------------------------------------------------------------------------------------
# The HTTP side of exports and imports


class RegistryFileQuery(BaseModel):
    """The query of a registry export."""

    model_config = ConfigDict(extra="forbid")

    language: Language = PydanticField(
        default="zh", description="headers and labels: Chinese (default), or English headers with codes"
    )


class RegistryCsvQuery(RegistryFileQuery):
    bom: bool = PydanticField(
        default=True, description="start with a byte-order mark, for Excel to read the UTF-8 (default: yes)"
    )


class _OfYear(BaseModel):
    year: int | None = PydanticField(
        default=None,
        ge=registry.YEARS[0],
        le=registry.YEARS[1],
        description="the year of the floor area and headcount (default: the current year)",
    )


class InstitutionsFileQuery(RegistryFileQuery, _OfYear):
    """The query of the institutions export."""


class InstitutionsCsvQuery(RegistryCsvQuery, _OfYear):
    """The query of the institutions export as CSV."""


XLSX_RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    **responses(401, 403, 422),
    200: {"content": {XLSX_MEDIA_TYPE: {}}, "description": "the XLSX workbook"},
}
CSV_RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    **responses(401, 403, 422),
    200: {"content": {"text/csv": {}}, "description": "the CSV file"},
}


# The request body of an import, for the OpenAPI schema: the route reads the body itself (`read_upload`), after
# checking the user and no further than the limit, so FastAPI does not describe it.
UPLOAD_BODY: Final[dict[str, Any]] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "file": {
                            "type": "string",
                            "contentMediaType": "application/octet-stream",
                            "description": "an XLSX workbook (its first sheet is read) or a CSV file",
                        }
                    },
                    "required": ["file"],
                }
            }
        },
    }
}
IMPORT_RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    **responses(401, 403),
    413: {"model": Problem, "description": "the file is larger, or has more rows, than one import takes"},
    422: {
        "model": ImportRefused,
        "description": "the file cannot be read, or rows do not fit (which, where and why); nothing was written",
    },
}

Importer = Callable[[AsyncConnection, Scope, Sequence[tuple[int, Sequence[object]]]], Awaitable[ImportResult]]


async def import_upload(
    request: Request, pool: AsyncConnectionPool[AsyncConnection], scope: Scope, importer: Importer
) -> ImportResult | JSONResponse:
    """Read the uploaded file and import it: the counts, or a 413 or 422 that says why nothing was written.

    The audit entry records the file's name, size and SHA-256, and what was written or how many problems there were.
    """
    entry = audit_entry(request)
    try:
        name, content = await read_upload(request)
        entry.params = {"file": name, "bytes": len(content), "sha256": fingerprint(content)}
        rows = await run_in_threadpool(read_rows, content)
        async with pool.connection() as conn:
            result = await importer(conn, scope, rows)
    except TooLarge as exc:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, detail=str(exc)) from exc
    except RowsRefused as exc:
        entry.params["problems"] = len(exc.problems)
        body = exc.body().model_dump(mode="json")
        return JSONResponse(body, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)
    except FileRefused as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(exc)) from exc
    entry.params.update(result.model_dump())
    return result
