"""The registry's items and their rules: organisations, institutions with their yearly figures, meters and
vehicles, as staff and the registry document describe them.

The models hold every rule an item obeys on its own (an id that can be a topic level, a unit its meter's energy
type counts in, a plate, a VIN, a battery of a vehicle that runs on one, a retirement with its day and manner).
Rules that need the rest of the registry (another vehicle's plate, an open trip request) are the API's.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Final, Literal, Protocol

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from domain import counters
from domain.credit_codes import credit_code_problem
from domain.energy import Category, EnergyType, SubItem
from domain.ids import ID_PATTERN, device_id_problem
from domain.measures import unit_problem
from domain.periods import FIRST_YEAR, LAST_YEAR
from domain.vehicles import NEW_ENERGY, VIN_PATTERN, LicenceClass, Lifecycle, RetiredHow, VehicleEnergy

OrganisationKind = Literal["unit", "service_company", "rental_company"]
# The statistics survey's categories of institution (its summary columns): 国家机关; 事业单位 by field (教育, 科技,
# 文化, 卫生, 体育, 其他); 团体组织. Not the registry's own `category` (学校, 医院, 社区...), which ranks and assesses.
SurveyCategory = Literal[
    "state_organ", "education", "science", "culture", "health", "sports", "other_institution", "association"
]

READING_INTERVAL_MAX: Final = 31 * 86_400  # seconds: the meter table's check says the same (migration 0023)


Id = Field(pattern=ID_PATTERN)
# A name: some text besides spaces, without the NUL character that PostgreSQL's text cannot hold. The characters
# Python's \s counts as spaces and JSON Schema's (ECMAScript's) does not (U+001C-U+001F, U+0085) are named, so that
# the published schema and the server agree on which names are valid.
NAME_PATTERN: Final = r"^[^\x00]*[^\s\x00\x1c-\x1f\x85][^\x00]*$"


def _device_id(value: str) -> str:
    problem = device_id_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


# A meter's or vehicle's id is also its broker user name and client id (domain/ids.py).
DeviceId = Annotated[str, AfterValidator(_device_id)]


def _in_years(value: datetime) -> datetime:
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(f"a moment from {FIRST_YEAR} to {LAST_YEAR}")
    return value


# A moment of a meter's history (a swap, a multiplier's start), with its offset: 2026-03-01T09:30:00+08:00.
Moment = Annotated[AwareDatetime, AfterValidator(_in_years)]


class _Item(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Organisation(_Item):
    """A unit (单位), or a service or rental company whose vehicles the platform also runs."""

    id: str = Id
    name: str
    kind: OrganisationKind = "unit"


class Institution(_Item):
    """An energy-using institution (公共机构) of an organisation."""

    id: str = Id
    organisation_id: str
    name: str
    category: Category
    district: str | None = None
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    key_energy_unit: bool = False
    in_assessment: bool = False


def _credit_code(value: str) -> str:
    problem = credit_code_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


# 统一社会信用代码 with its check character verified (domain/credit_codes.py).
CreditCode = Annotated[str, AfterValidator(_credit_code)]
# Areas in m² and powers: finite, not negative (what the columns of migration 0032 hold).
_Amount = Annotated[float, Field(ge=0, allow_inf_nan=False)]
_INTEGER_MAX: Final = 2**31 - 1  # PostgreSQL's integer
# The heated area's parts: how it is heated and paid for (the heating form, 采暖面积).
HEATED_AREA_PARTS: Final = ("heated_area_own_m2", "heated_area_central_area_m2", "heated_area_central_heat_m2")
# Areas that are parts of the building's floor area (建筑面积).
_WITHIN_FLOOR_AREA: Final = ("heated_area_m2", "cooled_area_m2")
# Rounding of areas typed by hand: a sum of parts may pass its total by this much (m²).
_AREA_TOLERANCE: Final = 0.5


class YearFacts(_Item):
    """What the statistics survey (公共机构能源资源消费统计调查制度) asks of an institution besides its consumption, for
    one year: each may change from one survey year to the next. None: not known."""

    floor_area_m2: float | None = Field(
        default=None, gt=0, allow_inf_nan=False, description="建筑面积 (m²): the floor area of its buildings"
    )
    headcount: int | None = Field(
        default=None, gt=0, le=_INTEGER_MAX, description="用能人数: the people who use its energy (staff and others)"
    )
    credit_code: CreditCode | None = Field(
        default=None,
        description="统一社会信用代码 (GB 32100-2015): 18 characters, the last a check character, e.g. "
        "123502001549897397",
        examples=["123502001549897397"],
    )
    department_id: str | None = Field(
        default=None,
        pattern=ID_PATTERN,
        description="主管部门: the id of its supervising department (GET /departments)",
    )
    division_code: str | None = Field(
        default=None,
        pattern=r"^[0-9]{6}$",
        description="行政区划代码 (GB/T 2260): the 6 digits of the county-level division it is in, e.g. 360102",
    )
    survey_category: SurveyCategory | None = Field(
        default=None,
        description="the survey's category: state_organ 国家机关; of 事业单位: education 教育, science 科技, culture "
        "文化, health 卫生, sports 体育, other_institution 其他; association 团体组织",
    )
    in_survey: bool | None = Field(
        default=None, description="in the survey's registry (名录库) this year: since 2025 only these are surveyed"
    )
    staff_quota: int | None = Field(default=None, ge=0, le=_INTEGER_MAX, description="编制人数: its authorised staff")
    heated_area_m2: _Amount | None = Field(default=None, description="采暖面积 (m²): the floor area heated")
    cooled_area_m2: _Amount | None = Field(default=None, description="空调面积 (m²): the floor area air-conditioned")
    heated_area_own_m2: _Amount | None = Field(default=None, description="独立供暖面积 (m²): heated by its own boilers")
    heated_area_central_area_m2: _Amount | None = Field(
        default=None, description="集中供暖面积，按面积收费 (m²): heated centrally, paid by area"
    )
    heated_area_central_heat_m2: _Amount | None = Field(
        default=None, description="集中供暖面积，按热量收费 (m²): heated centrally, paid by the heat metered"
    )
    heating_days: int | None = Field(default=None, ge=0, le=366, description="采暖天数: days of the heating season")
    hot_water_boiler_kw: _Amount | None = Field(default=None, description="热水锅炉热功率 (kW): hot-water boilers")
    steam_boiler_t_h: _Amount | None = Field(default=None, description="蒸汽锅炉蒸发量 (t/h): steam boilers")

    @model_validator(mode="after")
    def _parts_within_wholes(self) -> YearFacts:
        parts = [getattr(self, name) for name in HEATED_AREA_PARTS if getattr(self, name) is not None]
        if self.heated_area_m2 is not None and sum(parts) > self.heated_area_m2 + _AREA_TOLERANCE:
            raise ValueError(
                f"the heated area's parts (independent, central by area, central by heat) add up to {sum(parts):g} "
                f"m², more than the heated area (采暖面积) of {self.heated_area_m2:g} m²"
            )
        for name in _WITHIN_FLOOR_AREA:
            area = getattr(self, name)
            if area is not None and self.floor_area_m2 is not None and area > self.floor_area_m2 + _AREA_TOLERANCE:
                raise ValueError(
                    f"{name} of {area:g} m² is more than the floor area (建筑面积) of {self.floor_area_m2:g} m²"
                )
        return self

    def known(self) -> bool:
        """Whether anything of the year is known (a year of which nothing is has no row)."""
        return any(getattr(self, name) is not None for name in YearFacts.model_fields)


class InstitutionYear(YearFacts):
    """An institution's facts in one year: floor area and energy-using headcount, and what the survey asks."""

    institution_id: str
    year: int = Field(ge=FIRST_YEAR, le=LAST_YEAR)


