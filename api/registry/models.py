"""The registry as the API's bodies and answers: what comes in (…Create, …Update) and what goes out (…Public).

A body is the domain's item (domain/registry.py: its fields and rules, one definition) with what the storage
imposes on top: text without NUL characters, integers that fit an `integer` column, finite numbers (api/fields.py).
A `…Create` is the whole item and runs the item's rules; an `…Update` (a PATCH) holds the fields to change, each
left out unless sent, null refused where the item cannot be empty: the service validates the changed item whole.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from api.fields import NO_NUL, Finite, Integer, Text
from domain.energy import Category, EnergyType, SubItem
from domain.ids import ID_PATTERN
from domain.periods import FIRST_YEAR, LAST_YEAR
from domain.registry import (
    NAME_PATTERN,
    READING_INTERVAL_MAX,
    ROOM_NAME,
    DataCentreRoom,
    DataCentreRoomFacts,
    Department,
    Institution,
    InstitutionYear,
    Meter,
    MeterRecord,
    Moment,
    SurveyCategory,
    VehicleRecord,
    YearFacts,
)
from domain.vehicles import VIN_PATTERN, LicenceClass, Lifecycle, RetiredHow, VehicleEnergy

# ---------------------------------------------------------------------------------------------------------------
# What goes out


class OrganisationPublic(BaseModel):
    id: str
    name: str
    kind: str


class InstitutionPublic(BaseModel):
    id: str
    organisation_id: str
    name: str
    category: str
    district: str | None
    latitude: float | None
    longitude: float | None
    key_energy_unit: bool
    in_assessment: bool


class _YearFactsPublic(BaseModel):
    """An institution's facts of a year (domain/registry.py's YearFacts, where each field is described); null: not
    known."""

    floor_area_m2: float | None
    headcount: int | None
    credit_code: str | None
    department_id: str | None
    division_code: str | None
    survey_category: SurveyCategory | None
    in_survey: bool | None
    staff_quota: int | None
    heated_area_m2: float | None
    cooled_area_m2: float | None
    heated_area_own_m2: float | None
    heated_area_central_area_m2: float | None
    heated_area_central_heat_m2: float | None
    heating_days: int | None
    hot_water_boiler_kw: float | None
    steam_boiler_t_h: float | None


class InstitutionYearPublic(_YearFactsPublic):
    """An institution in one year: floor area (m²), energy-using headcount and what the statistics survey asks
    (null: not known)."""

    year: int


class InstitutionInYear(InstitutionPublic, _YearFactsPublic):
    """An institution with its facts of one year, as the registry export lists it."""

    year: int


class DepartmentPublic(BaseModel):
    """A supervising department (主管部门); parent_id null: at the top."""

    id: str
    name: str
    parent_id: str | None


class DataCentreRoomPublic(BaseModel):
    """A data-centre machine room (数据中心机房) of an institution in one year (null: not known)."""

    institution_id: str
    year: int
    name: str
    floor_area_m2: float | None
    racks: int | None
    it_power_kw: float | None
    cooling_power_kw: float | None
    distribution_power_kw: float | None
    electricity_kwh: Decimal | None
    it_kwh: Decimal | None
    cooling_kwh: Decimal | None
    distribution_kwh: Decimal | None


class DataCentreRoomOfInstitution(DataCentreRoomPublic):
    """A data-centre room with its institution's name, as the registry export lists it."""

    institution_name: str


class MeterPublic(BaseModel):
    id: str
    institution_id: str
    organisation_id: str
    energy_type: str
    unit: str
    sub_item: str | None
    multiplier: float
    register_max: float | None
    max_rate: float | None
    installed_on: date | None
    replaced_on: date | None
    reading_interval_seconds: int = Field(description="how often it reports: data quality expects one reading each")


class MeterOfInstitution(MeterPublic):
    """A meter with its institution's name, as the registry export lists it."""

    institution_name: str


class VehiclePublic(BaseModel):
    id: str
    organisation_id: str
    plate: str
    vin: str | None
    vehicle_type: str | None
    energy: str
    seats: int | None
    battery_kwh: float | None
    terminal_id: str | None
    home_institution_id: str | None
    lifecycle: Lifecycle
    in_service_on: date | None
    retired_on: date | None
    retired_how: RetiredHow | None
    tank_litres: float | None = Field(description="油箱容积: litres its fuel tank holds (null: not known)")


class VehicleOfOrganisation(VehiclePublic):
    """A vehicle with its organisation's name, as the registry export lists it."""

    organisation_name: str


