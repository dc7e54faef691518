"""Meter registers: a function of time, monotonic, shaped by hour, weekday and season, of realistic size."""

from __future__ import annotations

import statistics
from datetime import UTC, datetime, timedelta, timezone

from simulators.city import City, Meter, build_city
from simulators.meters import Register, readings, registers
from tests.support.simulators import SEED

CST = timezone(timedelta(hours=8))


def at(year: int, month: int, day: int, hour: float = 0) -> float:
    return datetime(year, month, day, tzinfo=CST).timestamp() + hour * 3600


def main_meter(city: City, category: str, energy: str = "electricity") -> tuple[Meter, Register]:
    categories = {i.id: i.category for i in city.institutions}
    meter = next(
        m
        for m in city.meters
        if categories[m.institution_id] == category and m.energy_type == energy and m.sub_item is None
    )
    return meter, Register(meter, category, SEED)  # type: ignore[arg-type]


def used(register: Register, t0: float, t1: float) -> float:
    """Consumption in the meter's unit between two times: register delta times the multiplier."""
    return (register.value(t1) - register.value(t0)) * register.meter.multiplier


def test_same_seed_same_readings_and_another_seed_others(city: City) -> None:
    start, end = datetime(2025, 5, 1, tzinfo=UTC), datetime(2025, 5, 2, tzinfo=UTC)
    a = list(readings(city, SEED, start, end))
    assert a == list(readings(city, SEED, start, end))
    b = list(readings(city, SEED + 1, start, end))
    assert [r.register for r in a] != [r.register for r in b]
    assert [(r.meter_id, r.time) for r in a] == [(r.meter_id, r.time) for r in b]


def test_a_register_depends_on_the_time_not_on_when_the_run_started(city: City) -> None:
    late_start = list(readings(city, SEED, datetime(2025, 5, 1, 13, tzinfo=UTC), datetime(2025, 5, 3, tzinfo=UTC)))
    early_start = list(readings(city, SEED, datetime(2025, 4, 20, tzinfo=UTC), datetime(2025, 5, 3, tzinfo=UTC)))
    assert late_start == early_start[-len(late_start) :]


def test_readings_come_in_time_order_on_the_interval_and_only_after_installation(city: City) -> None:
    start = datetime(2016, 1, 1, tzinfo=UTC)
    got = list(readings(city, SEED, start, start + timedelta(days=2), interval=3600))
    assert [r.time for r in got] == sorted(r.time for r in got)
    assert all(r.time.minute == 0 and r.time.second == 0 for r in got)
    installed = {m.id: m.installed_on for m in city.meters}
    assert all(r.time.astimezone(CST).date() >= installed[r.meter_id] for r in got)
    assert {r.meter_id for r in got} < set(installed), "meters installed later do not report yet"


def test_clean_registers_rise_all_the_time_with_a_base_load_at_night(city: City) -> None:
    last: dict[str, float] = {}
    for r in readings(city, SEED, datetime(2025, 1, 25, tzinfo=UTC), datetime(2025, 2, 5, tzinfo=UTC)):
        if r.meter_id in last:
            assert r.register > last[r.meter_id], r
        last[r.meter_id] = r.register


def test_an_agency_uses_more_by_day_than_by_night_and_on_weekdays_than_weekends() -> None:
    city = build_city(SEED, 60, 0)
    _, register = main_meter(city, "agency")
    # 2025-03-10 is a Monday, no holiday that week.
    days = [used(register, at(2025, 3, 10 + d), at(2025, 3, 11 + d)) for d in range(7)]
    assert min(days[:5]) > 1.3 * max(days[5:]), days
    for d in range(5):
        office = used(register, at(2025, 3, 10 + d, 10), at(2025, 3, 10 + d, 11))
        night = used(register, at(2025, 3, 10 + d, 3), at(2025, 3, 10 + d, 4))
        assert office > 2 * night > 0, (office, night)


def test_consumption_has_the_size_of_chinese_public_buildings() -> None:
    city = build_city(SEED, 300, 0)
    # City hospitals, that is: community health centres are small.
    categories = {
        i.id: "city_hospital" if i.name.startswith("景德镇市") and i.category == "hospital" else i.category
        for i in city.institutions
    }
    per_day: dict[tuple[str, str], list[float]] = {}
    t0, t1 = at(2025, 3, 3), at(2025, 3, 31)
    for register in registers(city, SEED):
        meter = register.meter
        if meter.sub_item is None and register.installed < t0:
            key = (categories[meter.institution_id], meter.energy_type)
            per_day.setdefault(key, []).append(used(register, t0, t1) / 28)
    median = {k: statistics.median(v) for k, v in per_day.items()}
    assert 2000 < median["agency", "electricity"] < 6000
    assert median["city_hospital", "electricity"] > 4 * median["agency", "electricity"]
    assert median["community", "electricity"] < median["agency", "electricity"] / 5
    assert 10 < median["agency", "water"] < 100
    assert median["city_hospital", "water"] > 200
    assert 20 < median["agency", "natural_gas"] < 300


def test_summer_cooling_winter_heating_and_school_holidays() -> None:
    city = build_city(SEED, 60, 0)
    _, agency = main_meter(city, "agency")
    summer = used(agency, at(2025, 7, 21), at(2025, 7, 26))
    spring = used(agency, at(2025, 4, 14), at(2025, 4, 19))
    winter = used(agency, at(2025, 1, 6), at(2025, 1, 11))
    assert summer > 1.2 * spring
    assert winter > 1.05 * spring
    _, gas = main_meter(city, "hospital", "natural_gas")
    assert used(gas, at(2025, 1, 6), at(2025, 1, 11)) > 1.3 * used(gas, at(2025, 7, 21), at(2025, 7, 26))
    _, school = main_meter(city, "school")
    assert used(school, at(2025, 8, 4), at(2025, 8, 9)) < 0.7 * used(school, at(2025, 5, 12), at(2025, 5, 17))


def test_the_register_counts_consumption_over_the_multiplier() -> None:
    city = build_city(SEED, 300, 0)
    categories = {i.id: i.category for i in city.institutions}
    ct_meters = [m for m in city.meters if m.multiplier > 1 and m.installed_on.year < 2024]
    assert ct_meters
    for meter in ct_meters:
        register = Register(meter, categories[meter.institution_id], SEED)
        year = register.value(at(2025, 1, 1)), register.value(at(2026, 1, 1))
        assert 0.7 < (year[1] - year[0]) * meter.multiplier / (meter.daily * 365) < 1.4
        assert year[1] - year[0] < meter.daily * 365 / 10, "the register advances by consumption / multiplier"
