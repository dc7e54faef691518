"""The simulated city: reproducible, realistic enough, and registered only through its registry document."""

from __future__ import annotations

import re
from collections import Counter

import orjson

from domain.credit_codes import credit_code_problem
from domain.departments import descendants
from domain.registry import RegistryDocument
from simulators.city import CATEGORIES, REGISTER_HORIZON, UNITS, build_city
from simulators.meters import Register, day_start
from tests.support.simulators import SEED

ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
HAN = re.compile(r"[\u4e00-\u9fff]")
VIN_VALUES = {
    c: v for v, letters in enumerate(("AJ", "BKS", "CLT", "DMU", "ENV", "FW", "GPX", "HY", "RZ"), 1) for c in letters
}
VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)


def test_the_same_seed_builds_the_same_city_and_another_seed_another() -> None:
    a = orjson.dumps(build_city(SEED, 40, 80).registry_document())
    assert a == orjson.dumps(build_city(SEED, 40, 80).registry_document())
    assert a != orjson.dumps(build_city(SEED + 1, 40, 80).registry_document())


def test_counts_are_as_asked() -> None:
    for institutions, vehicles in ((1, 0), (6, 3), (30, 60), (1000, 2000)):
        city = build_city(SEED, institutions, vehicles)
        assert len(city.institutions) == institutions
        assert len(city.vehicles) == vehicles
        assert len({i.name for i in city.institutions}) == institutions, "names are unique"


def test_the_registry_document_is_exactly_what_the_registry_import_reads() -> None:
    document = build_city(SEED, 200, 300).registry_document(years=[2025, 2026])
    assert set(document) == {
        "organisations", "departments", "institutions", "institution_years", "data_centre_rooms", "meters", "vehicles",
        "drivers",
    }  # fmt: skip
    document.pop("departments")  # test_the_city_can_file_its_survey
    document.pop("data_centre_rooms")
    drivers = document.pop("drivers")  # numbered by the database: named by unit, name and phone
    years = document.pop("institution_years")
    assert sorted((y["institution_id"], y["year"]) for y in years) == sorted(
        (i["id"], year) for i in document["institutions"] for year in (2025, 2026)
    )
    assert all(y["floor_area_m2"] > 0 and y["headcount"] > 0 for y in years)
    keys = {
        "organisations": {"id", "name", "kind"},
        "institutions": {
            "id", "organisation_id", "name", "category", "district", "latitude", "longitude", "key_energy_unit",
            "in_assessment",
        },
        "meters": {
            "id", "institution_id", "energy_type", "unit", "sub_item", "multiplier", "register_max", "max_rate",
            "installed_on",
        },
        "vehicles": {
            "id", "organisation_id", "plate", "vin", "vehicle_type", "energy", "seats", "battery_kwh", "terminal_id",
            "home_institution_id",
        },
    }  # fmt: skip
    for kind, rows in document.items():
        assert rows, kind
        assert all(set(row) == keys[kind] for row in rows), kind
        ids = [row["id"] for row in rows]
        assert len(set(ids)) == len(ids), f"{kind} ids are unique"
        assert all(ID.match(i) for i in ids), kind
    # Through JSON, into the registry's own model: what `yiwang registry import` will do.
    parsed = RegistryDocument.model_validate(orjson.loads(orjson.dumps(document)))
    organisations = {o.id for o in parsed.organisations}
    institutions = {i.id for i in parsed.institutions}
    assert all(i.organisation_id in organisations for i in parsed.institutions)
    assert all(m.institution_id in institutions for m in parsed.meters)
    assert all(v.organisation_id in organisations and v.home_institution_id in institutions for v in parsed.vehicles)
    assert all(m.unit == UNITS[m.energy_type] for m in parsed.meters)  # type: ignore[index]
    assert all(m.sub_item is None or m.energy_type == "electricity" for m in parsed.meters)
    # Every unit with vehicles has someone to drive them: a first dispatch needs no driver added by hand.
    staffed = {d.organisation_id for d in RegistryDocument.model_validate({"drivers": drivers}).drivers}
    assert staffed == {v.organisation_id for v in parsed.vehicles}
    assert len({(d["organisation_id"], d["name"], d["phone"]) for d in drivers}) == len(drivers)
    assert {i.category for i in parsed.institutions} == set(CATEGORIES)
    assert Counter(o.kind for o in parsed.organisations).keys() == {"unit", "service_company", "rental_company"}
    companies = {o.id for o in parsed.organisations if o.kind != "unit"}
    assert not any(i.organisation_id in companies for i in parsed.institutions), "companies own vehicles only"
    assert any(v.organisation_id in companies for v in parsed.vehicles)
    assert all(isinstance(m["installed_on"], str) for m in document["meters"])


