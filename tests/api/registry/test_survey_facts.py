"""What the statistics survey asks of an institution besides its consumption, through the API: its facts of each
year (credit code, supervising department, division, category, areas, heating), the supervising departments as a
hierarchy without cycles, and data-centre rooms; a unit sees only its own institutions' facts."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.api import AsUser, Units

HUAWEI = "914403001922038216"  # a published code (tests/domain/test_credit_codes.py says where from)
SCHOOL = "123502001549897397"


def facts(department_id: str, /, **changes: Any) -> dict[str, Any]:
    """Every fact of a year, as a school with its own boilers and some central heating would give them."""
    return {
        "floor_area_m2": 12000.5,
        "headcount": 640,
        "credit_code": SCHOOL,
        "department_id": department_id,
        "division_code": "360102",
        "survey_category": "education",
        "in_survey": True,
        "staff_quota": 120,
        "heated_area_m2": 9000.0,
        "cooled_area_m2": 11000.0,
        "heated_area_own_m2": 4000.0,
        "heated_area_central_area_m2": 3000.0,
        "heated_area_central_heat_m2": 2000.0,
        "heating_days": 90,
        "hot_water_boiler_kw": 700.0,
        "steam_boiler_t_h": 0.0,
    } | changes


async def departments(client: httpx.AsyncClient, headers: dict[str, str], tag: str) -> tuple[str, str, str]:
    """A two-level hierarchy of this test: a commission, a bureau under it, and one beside them."""
    top, under, beside = f"gov-{tag}", f"edu-{tag}", f"health-{tag}"
    for body in (
        {"id": top, "name": "市人民政府"},
        {"id": under, "name": "市教育局", "parent_id": top},
        {"id": beside, "name": "市卫生健康委员会"},
    ):
        response = await client.post("/departments", headers=headers, json=body)
        assert response.status_code == 201, response.text
    return top, under, beside


async def test_an_institutions_facts_of_a_year_are_set_read_and_cleared(
    client: httpx.AsyncClient, units: Units, as_user: AsUser, tag: str
) -> None:
    staff = await as_user("energy_staff")
    _, bureau, _ = await departments(client, staff, tag)
    path = f"/institutions/{units.a.institution}/years"
    body = facts(bureau)
    put = await client.put(f"{path}/2025", headers=staff, json=body)
    assert put.status_code == 200, put.text
    assert put.json() == body | {"year": 2025}
    # A year of which only the floor area is known: the rest is null, not 0.
    await client.put(f"{path}/2024", headers=staff, json={"floor_area_m2": 11800})
    unit = await as_user("unit_user", units.a.organisation)
    years = (await client.get(path, headers=unit)).json()
    assert [y["year"] for y in years] == [2024, 2025]
    assert years[0] == dict.fromkeys(body) | {"year": 2024, "floor_area_m2": 11800.0}
    assert years[1] == body | {"year": 2025}
    assert (await client.patch(f"{path}/2025", headers=unit, json={"headcount": 1})).status_code == 403
    # A change of some facts keeps the others, and is checked on the whole year.
    patched = await client.patch(f"{path}/2025", headers=staff, json={"credit_code": HUAWEI, "in_survey": None})
    assert patched.status_code == 200, patched.text
    assert patched.json() == body | {"year": 2025, "credit_code": HUAWEI, "in_survey": None}
    over = await client.patch(f"{path}/2025", headers=staff, json={"cooled_area_m2": 20000})
    assert over.status_code == 422
    assert over.json()["detail"] == "cooled_area_m2 of 20000 m² is more than the floor area (建筑面积) of 12000.5 m²"
    new = await client.patch(f"{path}/2023", headers=staff, json={"division_code": "360203"})
    assert new.json() == dict.fromkeys(body) | {"year": 2023, "division_code": "360203"}
    await client.put(f"{path}/2023", headers=staff, json={})
    # Nothing known of a year: its row goes.
    assert (await client.put(f"{path}/2024", headers=staff, json={})).status_code == 200
    assert [y["year"] for y in (await client.get(path, headers=unit)).json()] == [2025]


async def test_facts_that_do_not_fit_are_refused_with_the_reason(
    client: httpx.AsyncClient, units: Units, as_user: AsUser, tag: str
) -> None:
    staff = await as_user("energy_staff")
    _, bureau, _ = await departments(client, staff, tag)
    path = f"/institutions/{units.a.institution}/years/2025"

    async def refused(**changes: Any) -> Any:
        response = await client.put(path, headers=staff, json=facts(bureau, **changes))
        assert response.status_code == 422, response.text
        return response.json()["detail"]

    # The circulating example code, whose check character is wrong.
    [wrong] = await refused(credit_code="91350211M000100Y43")
    assert wrong["loc"] == ["body", "credit_code"]
    assert wrong["msg"] == (
        "Value error, the check character (校验码) of 91350211M000100Y43 is '3', and GB 32100-2015 gives '6': a "
        "character of the code is mistyped"
    )
    assert (await refused(credit_code="91440300192203821"))[0]["loc"] == ["body", "credit_code"]
    assert (await refused(division_code="36010"))[0]["loc"] == ["body", "division_code"]
    assert (await refused(division_code="36010a"))[0]["loc"] == ["body", "division_code"]
    assert (await refused(survey_category="school"))[0]["loc"] == ["body", "survey_category"]
    assert (await refused(heating_days=367))[0]["loc"] == ["body", "heating_days"]
    assert (await refused(staff_quota=-1))[0]["loc"] == ["body", "staff_quota"]
    assert await refused(department_id=f"no-{tag}") == (
        f"no department no-{tag}: give the id of an existing department (GET /departments)"
    )
    [parts] = await refused(heated_area_own_m2=5000.0)
    assert parts["msg"] == (
        "Value error, the heated area's parts (independent, central by area, central by heat) add up to 10000 m², "
        "more than the heated area (采暖面积) of 9000 m²"
    )
    [cooled] = await refused(cooled_area_m2=12500.0)
    assert (
        cooled["msg"] == "Value error, cooled_area_m2 of 12500 m² is more than the floor area (建筑面积) of 12000.5 m²"
    )
    # Nothing was stored by the refusals.
    assert (await client.get(f"/institutions/{units.a.institution}/years", headers=staff)).json() == []
    # A valid code of another published organisation is a code all the same.
    ok = await client.put(path, headers=staff, json=facts(bureau, credit_code=HUAWEI))
    assert ok.status_code == 200, ok.text


async def test_a_unit_user_cannot_read_or_write_another_units_facts(
    client: httpx.AsyncClient, units: Units, as_user: AsUser, tag: str
) -> None:
    """The attack: a unit user asks for another unit's facts and rooms by id, and tries to write them."""
    staff = await as_user("energy_staff")
    _, bureau, _ = await departments(client, staff, tag)
    for unit in (units.a, units.b):
        put = await client.put(f"/institutions/{unit.institution}/years/2025", headers=staff, json=facts(bureau))
        assert put.status_code == 200, put.text
        room = f"/institutions/{unit.institution}/years/2025/data-centre-rooms/1号机房"
        assert (await client.put(room, headers=staff, json={"racks": 4})).status_code == 200
    a = await as_user("unit_user", units.a.organisation)
    b = units.b.institution

    # Reads of another unit's institution are answered as for one that does not exist.
    for path in (f"/institutions/{b}/years", f"/institutions/{b}/data-centre-rooms"):
        response = await client.get(path, headers=a)
        assert response.status_code == 404, path
        assert response.json()["detail"] == f"no institution {b}"
    # Writes: a unit user keeps no registry (its denominators are what it is assessed by), its own nor another's.
    for own in (units.a.institution, b):
        writes = [
            client.put(f"/institutions/{own}/years/2025", headers=a, json=facts(bureau, headcount=1)),
            client.put(f"/institutions/{own}/years/2025/data-centre-rooms/1号机房", headers=a, json={"racks": 1}),
            client.delete(f"/institutions/{own}/years/2025/data-centre-rooms/1号机房", headers=a),
        ]
        for write in writes:
            response = await write
            assert response.status_code == 403, response.text
    # Its own are there to read, and another's were not changed.
    assert (await client.get(f"/institutions/{units.a.institution}/years", headers=a)).json()[0]["headcount"] == 640
    assert (await client.get(f"/institutions/{b}/years", headers=staff)).json()[0]["headcount"] == 640
    rooms = (await client.get(f"/institutions/{b}/data-centre-rooms", headers=staff)).json()
    assert [(r["name"], r["racks"]) for r in rooms] == [("1号机房", 4)]


