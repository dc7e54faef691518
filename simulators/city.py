"""The simulated city: its organisations, institutions, meters and vehicles, and their registry document."""

from __future__ import annotations

import functools
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from domain.energy import CATEGORIES, Category, EnergyType, SubItem
from domain.registry import OrganisationKind
from domain.vehicles import NEW_ENERGY, VehicleEnergy
from simulators import names, survey
from simulators.seeds import stream
from simulators.streets import EAST, NORTH, SOUTH, WEST, Streets, build_streets

# What the simulated city meters, in the units of its meters' dials.
UNITS: dict[EnergyType, str] = {"electricity": "kWh", "water": "m3", "natural_gas": "m3", "heat": "GJ"}

# Registers are sized to hold HEADROOM times the mean consumption from installation to this day, so that
# a wrap is always an injected fault; meters.py keeps its trends inside that (at most +42% by 2045).
REGISTER_HORIZON = date(2046, 1, 1)
HEADROOM = 2.5
# Large buildings stand in for the key energy-using units (重点用能单位) whose consumption is published.
KEY_UNIT_FLOOR_AREA = 30000.0  # m2: about the largest tenth
_REGISTER_SIZES = (999999.9, 9999999.9, 99999999.0)


@dataclass(frozen=True, slots=True)
class Organisation:
    """A unit (单位), or a contracted service or rental company that owns vehicles only."""

    id: str
    name: str
    kind: OrganisationKind


@dataclass(frozen=True, slots=True)
class Institution:
    """An energy-using institution; also an office that vehicles drive between.

    `floor_area` (m2) and `headcount` drive the simulated consumption; the registry document carries
    them for the current and the previous year.
    """

    id: str
    organisation_id: str
    name: str
    category: Category
    district: str
    latitude: float
    longitude: float
    node: int  # the intersection of the street grid where its gate is
    floor_area: float
    headcount: int


@dataclass(frozen=True, slots=True)
class Meter:
    """A meter as registered, plus `daily`: its mean consumption per day in `unit`, the simulation's truth.

    The register counts consumption divided by `multiplier` (the CT ratio): consumption is the register
    delta times the multiplier, as the registry says.
    """

    id: str
    institution_id: str
    energy_type: EnergyType
    unit: str
    sub_item: SubItem | None
    multiplier: float
    register_max: float
    installed_on: date
    daily: float


@dataclass(frozen=True, slots=True)
class Vehicle:
    """An official vehicle with its JT/T 808 terminal; it parks at its home institution."""

    id: str
    organisation_id: str
    plate: str
    vin: str
    vehicle_type: str
    energy: VehicleEnergy
    seats: int
    battery_kwh: float | None
    terminal_id: str
    home_institution_id: str


