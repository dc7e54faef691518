"""The registry's tables as staff keep them in XLSX or CSV: institutions (with their facts of a year), supervising
departments, data-centre rooms, meters, vehicles and drivers, each column with its Chinese and English header, how a
cell reads in and how a value shows in a file.

Headers are Chinese, English or the keys, so that an export edited in Excel imports back; coded columns read their
code or its Chinese label (学校, school) and show the label in Chinese, the code in English (domain/labels.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Final

from pydantic import BaseModel

from api.fields import BIGINT_MAX
from api.files.table import Column, Sheet
from api.registry.models import (
    DataCentreRoomOfInstitution,
    DepartmentPublic,
    DriverOfOrganisation,
    InstitutionInYear,
    MeterOfInstitution,
    VehicleOfOrganisation,
)
from domain import labels
from domain.labels import Language
from domain.registry import YEAR_FACTS

_YES = {"是", "yes", "y", "true", "1"}
_NO = {"否", "no", "n", "false", "0"}


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
        keys: the columns that name an item, which a file must have (a data-centre room: its institution, year and
            name).
    """

    key: str
    zh: str
    en: str
    fields: tuple[TableField, ...]
    numbered: bool = False
    keys: tuple[str, ...] = ("id",)

    def sheet(self, items: Iterable[BaseModel], language: Language) -> Sheet:
        """The sheet of these items (models with an attribute per field) in `language`."""
        rows = ([f.show(getattr(item, f.key), language) for f in self.fields] for item in items)
        return Sheet(self.key, self.zh, self.en, [f.column for f in self.fields], rows)


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
    return float(read_decimal(value))


def read_decimal(value: object) -> Decimal:
    """A cell as a finite number, exactly as written (an amount of energy); thousands as `read_number` takes them."""
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
    return number


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


def _choice(words: Mapping[str, str]) -> tuple[Reader, Shower]:
    """How a coded column reads (its code, or its Chinese label) and shows (the label in Chinese, the code in
    English)."""
    codes = {_code(code): code for code in words} | {_code(label): code for code, label in words.items()}
    choices = ", ".join(f"{label} ({code})" for code, label in words.items())

    def read(value: object) -> str:
        text = read_text(value)
        code = codes.get(_code(text))
        if code is None:
            raise ValueError(f"{text!r} is none of {choices}")
        return code

    def show(value: object, language: Language) -> object:
        return words.get(str(value), value) if language == "zh" and value is not None else value

    return read, show


def _named(words: Mapping[str, str]) -> tuple[Reader, Shower]:
    """How a free-text column whose common values are codes reads (a code's Chinese label as its code, any other
    text as it is) and shows (a code's label in Chinese, the code in English; other text as it is)."""
    codes = {_code(label): code for code, label in words.items()}

    def read(value: object) -> str:
        text = read_text(value)
        return codes.get(_code(text), text)

    def show(value: object, language: Language) -> object:
        return words.get(str(value), value) if language == "zh" and value is not None else value

    return read, show


def _show_flag(value: object, language: Language) -> str:
    if language == "zh":
        return "是" if value else "否"
    return "yes" if value else "no"


def _show_text(value: object, language: Language) -> object:
    return None if value is None else str(value)


def _show_known_flag(value: object, language: Language) -> object:
    return None if value is None else _show_flag(value, language)  # not known: an empty cell, never 否


def _read_credit_code(value: object) -> str:
    # Excel keeps a number in 15 significant digits: a code of 18 digits typed into a number cell has lost its last
    # ones, and no reading of the cell gives them back.
    if isinstance(value, float) and abs(value) >= 1e15:
        raise ValueError(
            f"{read_text(value)!r} is a number that Excel has rounded to 15 digits: format the cell as text and type "
            "the code again"
        )
    return read_text(value).upper()


_CATEGORY = _choice(labels.CATEGORY)
_SURVEY_CATEGORY = _choice(labels.SURVEY_CATEGORY)
_ENERGY_TYPE = _choice(labels.ENERGY_TYPE)
_SUB_ITEM = _choice(labels.SUB_ITEM)

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
        # What the statistics survey asks of the year (domain/registry.py's YearFacts says what each is).
        TableField(Column("credit_code", "统一社会信用代码", "Unified social credit code"), _read_credit_code),
        TableField(Column("department_id", "主管部门编号", "Supervising department id"), read_text),
        TableField(Column("division_code", "行政区划代码", "Division code"), read_text),
        TableField(Column("survey_category", "统计调查类别", "Survey category"), *_SURVEY_CATEGORY),
        TableField(Column("in_survey", "纳入统计调查", "In the survey"), read_flag, _show_known_flag),
        TableField(Column("staff_quota", "编制人数", "Staff quota", "integer"), read_integer),
        TableField(Column("heated_area_m2", "采暖面积（m²）", "Heated area (m²)", "decimal", decimals=1), read_number),
        TableField(
            Column("cooled_area_m2", "空调面积（m²）", "Air-conditioned area (m²)", "decimal", decimals=1), read_number
        ),
        TableField(
            Column("heated_area_own_m2", "独立供暖面积（m²）", "Heated by own boilers (m²)", "decimal", decimals=1),
            read_number,
        ),
        TableField(
            Column(
                "heated_area_central_area_m2",
                "集中供暖面积·按面积收费（m²）",
                "Heated centrally, paid by area (m²)",
                "decimal",
                decimals=1,
            ),
            read_number,
        ),
        TableField(
            Column(
                "heated_area_central_heat_m2",
                "集中供暖面积·按热量收费（m²）",
                "Heated centrally, paid by heat (m²)",
                "decimal",
                decimals=1,
            ),
            read_number,
        ),
        TableField(Column("heating_days", "采暖天数", "Heating days", "integer"), read_integer),
        TableField(
            Column("hot_water_boiler_kw", "热水锅炉热功率（kW）", "Hot-water boilers (kW)", "decimal", decimals=1),
            read_number,
        ),
        TableField(
            Column("steam_boiler_t_h", "蒸汽锅炉蒸发量（t/h）", "Steam boilers (t/h)", "decimal", decimals=2),
            read_number,
        ),
    ),
)
YEAR_FIGURES: Final = YEAR_FACTS