async def test_departments_form_a_hierarchy_without_cycles(
    client: httpx.AsyncClient, units: Units, as_user: AsUser, tag: str
) -> None:
    staff = await as_user("energy_staff")
    top, bureau, beside = await departments(client, staff, tag)
    # Every role reads them.
    for role in ("unit_user", "auditor", "dispatcher", "admin"):
        headers = await as_user(role, *([units.a.organisation] if role == "unit_user" else []))
        got = await client.get(f"/departments/{bureau}", headers=headers)
        assert got.status_code == 200, (role, got.text)
        assert got.json() == {"id": bureau, "name": "市教育局", "parent_id": top}
    listed = (await client.get("/departments", headers=staff, params={"limit": 1000})).json()["items"]
    assert {d["id"]: d["parent_id"] for d in listed if d["id"].endswith(tag)} == {
        top: None,
        bureau: top,
        beside: None,
    }
    # A chain of parents that comes back is refused, and nothing changes.
    loop = await client.patch(f"/departments/{top}", headers=staff, json={"parent_id": bureau})
    assert loop.status_code == 422, loop.text
    assert loop.json()["detail"] == (
        f"department {top} would be under itself ({top} → {bureau} → {top}): a supervising department's chain of "
        "parents ends at one without a parent"
    )
    itself = await client.patch(f"/departments/{bureau}", headers=staff, json={"parent_id": bureau})
    assert itself.status_code == 422
    assert "cannot be its own parent" in str(itself.json()["detail"])
    assert (await client.get(f"/departments/{top}", headers=staff)).json()["parent_id"] is None
    # Moved under another, renamed, moved to the top.
    moved = await client.patch(f"/departments/{bureau}", headers=staff, json={"parent_id": beside, "name": "教育局"})
    assert moved.json() == {"id": bureau, "name": "教育局", "parent_id": beside}
    top_again = await client.patch(f"/departments/{bureau}", headers=staff, json={"parent_id": None})
    assert top_again.json()["parent_id"] is None

    unknown = await client.post(
        "/departments", headers=staff, json={"id": f"x-{tag}", "name": "x", "parent_id": "nope"}
    )
    assert unknown.status_code == 422
    assert unknown.json()["detail"] == "no department nope: give the id of an existing department (GET /departments)"
    taken = await client.post("/departments", headers=staff, json={"id": top, "name": "又一个"})
    assert taken.status_code == 409
    assert (await client.patch(f"/departments/no-{tag}", headers=staff, json={"name": "x"})).status_code == 404
    unit = await as_user("unit_user", units.a.organisation)
    refused = await client.post("/departments", headers=unit, json={"id": f"u-{tag}", "name": "单位自设"})
    assert refused.status_code == 403
    assert refused.json()["detail"] == "the role unit_user does not have the permission registry:write"