@dataclass(frozen=True, slots=True)
class City:
    """Everything that exists in the simulated city; it enters the registry only by `registry_document()`."""

    name: str
    seed: int
    streets: Streets
    organisations: tuple[Organisation, ...]
    institutions: tuple[Institution, ...]
    meters: tuple[Meter, ...]
    vehicles: tuple[Vehicle, ...]

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """South, west, north, east (degrees): nothing of the city lies outside."""
        return SOUTH, WEST, NORTH, EAST

    def institutions_by_id(self) -> dict[str, Institution]:
        return {i.id: i for i in self.institutions}

    def registry_document(self, years: Iterable[int] | None = None) -> dict[str, list[dict[str, Any]]]:
        """The registry import document (`yiwang registry import`), as plain JSON-ready data.

        Args:
            years: the years whose facts it states (floor area, headcount, the survey's; data-centre rooms): by
                default this one and the last.
        """
        this_year = date.today().year
        stated = list(years) if years is not None else [this_year - 1, this_year]
        return {
            "organisations": [{"id": o.id, "name": o.name, "kind": o.kind} for o in self.organisations],
            "departments": survey.department_rows(),
            "institutions": [
                {
                    "id": i.id,
                    "organisation_id": i.organisation_id,
                    "name": i.name,
                    "category": i.category,
                    "district": i.district,
                    "latitude": round(i.latitude, 6),
                    "longitude": round(i.longitude, 6),
                    "key_energy_unit": i.floor_area >= KEY_UNIT_FLOOR_AREA,
                    # About the bureau's share: 277 of 945 institutions are assessed online.
                    "in_assessment": n % 10 < 3,
                }
                for n, i in enumerate(self.institutions)
            ],
            "institution_years": [
                {"institution_id": i.id, "year": year, "floor_area_m2": i.floor_area, "headcount": i.headcount}
                | survey.year_facts(
                    self.seed,
                    institution_id=i.id,
                    name=i.name,
                    category=i.category,
                    district=i.district,
                    floor_area=i.floor_area,
                    headcount=i.headcount,
                )
                for i in self.institutions
                for year in stated
            ],
            "data_centre_rooms": survey.rooms(
                self.seed, [(i.id, i.category, i.floor_area) for i in self.institutions], stated
            ),
            "meters": [
                {
                    "id": m.id,
                    "institution_id": m.institution_id,
                    "energy_type": m.energy_type,
                    "unit": m.unit,
                    "sub_item": m.sub_item,
                    "multiplier": m.multiplier,
                    "register_max": m.register_max,
                    # A day's mean consumption within one hour is beyond any real peak: a glitch.
                    "max_rate": round(m.daily, 3),
                    "installed_on": m.installed_on.isoformat(),
                }
                for m in self.meters
            ],
            "vehicles": [
                {
                    "id": v.id,
                    "organisation_id": v.organisation_id,
                    "plate": v.plate,
                    "vin": v.vin,
                    "vehicle_type": v.vehicle_type,
                    "energy": v.energy,
                    "seats": v.seats,
                    "battery_kwh": v.battery_kwh,
                    "terminal_id": v.terminal_id,
                    "home_institution_id": v.home_institution_id,
                }
                for v in self.vehicles
            ],
            "drivers": self.drivers(),
        }

    def drivers(self) -> list[dict[str, Any]]:
        """Drivers for the units' vehicles (seven for every ten vehicles, at least one): a first dispatch works
        without anyone adding a driver. B1 licences where the unit has a minibus."""
        rng = stream(self.seed, "drivers")
        fleets: dict[str, list[Vehicle]] = {}
        for v in self.vehicles:
            fleets.setdefault(v.organisation_id, []).append(v)
        drivers = []
        for organisation_id, fleet in fleets.items():
            buses = any(v.seats > _CAR_SEATS for v in fleet)
            for n in range(max(1, round(len(fleet) * 0.7))):
                name = rng.choice(names.SURNAMES) + "".join(rng.choices(names.GIVEN, k=rng.choice((1, 2))))
                drivers.append(
                    {
                        "organisation_id": organisation_id,
                        "name": name,
                        "phone": "1" + rng.choice("3589") + "".join(rng.choices("0123456789", k=9)),
                        "licence_class": "B1" if buses and n == 0 else "C1",
                    }
                )
        return drivers


@dataclass(frozen=True, slots=True)
class _Kind:
    """What a category of institution is like: size, people, intensities, who has gas, who has cars."""

    share: float  # of the registry's institutions
    floor_area: tuple[float, float]  # m2
    people_per_1000m2: tuple[float, float]
    kwh_per_m2_year: tuple[float, float]
    water_per_person_day: float  # m3
    gas_per_person_day: float  # m3
    gas_share: float  # of institutions with a gas meter (canteens, boilers)
    vehicle_weight: float


_KINDS: dict[Category, _Kind] = {
    "agency": _Kind(0.26, (8000, 30000), (12, 25), (70, 110), 0.10, 0.20, 0.5, 3.0),
    "public_institution": _Kind(0.24, (3000, 15000), (10, 22), (55, 95), 0.10, 0.15, 0.3, 1.5),
    "school": _Kind(0.26, (15000, 45000), (40, 80), (30, 55), 0.045, 0.04, 0.7, 0.6),
    "hospital": _Kind(0.06, (25000, 110000), (15, 30), (150, 240), 0.40, 0.45, 1.0, 3.0),
    "community": _Kind(0.14, (800, 3000), (8, 15), (45, 80), 0.12, 0.0, 0.0, 0.3),
    "venue": _Kind(0.04, (8000, 40000), (2, 6), (50, 110), 0.30, 0.05, 0.2, 0.5),
}
_SUB_ITEM_SHARES: dict[SubItem, float] = {
    "lighting_socket": 0.33,
    "air_conditioning": 0.38,
    "power": 0.17,
    "special": 0.12,
}
_SUB_ITEM_AREA = 20000.0  # m2: larger buildings carry sub-item metering (分项计量)
_CANDIDATES: dict[Category, Callable[[random.Random], list[names.Candidate]]] = {
    "agency": names.agencies,
    "public_institution": names.public_institutions,
    "school": names.schools,
    "hospital": names.hospitals,
    "community": names.communities,
    "venue": names.venues,
}