DEPARTMENTS = Table(
    "departments",
    "主管部门",
    "Supervising departments",
    (
        TableField(Column("id", "主管部门编号", "Department id"), read_text),
        TableField(Column("name", "主管部门名称", "Name"), read_text),
        TableField(Column("parent_id", "上级主管部门编号", "Parent department id"), read_text),
    ),
)

DATA_CENTRE_ROOMS = Table(
    "data_centre_rooms",
    "数据中心机房",
    "Data-centre rooms",
    (
        TableField(Column("institution_id", "单位编号", "Institution id"), read_text),
        TableField(Column("institution_name", "单位名称", "Institution"), read_text, informative=True),
        # Text, not an integer column: Excel would show an integer's thousands separator (2,026).
        TableField(Column("year", "年度", "Year"), read_integer, _show_text),
        TableField(Column("name", "机房名称", "Room"), read_text),
        TableField(
            Column("floor_area_m2", "机房建筑面积（m²）", "Floor area (m²)", "decimal", decimals=1), read_number
        ),
        TableField(Column("racks", "机柜总数量", "Racks", "integer"), read_integer),
        TableField(Column("it_power_kw", "IT设备功率（kW）", "IT power (kW)", "decimal", decimals=1), read_number),
        TableField(
            Column("cooling_power_kw", "空气调节设备功率（kW）", "Cooling power (kW)", "decimal", decimals=1),
            read_number,
        ),
        TableField(
            Column(
                "distribution_power_kw",
                "配电及附属设备功率（kW）",
                "Distribution power (kW)",
                "decimal",
                decimals=1,
            ),
            read_number,
        ),
        TableField(Column("electricity_kwh", "总用电量（kWh）", "Electricity (kWh)", "decimal"), read_decimal),
        TableField(Column("it_kwh", "IT设备用电量（kWh）", "IT electricity (kWh)", "decimal"), read_decimal),
        TableField(
            Column("cooling_kwh", "空气调节设备用电量（kWh）", "Cooling electricity (kWh)", "decimal"), read_decimal
        ),
        TableField(
            Column("distribution_kwh", "配电及附属设备用电量（kWh）", "Distribution electricity (kWh)", "decimal"),
            read_decimal,
        ),
    ),
    keys=("institution_id", "year", "name"),
)

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
        TableField(
            Column("reading_interval_seconds", "上报间隔（秒）", "Reading interval (s)", "integer"), read_integer
        ),
    ),
)


_VEHICLE_ENERGY = _choice(labels.VEHICLE_ENERGY)
_VEHICLE_TYPE = _named(labels.VEHICLE_TYPE)
_LIFECYCLE = _choice(labels.LIFECYCLE)
_RETIRED_HOW = _choice(labels.RETIRED_HOW)

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
        TableField(Column("vehicle_type", "车辆类型", "Vehicle type"), *_VEHICLE_TYPE),
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
        TableField(Column("tank_litres", "油箱容积（L）", "Tank (L)", "decimal", decimals=1), read_number),
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


def departments_sheet(items: Iterable[DepartmentPublic], language: Language) -> Sheet:
    """The supervising departments, as a sheet."""
    return DEPARTMENTS.sheet(items, language)


def rooms_sheet(items: Iterable[DataCentreRoomOfInstitution], language: Language) -> Sheet:
    """The data-centre rooms with their institutions' names, as a sheet."""
    return DATA_CENTRE_ROOMS.sheet(items, language)


def meters_sheet(items: Iterable[MeterOfInstitution], language: Language) -> Sheet:
    """The meters with their institutions' names, as a sheet."""
    return METERS.sheet(items, language)


def vehicles_sheet(items: Iterable[VehicleOfOrganisation], language: Language) -> Sheet:
    """The vehicles with their organisations' names, as a sheet."""
    return VEHICLES.sheet(items, language)


def drivers_sheet(items: Iterable[DriverOfOrganisation], language: Language) -> Sheet:
    """The drivers with their organisations' names, as a sheet."""
    return DRIVERS.sheet(items, language)