async def test_data_centre_rooms_are_set_listed_and_removed(
    client: httpx.AsyncClient, units: Units, as_user: AsUser
) -> None:
    staff = await as_user("energy_staff")
    base = f"/institutions/{units.a.institution}"
    room = {
        "floor_area_m2": 120.0,
        "racks": 12,
        "it_power_kw": 60.0,
        "cooling_power_kw": 30.0,
        "distribution_power_kw": 6.0,
        "electricity_kwh": "480000.5",
        "it_kwh": "300000",
        "cooling_kwh": "150000",
        "distribution_kwh": "30000.5",
    }
    put = await client.put(f"{base}/years/2025/data-centre-rooms/1号机房", headers=staff, json=room)
    assert put.status_code == 200, put.text
    assert put.json() == {"institution_id": units.a.institution, "year": 2025, "name": "1号机房"} | room
    await client.put(f"{base}/years/2024/data-centre-rooms/1号机房", headers=staff, json={"racks": 10})
    await client.put(f"{base}/years/2025/data-centre-rooms/灾备机房", headers=staff, json={"racks": 2})
    listed = (await client.get(f"{base}/data-centre-rooms", headers=staff)).json()
    assert [(r["year"], r["name"], r["racks"]) for r in listed] == [
        (2024, "1号机房", 10),
        (2025, "1号机房", 12),
        (2025, "灾备机房", 2),
    ]
    of_2025 = (await client.get(f"{base}/data-centre-rooms", headers=staff, params={"year": 2025})).json()
    assert [r["name"] for r in of_2025] == ["1号机房", "灾备机房"]

    # The split by use adds up to more than the total: refused, with the figures.
    over = await client.put(
        f"{base}/years/2025/data-centre-rooms/1号机房", headers=staff, json=room | {"electricity_kwh": "400000"}
    )
    assert over.status_code == 422
    assert over.json()["detail"][0]["msg"] == (
        "Value error, the room's electricity by use (IT, cooling, distribution) adds up to 480000.5 kWh, more than "
        "its total (总用电量) of 400000 kWh"
    )
    gone = await client.delete(f"{base}/years/2025/data-centre-rooms/灾备机房", headers=staff)
    assert gone.status_code == 204
    again = await client.delete(f"{base}/years/2025/data-centre-rooms/灾备机房", headers=staff)
    assert again.status_code == 404
    assert again.json()["detail"] == f"institution {units.a.institution} has no data-centre room '灾备机房' in 2025"
    assert len((await client.get(f"{base}/data-centre-rooms", headers=staff)).json()) == 2