_CAR_SEATS = 9  # more seats than this: a B1 licence (中型客车) to drive it
# (vehicle_type, share, seats choices, battery kWh range when fully electric)
_VEHICLE_TYPES: tuple[tuple[str, float, tuple[int, ...], tuple[float, float]], ...] = (
    ("sedan", 0.55, (5,), (50, 72)),
    ("suv", 0.20, (5, 7), (60, 85)),
    ("mpv", 0.12, (7,), (70, 90)),
    ("minibus", 0.06, (14, 17, 19), (80, 110)),
    ("pickup", 0.04, (5,), (50, 60)),
    ("van", 0.03, (2, 5, 7), (40, 55)),
)
_WMI = ("LSV", "LFV", "LGX", "LVG", "LDC", "LSG", "LGB", "LHG", "LBV", "LC0")  # common Chinese-built makes
_VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
_VIN_VALUES = dict(zip("ABCDEFGHJKLMNPRSTUVWXYZ", (*range(1, 9), *range(1, 6), 7, 9, *range(2, 10)), strict=True))
_VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
_VIN_YEARS = "FGHJKLMNPRS"  # model years 2015-2025
_PLATE_LETTERS = "ABCEGHJKLMNPQRSTUVWXYZ"  # D and F mark new-energy plates


def build_city(seed: int, institutions: int, vehicles: int) -> City:
    """Build Jingdezhen with `institutions` institutions and `vehicles` vehicles, the same for the same seed.

    Args:
        seed: every name, place, meter and vehicle follows from it.
        institutions: how many institutions (each with two to six meters).
        vehicles: how many official vehicles, owned by the units and one or two companies.
    """
    if institutions < 1 or vehicles < 0:
        raise ValueError("a city has at least one institution and no negative number of vehicles")
    streets = build_streets(stream(seed, "streets"))
    builder = _Builder(seed, streets)
    for category, count in _split(institutions).items():
        builder.add_institutions(category, count)
    builder.add_meters()
    builder.add_vehicles(vehicles)
    return City(
        name=names.CITY,
        seed=seed,
        streets=streets,
        organisations=tuple(builder.organisations.values()),
        institutions=tuple(builder.institutions),
        meters=tuple(builder.meters),
        vehicles=tuple(builder.vehicles),
    )


def _split(total: int) -> dict[Category, int]:
    """Institutions per category by the registry's shares (largest remainder), each present if there is room."""
    exact = {c: total * k.share for c, k in _KINDS.items()}
    counts = {c: int(x) for c, x in exact.items()}
    if total >= len(CATEGORIES):
        for c in CATEGORIES:
            counts[c] = max(1, counts[c])
    by_remainder = sorted(CATEGORIES, key=lambda c: exact[c] - int(exact[c]), reverse=True)
    i = 0
    while sum(counts.values()) < total:
        counts[by_remainder[i % len(by_remainder)]] += 1
        i += 1
    while sum(counts.values()) > total:
        largest = max(CATEGORIES, key=lambda c: counts[c])
        counts[largest] -= 1
    return counts


