"""What the statistics survey asks of the simulated city's institutions besides consumption: supervising
departments in two levels, each institution's credit code, department, division, survey category and areas, and a
few data-centre rooms; the same every year the registry document states, so that a survey can be filed for this
year and compared with last."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from domain.credit_codes import check_character
from simulators import names
from simulators.seeds import stream

# The city government at the top, its bureaus under it: each institution's supervising department (主管部门).
GOVERNMENT = "dept-gov"
DEPARTMENTS: tuple[tuple[str, str, str | None], ...] = (
    (GOVERNMENT, f"{names.CITY}人民政府", None),
    ("dept-offices", f"{names.CITY}机关事务管理局", GOVERNMENT),
    ("dept-edu", f"{names.CITY}教育局", GOVERNMENT),
    ("dept-health", f"{names.CITY}卫生健康委员会", GOVERNMENT),
    ("dept-culture", f"{names.CITY}文化广电新闻出版旅游局", GOVERNMENT),
    ("dept-sports", f"{names.CITY}体育局", GOVERNMENT),
    ("dept-civil", f"{names.CITY}民政局", GOVERNMENT),
)
_SCIENCE = ("研究", "科学", "检验", "情报")
_SPORTS = ("体育", "健身")
# GB 11714's organisation code: 8 characters and a check character, weighted so.
_ORGANISATION_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
# Jingdezhen lies south of the Huai river: no central heating. Hospitals heat with their own boilers for about the
# three winter months; other buildings with air conditioners, which the heating form does not count.
_HEATING_DAYS = 75


def department_rows() -> list[dict[str, Any]]:
    """The departments, as the registry document gives them."""
    return [{"id": i, "name": name, "parent_id": parent} for i, name, parent in DEPARTMENTS]


def _organisation_code(digits: str) -> str:
    """An organisation code (GB 11714) of 8 digits with its check character."""
    remainder = 11 - sum(int(d) * w for d, w in zip(digits, _ORGANISATION_WEIGHTS, strict=True)) % 11
    return digits + {10: "X", 11: "0"}.get(remainder, str(remainder))


def credit_code(seed: int, institution_id: str, name: str, category: str, district: str) -> str:
    """A unified social credit code as 机构编制 registers one: 11 for an agency (机关), 12 for a public institution
    (事业单位); the division of the registering authority (the city's for a city unit, else the district's); an
    organisation code; the check character (domain/credit_codes.py)."""
    kind = "11" if category == "agency" else "12"
    division = names.CITY_DIVISION if name.startswith(names.CITY) else names.DIVISION_CODES[district]
    rng = stream(seed, "credit-code", institution_id)
    first17 = kind + division + _organisation_code(f"{rng.randrange(10**8):08d}")
    return first17 + check_character(first17)


def _category_and_department(category: str, name: str) -> tuple[str, str]:
    if category == "agency":
        return "state_organ", "dept-offices"
    if category == "school":
        return "education", "dept-edu"
    if category == "hospital":
        return "health", "dept-health"
    if category == "venue":
        return ("sports", "dept-sports") if any(w in name for w in _SPORTS) else ("culture", "dept-culture")
    if category == "community":
        return "other_institution", "dept-civil"
    return ("science" if any(w in name for w in _SCIENCE) else "other_institution"), GOVERNMENT


def year_facts(
    seed: int, *, institution_id: str, name: str, category: str, district: str, floor_area: float, headcount: int
) -> dict[str, Any]:
    """An institution's survey facts of a year, besides floor area and headcount."""
    rng = stream(seed, "survey", institution_id)
    survey_category, department = _category_and_department(category, name)
    heated = round(floor_area * rng.uniform(0.4, 0.6), -1) if category == "hospital" else 0.0
    return {
        "credit_code": credit_code(seed, institution_id, name, category, district),
        "department_id": department,
        "division_code": names.DIVISION_CODES[district],
        "survey_category": survey_category,
        # The registry's communities (社区 residents' committees) are no public institutions of the survey's 名录库.
        "in_survey": category != "community",
        "staff_quota": max(1, round(headcount * rng.uniform(0.5, 0.9))),
        "heated_area_m2": heated,
        "cooled_area_m2": round(floor_area * rng.uniform(0.6, 0.9), -1),
        "heated_area_own_m2": heated,
        "heated_area_central_area_m2": 0.0,
        "heated_area_central_heat_m2": 0.0,
        "heating_days": _HEATING_DAYS if heated else 0,
        "hot_water_boiler_kw": round(floor_area * 0.02, -1) if heated else 0.0,
        "steam_boiler_t_h": (2.0 if floor_area > 50000 else 1.0) if heated else 0.0,
    }


def rooms(seed: int, institutions: Sequence[tuple[str, str, float]], years: Iterable[int]) -> list[dict[str, Any]]:
    """Data-centre rooms: the government's machine room at its largest agency, and the information centre and
    disaster-recovery room of the largest hospital, for each year; `institutions` are (id, category, floor area)."""
    largest = {
        category: max((i for i in institutions if i[1] == category), key=lambda i: i[2], default=None)
        for category in ("agency", "hospital")
    }
    chosen: list[tuple[str, str, int]] = []  # institution id, room name, racks
    if largest["agency"] is not None:
        chosen.append((largest["agency"][0], "政务云机房", 40))
    if largest["hospital"] is not None:
        chosen += [(largest["hospital"][0], "信息中心机房", 24), (largest["hospital"][0], "灾备机房", 8)]
    found: list[dict[str, Any]] = []
    for year in years:
        for institution_id, name, racks in chosen:
            rng = stream(seed, "room", institution_id, name, year)
            it_kw = round(racks * rng.uniform(2.5, 4.0), 1)
            it_kwh = round(it_kw * 8760 * rng.uniform(0.5, 0.65))
            cooling_kwh, distribution_kwh = round(it_kwh * rng.uniform(0.4, 0.6)), round(it_kwh * 0.1)
            found.append(
                {
                    "institution_id": institution_id,
                    "year": year,
                    "name": name,
                    "floor_area_m2": float(racks * 5),
                    "racks": racks,
                    "it_power_kw": it_kw,
                    "cooling_power_kw": round(it_kw * 0.6, 1),
                    "distribution_power_kw": round(it_kw * 0.15, 1),
                    # The total holds the room's lighting besides the three uses.
                    "electricity_kwh": str(round((it_kwh + cooling_kwh + distribution_kwh) * 1.02)),
                    "it_kwh": str(it_kwh),
                    "cooling_kwh": str(cooling_kwh),
                    "distribution_kwh": str(distribution_kwh),
                }
            )
    return found