class VehicleQuotaPublic(BaseModel):
    """An organisation's allocation quota of vehicles (编制) against the vehicles it holds."""

    organisation_id: str
    organisation_name: str
    allowed: int | None  # null: no quota set
    vehicles: int  # not retired: in service or in the workshop
    over_quota: bool  # more vehicles than allowed


class DriverPublic(BaseModel):
    id: int
    organisation_id: str
    name: str
    phone: str | None
    licence_class: LicenceClass
    active: bool
    created_at: datetime


class DriverOfOrganisation(DriverPublic):
    """A driver with their organisation's name, as the registry export lists them."""

    organisation_name: str


# ---------------------------------------------------------------------------------------------------------------
# What comes in. In an …Update, a field that cannot be empty is `Annotated[..., Field(default=None)]`: left out, it
# is unchanged; sent as null, it is refused.

_UPDATE = ConfigDict(extra="forbid")


class InstitutionCreate(Institution):
    """A new institution of an existing organisation."""

    organisation_id: Text
    name: Text
    district: Text | None = None
    latitude: Finite | None = Field(default=None, ge=-90, le=90)
    longitude: Finite | None = Field(default=None, ge=-180, le=180)


class InstitutionUpdate(BaseModel):
    """The fields of an institution to change; those left out stay as they are (its id does not change)."""

    model_config = _UPDATE

    organisation_id: Annotated[Text, Field(default=None)]
    name: Annotated[Text, Field(default=None)]
    category: Annotated[Category, Field(default=None)]
    district: Text | None = None
    latitude: Finite | None = Field(default=None, ge=-90, le=90)
    longitude: Finite | None = Field(default=None, ge=-180, le=180)
    key_energy_unit: Annotated[bool, Field(default=None)]
    in_assessment: Annotated[bool, Field(default=None)]


class InstitutionYearRecord(InstitutionYear):
    """An institution's facts of one year, as the registry import reads them."""

    institution_id: Text
    year: Integer = Field(ge=FIRST_YEAR, le=LAST_YEAR)


class YearFigures(YearFacts):
    """An institution's facts of one year: floor area (m²), energy-using headcount (用能人数) and what the statistics
    survey asks; what is left out or null is not known."""


class YearChanges(BaseModel):
    """Some of an institution's facts of a year to change (null: not known any more); those left out stay as they
    are. Each is described in YearFigures."""

    model_config = _UPDATE

    floor_area_m2: Finite | None = None
    headcount: Integer | None = None
    credit_code: str | None = None
    department_id: str | None = None
    division_code: str | None = None
    survey_category: SurveyCategory | None = None
    in_survey: bool | None = None
    staff_quota: Integer | None = None
    heated_area_m2: Finite | None = None
    cooled_area_m2: Finite | None = None
    heated_area_own_m2: Finite | None = None
    heated_area_central_area_m2: Finite | None = None
    heated_area_central_heat_m2: Finite | None = None
    heating_days: Integer | None = None
    hot_water_boiler_kw: Finite | None = None
    steam_boiler_t_h: Finite | None = None


class DepartmentCreate(Department):
    """A new supervising department (主管部门), at the top or under an existing one."""


class DepartmentUpdate(BaseModel):
    """The fields of a department to change; those left out stay as they are (null parent_id: to the top)."""

    model_config = _UPDATE

    name: Annotated[str, Field(default=None, min_length=1, max_length=200, pattern=NAME_PATTERN)]
    parent_id: str | None = Field(default=None, pattern=ID_PATTERN)


class RoomFigures(DataCentreRoomFacts):
    """A data-centre machine room's facts of one year; what is left out or null is not known."""


class DataCentreRoomRecord(DataCentreRoom):
    """A data-centre room as the registry import reads it."""

    institution_id: Text
    year: Integer = Field(ge=FIRST_YEAR, le=LAST_YEAR)
    name: str = ROOM_NAME


class MeterCreate(MeterRecord):
    """A new meter of an existing institution: its unit must be one its energy type counts in."""

    institution_id: Text
    unit: Text
    multiplier: Finite = Field(default=1.0, gt=0)
    register_max: Finite | None = Field(default=None, gt=0)
    max_rate: Finite | None = Field(default=None, gt=0)