class _Builder:
    def __init__(self, seed: int, streets: Streets) -> None:
        self.seed = seed
        self.streets = streets
        self.rng = stream(seed, "city")
        self.organisations: dict[str, Organisation] = {}  # by name
        self.institutions: list[Institution] = []
        self.meters: list[Meter] = []
        self.vehicles: list[Vehicle] = []
        self._areas = self._district_areas()

    def _district_areas(self) -> dict[str, list[int]]:
        """Which intersections count as which district.

        The grid covers only the city centre; the county-level units of Fuliang (north) and Leping
        (south-west, 50 km away in reality) get the northern and southern edges so that one grid serves all.
        """
        s = self.streets
        areas: dict[str, list[int]] = {d: [] for d in names.DISTRICTS}
        for row in range(s.rows):
            for col in range(s.cols):
                if row < 2:
                    district = names.LEPING
                elif row >= s.rows - 3 and col > s.river_col:
                    district = names.FULIANG
                elif col <= s.river_col:
                    district = names.CHANGJIANG
                else:
                    district = names.ZHUSHAN
                areas[district].append(s.node(row, col))
        return areas

    def organisation(self, name: str, kind: OrganisationKind = "unit") -> Organisation:
        org = self.organisations.get(name)
        if org is None:
            org = Organisation(f"org-{len(self.organisations) + 1:04d}", name, kind)
            self.organisations[name] = org
        return org

    def add_institutions(self, category: Category, count: int) -> None:
        candidates = _CANDIDATES[category](stream(self.seed, "names", category))
        chosen = candidates[:count]
        # More institutions than names: units with a second, third... building (二号楼).
        for k in range(count - len(chosen)):
            name, district, owner = candidates[k % len(candidates)]
            building = 2 + k // len(candidates)
            # Chinese names take full-width brackets.
            chosen.append((f"{name}（{building}号楼）", district, owner or name))
        for name, district, owner in chosen:
            self._add_institution(category, name, district, owner or name)

    def _add_institution(self, category: Category, name: str, district: str | None, owner: str) -> None:
        rng = self.rng
        if district is None:
            district = names.ZHUSHAN if rng.random() < 0.7 else names.CHANGJIANG
        node = rng.choice(self._areas[district] or self._areas[names.ZHUSHAN])
        lat, lon = self.streets.position(node)
        kind = _KINDS[category]
        scale = _size_scale(category, name)
        area = round(rng.uniform(*kind.floor_area) * scale, -1)
        headcount = max(3, round(area / 1000 * rng.uniform(*kind.people_per_1000m2)))
        self.institutions.append(
            Institution(
                id=f"inst-{len(self.institutions) + 1:04d}",
                organisation_id=self.organisation(owner).id,
                name=name,
                category=category,
                district=district,
                latitude=lat,
                longitude=lon,
                node=node,
                floor_area=area,
                headcount=headcount,
            )
        )

    def add_meters(self) -> None:
        for number, inst in enumerate(self.institutions, start=1):
            rng = stream(self.seed, "meters", inst.id)
            kind = _KINDS[inst.category]
            base = f"m{number:04d}"
            electricity = inst.floor_area * rng.uniform(*kind.kwh_per_m2_year) / 365
            add = functools.partial(self._add_meter, rng, inst=inst)
            add(meter_id=f"{base}-e", energy="electricity", sub_item=None, typical_daily=electricity)
            water = inst.headcount * kind.water_per_person_day
            add(meter_id=f"{base}-w", energy="water", sub_item=None, typical_daily=water)
            if rng.random() < kind.gas_share:
                gas = inst.headcount * kind.gas_per_person_day
                add(meter_id=f"{base}-g", energy="natural_gas", sub_item=None, typical_daily=gas)
            if inst.floor_area >= _SUB_ITEM_AREA:
                for code, (item, share) in zip(("ls", "ac", "pw", "sp"), _SUB_ITEM_SHARES.items(), strict=True):
                    add(
                        meter_id=f"{base}-e-{code}",
                        energy="electricity",
                        sub_item=item,
                        typical_daily=electricity * share,
                    )

    def _add_meter(
        self,
        rng: random.Random,
        *,
        meter_id: str,
        inst: Institution,
        energy: EnergyType,
        sub_item: SubItem | None,
        typical_daily: float,
    ) -> None:
        daily = max(0.5, typical_daily * rng.uniform(0.85, 1.15))
        first = date(2016, 1, 1) if sub_item else date(2012, 1, 1)
        installed = first + timedelta(days=rng.randrange((date(2023, 12, 31) - first).days))
        multiplier = 1.0
        if energy == "electricity" and daily > 6000:
            multiplier = 80.0 if daily > 20000 and sub_item is None else 40.0
        # Size the register so that decades of consumption, with headroom, do not fill it: a wrap is a fault.
        growth = daily * HEADROOM * (REGISTER_HORIZON - installed).days / multiplier
        register_max = next((size for size in _REGISTER_SIZES if growth < size * 0.95), _REGISTER_SIZES[-1])
        self.meters.append(
            Meter(
                id=meter_id,
                institution_id=inst.id,
                energy_type=energy,
                unit=UNITS[energy],
                sub_item=sub_item,
                multiplier=multiplier,
                register_max=register_max,
                installed_on=installed,
                daily=daily,
            )
        )

    def add_vehicles(self, count: int) -> None:
        if count == 0:
            return
        rng = stream(self.seed, "vehicles")
        agencies = [i for i in self.institutions if i.category == "agency"] or self.institutions
        by_id = {o.id: o for o in self.organisations.values()}
        owners: list[tuple[Organisation, Institution | None]] = []
        weights: list[float] = []
        for inst in self.institutions:
            owners.append((by_id[inst.organisation_id], inst))
            weights.append(_KINDS[inst.category].vehicle_weight * (inst.floor_area / 10000) ** 0.5)
        total = sum(weights)
        # Contracted companies carry about 15% of the fleet; their cars are stationed at agencies.
        companies = [self.organisation(names.SERVICE_COMPANY, "service_company")]
        if count >= 10:
            companies.append(self.organisation(names.RENTAL_COMPANY, "rental_company"))
        for company in companies:
            owners.append((company, None))
            weights.append(total * 0.15 / 0.85 / len(companies))
        plates: set[str] = set()
        terminals: set[str] = set()
        for number in range(1, count + 1):
            if number <= len(companies):
                org, home = companies[number - 1], None  # each company owns at least one car
            else:
                org, home = rng.choices(owners, weights)[0]
            if home is None:
                home = rng.choice(agencies)
            self.vehicles.append(
                self._vehicle(rng, number=number, org=org, home=home, plates=plates, terminals=terminals)
            )

    def _vehicle(
        self,
        rng: random.Random,
        *,
        number: int,
        org: Organisation,
        home: Institution,
        plates: set[str],
        terminals: set[str],
    ) -> Vehicle:
        vehicle_type, _, seat_choices, battery_range = rng.choices(_VEHICLE_TYPES, [t[1] for t in _VEHICLE_TYPES])[0]
        energies: tuple[VehicleEnergy, ...] = ("battery_electric", "plug_in_hybrid", "gasoline", "diesel")
        diesel = 0.5 if vehicle_type in ("minibus", "pickup", "van") else 0.0
        energy = rng.choices(energies, (0.38, 0.12, 0.50 - diesel * 0.5, diesel))[0]
        battery: float | None = None
        if energy == "battery_electric":
            battery = round(rng.uniform(*battery_range), 1)
        elif energy == "plug_in_hybrid":
            battery = round(rng.uniform(12, 35), 1)
        plate = _plate(rng, energy, plates)
        return Vehicle(
            id=f"v{number:05d}",
            organisation_id=org.id,
            plate=plate,
            vin=_vin(rng),
            vehicle_type=vehicle_type,
            energy=energy,
            seats=rng.choice(seat_choices),
            battery_kwh=battery,
            terminal_id=_terminal(rng, terminals),
            home_institution_id=home.id,
        )