YEAR_FACTS: Final = tuple(YearFacts.model_fields)


class Department(_Item):
    """A supervising department (主管部门), under another or at the top (parent_id None)."""

    id: str = Id
    name: str = Field(min_length=1, max_length=200, pattern=NAME_PATTERN)
    parent_id: str | None = Field(default=None, pattern=ID_PATTERN)

    @model_validator(mode="after")
    def _not_its_own_parent(self) -> Department:
        if self.parent_id == self.id:
            raise ValueError(f"department {self.id} cannot be its own parent")
        return self


_Energy = Annotated[Decimal, Field(ge=0, max_digits=20, decimal_places=6, allow_inf_nan=False)]
# The room's electricity split by what uses it; the total may hold more (lighting of the room, say).
ROOM_ELECTRICITY_PARTS: Final = ("it_kwh", "cooling_kwh", "distribution_kwh")


class DataCentreRoomFacts(_Item):
    """A data-centre machine room (数据中心机房) of an institution in one year: the survey's data-centre form."""

    floor_area_m2: _Amount | None = Field(default=None, description="机房建筑面积 (m²)")
    racks: int | None = Field(default=None, ge=0, le=_INTEGER_MAX, description="机柜总数量")
    it_power_kw: _Amount | None = Field(default=None, description="设备总功率: IT设备 (kW)")
    cooling_power_kw: _Amount | None = Field(default=None, description="设备总功率: 空气调节设备 (kW)")
    distribution_power_kw: _Amount | None = Field(default=None, description="设备总功率: 配电及附属设备 (kW)")
    electricity_kwh: _Energy | None = Field(default=None, description="总用电量 (kWh) of the year")
    it_kwh: _Energy | None = Field(default=None, description="of which IT设备 (kWh)")
    cooling_kwh: _Energy | None = Field(default=None, description="of which 空气调节设备 (kWh)")
    distribution_kwh: _Energy | None = Field(default=None, description="of which 配电及附属设备 (kWh)")

    @model_validator(mode="after")
    def _parts_within_total(self) -> DataCentreRoomFacts:
        parts = [getattr(self, name) for name in ROOM_ELECTRICITY_PARTS if getattr(self, name) is not None]
        if self.electricity_kwh is not None and sum(parts, Decimal(0)) > self.electricity_kwh:
            raise ValueError(
                f"the room's electricity by use (IT, cooling, distribution) adds up to {sum(parts, Decimal(0))} kWh, "
                f"more than its total (总用电量) of {self.electricity_kwh} kWh"
            )
        return self