def test_the_city_can_file_its_survey() -> None:
    """Every institution has the facts the statistics survey asks, for this year and the last: a credit code with
    its check character, a supervising department of a two-level hierarchy, the city's division codes, a category;
    and the largest agency and hospital have data-centre rooms."""
    document = build_city(SEED, 200, 10).registry_document(years=[2025, 2026])
    parsed = RegistryDocument.model_validate(orjson.loads(orjson.dumps(document)))  # every rule of the facts held
    parents = {d.id: d.parent_id for d in parsed.departments}
    tops = {d for d, parent in parents.items() if parent is None}
    assert len(tops) == 1
    assert all(parent in tops for parent in parents.values() if parent is not None), "two levels"
    assert descendants(parents.items())[next(iter(tops))] == set(parents) - tops
    institutions = {i.id: i for i in parsed.institutions}
    for year in parsed.institution_years:
        assert year.credit_code is not None
        assert credit_code_problem(year.credit_code) is None
        assert year.department_id in parents
        assert year.division_code in {"360202", "360203", "360222", "360281"}
        assert year.survey_category is not None
        assert year.in_survey is not None
        assert year.in_survey == (institutions[year.institution_id].category != "community")
    codes = {(y.institution_id, y.credit_code) for y in parsed.institution_years}
    assert len(codes) == len(institutions) == len({code for _, code in codes}), "one code each, the same each year"
    assert {y.survey_category for y in parsed.institution_years} >= {"state_organ", "education", "health"}
    rooms = {(r.institution_id, r.name) for r in parsed.data_centre_rooms}
    assert len(rooms) == 3
    assert {institutions[i].category for i, _ in rooms} == {"agency", "hospital"}
    assert sorted({r.year for r in parsed.data_centre_rooms}) == [2025, 2026]


def test_names_read_like_jingdezhen() -> None:
    city = build_city(SEED, 120, 10)
    assert all(HAN.search(i.name) for i in city.institutions)
    names = {i.name for i in city.institutions}
    assert {"景德镇市财政局", "景德镇市第一中学", "景德镇市第一人民医院", "珠山区人民医院"} <= names
    assert {i.district for i in city.institutions} == {"珠山区", "昌江区", "浮梁县", "乐平市"}


def test_institutions_stand_on_the_street_grid_inside_the_city() -> None:
    city = build_city(SEED, 300, 0)
    south, west, north, east = city.bounds
    assert (south, west, north, east) == (29.25, 117.15, 29.33, 117.25)
    for inst in city.institutions:
        assert (inst.latitude, inst.longitude) == city.streets.position(inst.node)
        assert south < inst.latitude < north
        assert west < inst.longitude < east


def test_plates_vins_and_terminals_look_real() -> None:
    city = build_city(SEED, 50, 2000)
    plates = [v.plate for v in city.vehicles]
    assert len(set(plates)) == len(plates)
    assert len({v.terminal_id for v in city.vehicles}) == len(city.vehicles)
    for v in city.vehicles:
        if v.energy in ("battery_electric", "plug_in_hybrid"):
            assert re.fullmatch(r"赣H·[DF]\d{5}", v.plate), v.plate
            assert v.plate[3] == ("D" if v.energy == "battery_electric" else "F")
            assert v.battery_kwh is not None
            assert v.battery_kwh > 0
        else:
            assert re.fullmatch(r"赣H·[A-HJ-NP-Z]\d{4}", v.plate), v.plate
            assert v.plate[3] not in "DF", v.plate
            assert v.battery_kwh is None
        assert re.fullmatch(r"\d{12}", v.terminal_id)
        assert re.fullmatch(r"[A-HJ-NPR-Z0-9]{17}", v.vin)
        total = sum((VIN_VALUES[c] if c.isalpha() else int(c)) * w for c, w in zip(v.vin, VIN_WEIGHTS, strict=True))
        assert v.vin[8] == ("X" if total % 11 == 10 else str(total % 11)), v.vin
        assert v.seats >= 2
    new_energy = sum(v.energy in ("battery_electric", "plug_in_hybrid") for v in city.vehicles) / len(city.vehicles)
    assert 0.35 < new_energy < 0.65, "new-energy vehicles are a large share"


def test_larger_institutions_carry_sub_item_meters() -> None:
    city = build_city(SEED, 150, 0)
    by_institution: dict[str, list[str | None]] = {}
    for m in city.meters:
        by_institution.setdefault(m.institution_id, []).append(m.sub_item)
    for inst in city.institutions:
        items = [s for s in by_institution[inst.id] if s]
        assert sorted(items) == (
            sorted(["lighting_socket", "air_conditioning", "power", "special"]) if inst.floor_area >= 20000 else []
        )
    multipliers = Counter(m.multiplier for m in city.meters)
    assert multipliers[1.0] > len(city.meters) / 2
    assert set(multipliers) <= {1.0, 40.0, 80.0}


def test_registers_are_sized_so_that_only_an_injected_fault_wraps() -> None:
    city = build_city(SEED, 300, 0)
    categories = {i.id: i.category for i in city.institutions}
    last = day_start((REGISTER_HORIZON.toordinal() - 719163) - 2)
    for meter in city.meters:
        register = Register(meter, categories[meter.institution_id], SEED)
        assert 0 <= register.value(register.installed) < 60
        assert register.value(last) < meter.register_max, meter.id