def _size_scale(category: Category, name: str) -> float:
    """Universities dwarf kindergartens; a community health centre is not a city hospital."""
    if category == "school":
        if name.endswith(("大学", "学院", "技工学校")):
            return 3.0
        if "幼儿园" in name:
            return 0.2
        if "小学" in name:
            return 0.5
    if category == "hospital":
        if "社区卫生服务中心" in name:
            return 0.06
        if not name.startswith(names.CITY):
            return 0.5
    return 1.0


def _plate(rng: random.Random, energy: VehicleEnergy, taken: set[str]) -> str:
    """赣H·A1234 for fuel vehicles; 赣H·D12345 (electric) or 赣H·F12345 (hybrid) for new energy."""
    while True:
        if energy in NEW_ENERGY:
            body = ("D" if energy == "battery_electric" else "F") + f"{rng.randrange(100000):05d}"
        else:
            body = rng.choice(_PLATE_LETTERS) + f"{rng.randrange(10000):04d}"
        plate = f"{names.PLATE_PREFIX}·{body}"
        if plate not in taken:
            taken.add(plate)
            return plate


def _terminal(rng: random.Random, taken: set[str]) -> str:
    """A JT/T 808 terminal phone number: 12 BCD digits, here a 0 and an IoT SIM number (14x...)."""
    while True:
        number = f"014{rng.randrange(10**9):09d}"
        if number not in taken:
            taken.add(number)
            return number


def _vin(rng: random.Random) -> str:
    """A 17-character VIN with a valid ISO 3779 check digit (position 9)."""
    chars = [*rng.choice(_WMI), *(rng.choice(_VIN_CHARS) for _ in range(5)), "0", rng.choice(_VIN_YEARS)]
    chars += [rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ"), *f"{rng.randrange(1000000):06d}"]
    total = sum((_VIN_VALUES[c] if c.isalpha() else int(c)) * w for c, w in zip(chars, _VIN_WEIGHTS, strict=True))
    check = total % 11
    chars[8] = "X" if check == 10 else str(check)
    return "".join(chars)