class MeterUpdate(BaseModel):
    """The fields of a meter to change; those left out stay as they are (its id does not change)."""

    model_config = _UPDATE

    institution_id: Annotated[Text, Field(default=None)]
    energy_type: Annotated[EnergyType, Field(default=None)]
    unit: Annotated[Text, Field(default=None)]
    sub_item: SubItem | None = None
    multiplier: Annotated[Finite, Field(default=None, gt=0)]
    multiplier_from: Moment | None = Field(default=None, description=Meter.model_fields["multiplier_from"].description)
    register_max: Finite | None = Field(default=None, gt=0)
    max_rate: Finite | None = Field(default=None, gt=0)
    installed_on: date | None = None
    replaced_on: date | None = None
    reading_interval_seconds: Annotated[int, Field(default=None, ge=1, le=READING_INTERVAL_MAX)]


class VehicleCreate(VehicleRecord):
    """A new vehicle of an existing organisation: in service unless said otherwise."""

    organisation_id: Text
    plate: Text = Field(min_length=1, max_length=16, description="车牌号码, e.g. 赣H·D12345")
    vehicle_type: Text | None = None
    seats: Integer | None = Field(default=None, gt=0, le=99, description="核定座位数, the driver's seat included")
    battery_kwh: Finite | None = Field(default=None, gt=0)
    terminal_id: Text | None = None
    home_institution_id: Text | None = None
    tank_litres: Finite | None = Field(default=None, gt=0, description="油箱容积: litres its fuel tank holds")


class VehicleUpdate(BaseModel):
    """The fields of a vehicle to change; those left out stay as they are (its id does not change). Retiring it
    takes the day and manner: {"lifecycle": "retired", "retired_on": "2025-06-30", "retired_how": "auctioned"}."""

    model_config = _UPDATE

    organisation_id: Annotated[Text, Field(default=None)]
    plate: Annotated[Text, Field(default=None, min_length=1, max_length=16, description="车牌号码, e.g. 赣H·D12345")]
    vin: str | None = Field(
        default=None, pattern=VIN_PATTERN, description="车架号: 17 capital letters and digits, without I, O or Q"
    )
    vehicle_type: Text | None = None
    energy: Annotated[VehicleEnergy, Field(default=None)]
    seats: Integer | None = Field(default=None, gt=0, le=99, description="核定座位数, the driver's seat included")
    battery_kwh: Finite | None = Field(default=None, gt=0)
    terminal_id: Text | None = None
    home_institution_id: Text | None = None
    lifecycle: Annotated[
        Lifecycle,
        Field(default=None, description="active: in service; maintenance: in the workshop; retired: left the fleet"),
    ]
    in_service_on: date | None = Field(default=None, description="启用: the day it entered service")
    retired_on: date | None = Field(default=None, description="处置: the day it was auctioned or scrapped")
    retired_how: RetiredHow | None = Field(default=None, description="处置方式 of a retired vehicle")
    tank_litres: Finite | None = Field(default=None, gt=0, description="油箱容积: litres its fuel tank holds")


class VehicleQuotaSet(BaseModel):
    """An organisation's allocation quota of vehicles (编制); null: none."""

    model_config = ConfigDict(extra="forbid")

    allowed: Integer | None = Field(ge=0, description="how many vehicles, not retired, the unit may hold")


_PHONE = r"^\+?[0-9][0-9 -]{2,19}$"


class DriverCreate(BaseModel):
    """A new driver of an existing organisation (a unit, or a service or rental company)."""

    model_config = ConfigDict(extra="forbid")

    organisation_id: Text
    name: str = Field(min_length=1, max_length=64, pattern=NO_NUL)
    phone: str | None = Field(default=None, pattern=_PHONE, examples=["13800138000"])
    licence_class: LicenceClass = Field(description="准驾车型: C1 for cars, B1 for mid-size buses, A1 for large buses")
    active: bool = Field(default=True, description="false: left, or not to be dispatched")


class DriverUpdate(BaseModel):
    """The fields of a driver to change, e.g. {"active": false}; those left out stay as they are (null clears the
    phone)."""

    model_config = _UPDATE

    organisation_id: Annotated[Text, Field(default=None)]
    name: Annotated[str, Field(default=None, min_length=1, max_length=64, pattern=NO_NUL)]
    phone: str | None = Field(default=None, pattern=_PHONE, examples=["13800138000"])
    licence_class: Annotated[
        LicenceClass,
        Field(default=None, description="准驾车型: C1 for cars, B1 for mid-size buses, A1 for large buses"),
    ]
    active: Annotated[bool, Field(default=None, description="false: left, or not to be dispatched")]


# ---------------------------------------------------------------------------------------------------------------
# What goes out of an import


class RowProblem(BaseModel):
    """Why a row of an imported file does not fit."""

    row: int  # as Excel numbers it: the header is row 1 unless '#' comment lines come first
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
    years: int = 0  # facts of an institution in a year (floor area, headcount, the survey's), written or cleared
