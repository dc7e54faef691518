"""The registry's items and their rules: organisations, institutions with their yearly figures, meters and
vehicles, as staff and the registry document describe them.

The models hold every rule an item obeys on its own (an id that can be a topic level, a unit its meter's energy
type counts in, a plate, a VIN, a battery of a vehicle that runs on one, a retirement with its day and manner).
Rules that need the rest of the registry (another vehicle's plate, an open trip request) are the API's.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from typing import Annotated, Final, Literal, Protocol

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from domain import counters
from domain.energy import Category, EnergyType, SubItem
from domain.ids import ID_PATTERN, device_id_problem
from domain.measures import unit_problem
from domain.periods import FIRST_YEAR, LAST_YEAR
from domain.vehicles import NEW_ENERGY, VIN_PATTERN, Lifecycle, RetiredHow, VehicleEnergy

OrganisationKind = Literal["unit", "service_company", "rental_company"]

READING_INTERVAL_MAX: Final = 31 * 86_400  # seconds: the meter table's check says the same (migration 0023)


Id = Field(pattern=ID_PATTERN)


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


class InstitutionYear(_Item):
    """An institution's floor area and energy-using headcount in one year."""

    institution_id: str
    year: int = Field(ge=FIRST_YEAR, le=LAST_YEAR)
    floor_area_m2: float | None = Field(default=None, gt=0)
    headcount: int | None = Field(default=None, gt=0)


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


class RegistryDocument(BaseModel):
    """What `yiwang registry import` reads: the whole registry or a part of it, as JSON."""

    model_config = ConfigDict(extra="forbid")

    organisations: list[Organisation] = []
    institutions: list[Institution] = []
    institution_years: list[InstitutionYear] = []
    meters: list[Meter] = []
    vehicles: list[Vehicle] = []


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