ROOM_NAME = Field(min_length=1, max_length=200, pattern=NAME_PATTERN, description="the room's name")


class DataCentreRoom(DataCentreRoomFacts):
    """A data-centre room as the registry document gives it: its institution, year and name (one room a name)."""

    institution_id: str
    year: int = Field(ge=FIRST_YEAR, le=LAST_YEAR)
    name: str = ROOM_NAME


class Meter(_Item):
    """A meter of an institution, as the registry document gives it."""

    id: DeviceId
    institution_id: str
    energy_type: EnergyType
    unit: str
    sub_item: SubItem | None = None
    multiplier: float = Field(default=1.0, gt=0)
    # When a changed multiplier takes effect (a CT changed at a visit: the moment of the reading taken there). Not
    # stored on the meter: it dates the multiplier's history; the days before keep their figures. None: from the
    # moment of the change. Ignored unless the multiplier changes.
    multiplier_from: Moment | None = Field(
        default=None,
        description="with a changed multiplier: the moment it holds from, e.g. 2026-03-01T09:30:00+08:00 (the "
        "reading taken at the visit); left out: from the moment of the change. The consumption before it keeps its "
        "figures",
    )
    register_max: float | None = Field(default=None, gt=0)
    max_rate: float | None = Field(default=None, gt=0)  # the most it can consume in an hour: faster is implausible
    installed_on: date | None = None
    # How often it reports: data quality expects a reading each interval (a month at most: read by hand).
    reading_interval_seconds: int = Field(default=900, ge=1, le=READING_INTERVAL_MAX)

    @model_validator(mode="after")
    def _unit_fits_energy(self) -> Meter:
        problem = unit_problem(self.energy_type, self.unit)
        if problem is not None:
            raise ValueError(problem)
        return self


class Vehicle(_Item):
    """A vehicle of an organisation, as the registry document gives it."""

    id: DeviceId
    organisation_id: str
    plate: str
    vin: str | None = None
    vehicle_type: str | None = None
    energy: VehicleEnergy
    seats: int | None = Field(default=None, gt=0)
    battery_kwh: float | None = Field(default=None, gt=0)
    terminal_id: str | None = None
    home_institution_id: str | None = None
    tank_litres: float | None = Field(default=None, gt=0, description="油箱容积: litres its fuel tank holds")


class Driver(_Item):
    """A driver (驾驶员) of an organisation, as the registry document gives it: numbered by the database, so named
    here by the organisation, name and phone (a second import of the same person adds nobody)."""

    organisation_id: str
    name: str = Field(min_length=1, max_length=64)
    phone: str | None = Field(default=None, pattern=r"^\+?[0-9][0-9 -]{2,19}$")
    licence_class: LicenceClass = Field(description="准驾车型: C1 for cars, B1 for mid-size buses, A1 for large buses")


class RegistryDocument(BaseModel):
    """What `yiwang registry import` reads: the whole registry or a part of it, as JSON."""

    model_config = ConfigDict(extra="forbid")

    organisations: list[Organisation] = []
    departments: list[Department] = []
    institutions: list[Institution] = []
    institution_years: list[InstitutionYear] = []
    data_centre_rooms: list[DataCentreRoom] = []
    meters: list[Meter] = []
    vehicles: list[Vehicle] = []
    drivers: list[Driver] = []


class MeterRecord(Meter):
    """A meter as the registry keeps it: the document's Meter with the date it was replaced, and the rules the meter
    table holds that the Meter model does not state (a sub-item is of electricity; no replacement before the
    installation)."""

    replaced_on: date | None = None

    @model_validator(mode="after")
    def _dates_and_sub_item(self) -> MeterRecord:
        if self.sub_item is not None and self.energy_type != "electricity":
            raise ValueError(f"a sub-item (分项) belongs to electricity meters, not to a {self.energy_type} meter")
        if self.installed_on and self.replaced_on and self.replaced_on < self.installed_on:
            raise ValueError(f"replaced on {self.replaced_on} is before installed on {self.installed_on}")
        return self


# What the consumption roll-up counts a meter's readings with (domain/counters.py's Meter): a change recounts the
# meter's history.
COUNTING_FIELDS: Final = tuple(field.name for field in dataclasses.fields(counters.Meter))


def counting_changed(before: BaseModel, after: BaseModel) -> bool:
    """Whether a meter's change touches what the roll-up counts with."""
    return any(getattr(before, name) != getattr(after, name) for name in COUNTING_FIELDS)


class VehicleRecord(Vehicle):
    """A vehicle as the registry keeps it: the document's Vehicle with where it is in its life (in service, in the
    workshop, or retired: when and how it left the fleet), and the rules that the Vehicle model does not state (a
    plate, a well-formed VIN, seats that a vehicle can have, a battery of a vehicle that runs on one, and a
    retirement with its day and manner, after the vehicle entered service)."""

    plate: str = Field(min_length=1, max_length=16, description="车牌号码, e.g. 赣H·D12345")
    vin: str | None = Field(
        default=None, pattern=VIN_PATTERN, description="车架号: 17 capital letters and digits, without I, O or Q"
    )
    seats: int | None = Field(default=None, gt=0, le=99, description="核定座位数, the driver's seat included")
    lifecycle: Lifecycle = Field(
        default="active", description="active: in service; maintenance: in the workshop; retired: left the fleet"
    )
    in_service_on: date | None = Field(default=None, description="启用: the day it entered service")
    retired_on: date | None = Field(default=None, description="处置: the day it was auctioned or scrapped")
    retired_how: RetiredHow | None = Field(default=None, description="处置方式 of a retired vehicle")

    @model_validator(mode="after")
    def _battery_and_retirement(self) -> VehicleRecord:
        if self.battery_kwh is not None and self.energy not in NEW_ENERGY:
            raise ValueError(
                f"a battery capacity is of battery-electric and plug-in hybrid vehicles, not of a {self.energy} one"
            )
        if self.tank_litres is not None and self.energy == "battery_electric":
            raise ValueError("a fuel tank is of vehicles that burn fuel, not of a battery_electric one")
        if self.lifecycle == "retired" and (self.retired_on is None or self.retired_how is None):
            raise ValueError(
                "a retired vehicle needs the day it left (retired_on) and how (retired_how: auctioned or scrapped)"
            )
        if self.lifecycle != "retired" and (self.retired_on is not None or self.retired_how is not None):
            raise ValueError(f"retired_on and retired_how are of a retired vehicle, and this one is {self.lifecycle}")
        if self.in_service_on and self.retired_on and self.retired_on < self.in_service_on:
            raise ValueError(f"retired on {self.retired_on} is before in service on {self.in_service_on}")
        return self


class InFleet(Protocol):
    """A vehicle as the fleet holds it now (the registry's row)."""

    @property
    def id(self) -> str: ...

    @property
    def plate(self) -> str: ...

    @property
    def lifecycle(self) -> str: ...


def lifecycle_problem(before: InFleet | None, lifecycle: str, open_request: tuple[int, str] | None) -> str | None:
    """Why a vehicle cannot go from `before` (None: a new vehicle) to `lifecycle`, or None when it can: a retired
    vehicle does not come back, and a vehicle on an open trip request (`open_request`: its id and state) is not
    retired. Asked before the changed vehicle is validated: these say more than what the vehicle would lack."""
    if before is None or (before.lifecycle == "retired") == (lifecycle == "retired"):
        return None
    name = f"vehicle {before.id} ({before.plate})"
    if before.lifecycle == "retired":
        return (
            f"{name} is retired: a retired vehicle does not come back into the fleet; register the vehicle that "
            "replaces it as a new one"
        )
    if open_request is not None:
        request_id, state = open_request
        return (
            f"{name} is on request {request_id}, which is {state.replace('_', ' ')}: a vehicle on an open request "
            "cannot be retired; cancel the request or record its return first"
        )
    return None
