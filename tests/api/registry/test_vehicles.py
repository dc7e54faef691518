"""The vehicle registry through the API: vehicles registered and changed through their life (in service, in the
workshop, retired: auctioned or scrapped), each unit's allocation quota (编制) against its vehicles, drivers changed,
and the vehicles and drivers tables exported as XLSX and CSV and imported back, all rows or none."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

import httpx
import psycopg
import pytest

from api.errors import NotFound, Refused
from api.registry import drivers, imports, service
from api.registry.models import VehicleCreate
from api.registry.spreadsheets import RowsRefused
from db.registry import import_document
from db.scope import Scope
from domain.registry import Organisation, RegistryDocument
from tests.support.api import AsUser, Units, audit_rows, person
from tests.support.files import csv_body, sheet_rows, upload
from tests.support.fleet import add_driver, ok, request_in_state
from yiwang.settings import Settings

RETIRE = {"lifecycle": "retired", "retired_on": "2026-03-02", "retired_how": "scrapped"}


def vehicle(tag: str, organisation: str, n: int = 1, **fields: Any) -> dict[str, Any]:
    return {
        "id": f"v-{tag}-{n}",
        "organisation_id": organisation,
        "plate": f"赣H·{tag}{n}",
        "energy": "gasoline",
    } | fields


def fixture_plate(tag: str, unit: str, n: int) -> str:
    """The plate tests/support/registry.py's register_devices gives a unit's vehicle."""
    return f"赣H·{tag}{unit}{n}"


async def _json(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def test_a_vehicle_is_registered_and_goes_through_its_life(
    client: httpx.AsyncClient, units: Units, as_user: AsUser, tag: str, api_settings: Settings
) -> None:
    a = units.a
    dispatcher = await as_user("dispatcher")
    body = vehicle(
        tag,
        a.organisation,
        vin="LSVAU2180N2183675",
        vehicle_type="sedan",
        energy="battery_electric",
        seats=5,
        battery_kwh=62.5,
        terminal_id=f"0{tag}1",
        home_institution_id=a.institution,
        in_service_on="2023-04-01",
    )
    expected = body | {"lifecycle": "active", "retired_on": None, "retired_how": None, "tank_litres": None}
    assert await _json(await client.post("/vehicles", headers=dispatcher, json=body), 201) == expected
    [audit] = audit_rows(api_settings.database_url, "endpoint = '/vehicles' AND %s = ANY(resource_ids)", (body["id"],))
    assert (audit["action"], audit["method"], audit["status"]) == ("vehicles:write", "POST", 201)

    path = f"/vehicles/{body['id']}"
    for lifecycle in ("maintenance", "active"):  # to the workshop and back
        changed = await client.patch(path, headers=dispatcher, json={"lifecycle": lifecycle})
        assert await _json(changed) == expected | {"lifecycle": lifecycle}

    # Out of the fleet: on a day, auctioned or scrapped, after it entered service.
    no_manner = await client.patch(path, headers=dispatcher, json={"lifecycle": "retired"})
    assert (await _json(no_manner, 422))["detail"] == (
        "a retired vehicle needs the day it left (retired_on) and how (retired_how: auctioned or scrapped)"
    )
    early = await client.patch(path, headers=dispatcher, json=RETIRE | {"retired_on": "2023-03-31"})
    assert (await _json(early, 422))["detail"] == "retired on 2023-03-31 is before in service on 2023-04-01"
    manner = {"retired_on": "2025-06-30", "retired_how": "auctioned"}
    retired = await client.patch(path, headers=dispatcher, json={"lifecycle": "retired"} | manner)
    expected |= {"lifecycle": "retired"} | manner
    assert await _json(retired) == expected
    # A retired vehicle's record may be corrected, but the vehicle does not come back.
    corrected = await client.patch(path, headers=dispatcher, json={"retired_how": "scrapped"})
    expected |= {"retired_how": "scrapped"}
    assert await _json(corrected) == expected
    back = await client.patch(
        path, headers=dispatcher, json={"lifecycle": "active", "retired_on": None, "retired_how": None}
    )
    assert (await _json(back, 409))["detail"] == (
        f"vehicle {body['id']} ({body['plate']}) is retired: a retired vehicle does not come back into the fleet; "
        "register the vehicle that replaces it as a new one"
    )
    assert await _json(await client.get(path, headers=dispatcher)) == expected
    retired_ones = await client.get(
        "/vehicles", headers=dispatcher, params={"organisation_id": a.organisation, "lifecycle": "retired"}
    )
    assert [v["id"] for v in (await _json(retired_ones))["items"]] == [body["id"]]

    # Its plate and terminal go to the vehicle that replaces it; in the fleet a plate is one vehicle's.
    replacement = vehicle(tag, a.organisation, 2, plate=body["plate"], terminal_id=body["terminal_id"])
    assert (await client.post("/vehicles", headers=dispatcher, json=replacement)).status_code == 201
    twin = await client.post("/vehicles", headers=dispatcher, json=vehicle(tag, a.organisation, 3, plate=body["plate"]))
    assert (await _json(twin, 409))["detail"] == (
        f"plate {body['plate']} is that of vehicle v-{tag}-2: a plate is one vehicle's until that vehicle is retired"
    )
    taken = await client.post("/vehicles", headers=dispatcher, json=vehicle(tag, a.organisation, 2, plate="赣H·X"))
    assert (await _json(taken, 409))["detail"] == (
        f"there is already a vehicle v-{tag}-2: change it with PATCH /vehicles/v-{tag}-2"
    )
    fuel = await client.post(
        "/vehicles", headers=dispatcher, json=vehicle(tag, a.organisation, 4, battery_kwh=50, vin="LSVAU2180N218367O")
    )
    problems = (await _json(fuel, 422))["detail"]
    assert [(p["loc"], p["msg"]) for p in problems] == [
        (["body", "vin"], "String should match pattern '^[A-HJ-NPR-Z0-9]{17}$'")
    ]
    fuel = await client.post("/vehicles", headers=dispatcher, json=vehicle(tag, a.organisation, 4, battery_kwh=50))
    assert (await _json(fuel, 422))["detail"][0]["msg"] == (
        "Value error, a battery capacity is of battery-electric and plug-in hybrid vehicles, not of a gasoline one"
    )
    home = await client.patch(path, headers=dispatcher, json={"home_institution_id": f"no-{tag}"})
    assert (await _json(home, 422))["detail"] == (
        f"no institution no-{tag}: give the id of an existing institution (GET /institutions)"
    )
    assert (await client.patch(f"/vehicles/no-{tag}", headers=dispatcher, json={})).status_code == 404


async def test_a_vehicle_on_an_open_request_is_not_retired(
    client: httpx.AsyncClient, units: Units, as_user: AsUser, tag: str
) -> None:
    a = units.a
    admin = await person(client, as_user, "admin")
    driver = await add_driver(client, admin, a.organisation)
    order = {"vehicle_id": a.vehicles[0], "driver_id": driver}
    request_id = await request_in_state(client, admin, a.organisation, "dispatched", order)
    path = f"/vehicles/{a.vehicles[0]}"
    name = f"vehicle {a.vehicles[0]} ({fixture_plate(tag, 'a', 0)})"

    def refusal(state: str) -> str:
        return (
            f"{name} is on request {request_id}, which is {state}: a vehicle on an open request cannot be retired; "
            "cancel the request or record its return first"
        )

    refused = await client.patch(path, headers=admin.headers, json=RETIRE)
    assert (await _json(refused, 409))["detail"] == refusal("dispatched")
    await ok(client, admin, request_id, "depart", {"odometer_km": 1000})
    refused = await client.patch(path, headers=admin.headers, json=RETIRE)
    assert (await _json(refused, 409))["detail"] == refusal("under way")
    # A file that retires it is refused in the same words, at its row.
    text = f"车辆编号,车辆状态,处置日期,处置方式\n{a.vehicles[0]},已处置,2026-03-02,报废\n"
    by_file = await upload(client, "/registry/vehicles", admin.headers, text.encode(), "vehicles.csv")
    assert (await _json(by_file, 422))["problems"] == [{"row": 2, "column": "车辆状态", "reason": refusal("under way")}]
    assert (await _json(await client.get(path, headers=admin.headers)))["lifecycle"] == "active"

    await ok(client, admin, request_id, "return", {"odometer_km": 1042.5})
    retired = await client.patch(path, headers=admin.headers, json=RETIRE)
    assert (await _json(retired))["lifecycle"] == "retired"


async def test_a_unit_sees_only_its_own_vehicles_and_drivers_and_writes_none(
    client: httpx.AsyncClient, units: Units, as_user: AsUser, tag: str, api_settings: Settings
) -> None:
    a, b = units.a, units.b
    dispatcher = await person(client, as_user, "dispatcher")
    driver_a = await add_driver(client, dispatcher, a.organisation)
    unit_b = await as_user("unit_user", b.organisation)
    for path in (f"/vehicles/{a.vehicles[0]}", f"/drivers/{driver_a}", f"/vehicle-quotas/{a.organisation}"):
        assert (await client.get(path, headers=unit_b)).status_code == 404, path
    text = (await client.get("/registry/vehicles.csv", headers=unit_b)).content.decode("utf-8-sig")
    assert sorted(row["车辆编号"] for row in csv.DictReader(io.StringIO(csv_body(text)))) == sorted(b.vehicles)
    drivers_file = (await client.get("/registry/drivers.csv", headers=unit_b)).content.decode("utf-8-sig")
    assert list(csv.DictReader(io.StringIO(csv_body(drivers_file)))) == []

    # Unit users keep no registry, not even their own unit's.
    writes = {
        "vehicles:write": [
            client.patch(f"/vehicles/{b.vehicles[0]}", headers=unit_b, json={"lifecycle": "maintenance"}),
            client.post("/vehicles", headers=unit_b, json=vehicle(tag, b.organisation)),
            client.put(f"/vehicle-quotas/{b.organisation}", headers=unit_b, json={"allowed": 9}),
            upload(client, "/registry/vehicles", unit_b, f"车辆编号\n{b.vehicles[0]}\n".encode(), "v.csv"),
        ],
        "drivers:write": [
            client.patch(f"/drivers/{driver_a}", headers=unit_b, json={"active": False}),
            upload(client, "/registry/drivers", unit_b, "姓名\n李师傅\n".encode(), "d.csv"),
        ],
    }
    for permission, responses in writes.items():
        for write in responses:
            response = await write
            assert response.status_code == 403, response.text
            assert response.json()["detail"] == f"the role unit_user does not have the permission {permission}"

    # Writes go through the Scope as reads do: a writer limited to unit B finds nothing of unit A's to change.
    scope_b = Scope(frozenset({b.organisation}))
    async with await psycopg.AsyncConnection.connect(api_settings.database_url) as conn:
        with pytest.raises(NotFound, match=f"^no vehicle {a.vehicles[0]}$"):
            await service.update_vehicle(conn, scope_b, a.vehicles[0], {"lifecycle": "maintenance"})
        with pytest.raises(NotFound, match=f"^no driver {driver_a}$"):
            await drivers.update_driver(conn, scope_b, driver_a, {"active": False})
        with pytest.raises(NotFound, match=f"^no organisation {a.organisation}$"):
            await service.put_vehicle_quota(conn, scope_b, a.organisation, 3)
        with pytest.raises(Refused, match=f"^no organisation {a.organisation}: "):
            await service.create_vehicle(conn, scope_b, VehicleCreate(**vehicle(tag, a.organisation)))
        rows: list[tuple[int, list[object]]] = [(1, ["车辆编号", "车辆状态"]), (2, [a.vehicles[0], "维修"])]
        with pytest.raises(RowsRefused) as refused:
            await imports.import_vehicles(conn, scope_b, rows)
        assert [(p.row, p.column, p.reason) for p in refused.value.problems] == [
            (2, "车辆编号", "is the id of a vehicle of another organisation")
        ]
        with pytest.raises(RowsRefused) as refused:
            await imports.import_drivers(conn, scope_b, [(1, ["驾驶员编号", "在岗"]), (2, [driver_a, "否"])])
        assert [(p.row, p.column, p.reason) for p in refused.value.problems] == [
            (2, "驾驶员编号", f"no driver {driver_a}: leave the id empty to add a driver")
        ]
    untouched = await _json(await client.get(f"/vehicles/{a.vehicles[0]}", headers=dispatcher.headers))
    assert untouched["lifecycle"] == "active"
    assert (await _json(await client.get(f"/drivers/{driver_a}", headers=dispatcher.headers)))["active"] is True


async def test_a_units_quota_counts_its_vehicles_that_are_not_retired(
    client: httpx.AsyncClient, units: Units, as_user: AsUser, tag: str, api_settings: Settings
) -> None:
    a = units.a
    dispatcher = await as_user("dispatcher")
    path = f"/vehicle-quotas/{a.organisation}"
    quota = {
        "organisation_id": a.organisation,
        "organisation_name": f"测试单位 {tag}a",
        "allowed": None,
        "vehicles": 2,
        "over_quota": False,
    }
    assert await _json(await client.get(path, headers=dispatcher)) == quota
    quota |= {"allowed": 2}
    assert await _json(await client.put(path, headers=dispatcher, json={"allowed": 2})) == quota
    where = "endpoint = '/vehicle-quotas/{organisation_id}' AND %s = ANY(resource_ids)"
    [audit] = audit_rows(api_settings.database_url, where, (a.organisation,))
    assert (audit["action"], audit["params"]) == ("vehicles:write", {"allowed": 2})

    await _json(await client.post("/vehicles", headers=dispatcher, json=vehicle(tag, a.organisation)), 201)
    quota |= {"vehicles": 3, "over_quota": True}
    assert await _json(await client.get(path, headers=dispatcher)) == quota
    # In the workshop it is still the unit's; retired it is not.
    await _json(await client.patch(f"/vehicles/{a.vehicles[0]}", headers=dispatcher, json={"lifecycle": "maintenance"}))
    assert await _json(await client.get(path, headers=dispatcher)) == quota
    await _json(await client.patch(f"/vehicles/{a.vehicles[1]}", headers=dispatcher, json=RETIRE))
    quota |= {"vehicles": 2, "over_quota": False}
    assert await _json(await client.get(path, headers=dispatcher)) == quota

    unit = await as_user("unit_user", a.organisation)
    assert await _json(await client.get("/vehicle-quotas", headers=unit)) == {"items": [quota], "next_after": None}
    assert (await client.put(path, headers=dispatcher, json={"allowed": -1})).status_code == 422
    assert (await _json(await client.put(path, headers=dispatcher, json={"allowed": None})))["allowed"] is None

    # A rental company's fleet has no quota.
    rental = f"rent-{tag}"
    async with await psycopg.AsyncConnection.connect(api_settings.database_url) as conn:
        await import_document(
            conn, RegistryDocument(organisations=[Organisation(id=rental, name="租车公司", kind="rental_company")])
        )
    refused = await client.put(f"/vehicle-quotas/{rental}", headers=dispatcher, json={"allowed": 5})
    unit_only = f"{rental} is a rental company: an allocation quota (编制) is a unit's"
    assert (await _json(refused, 422))["detail"] == unit_only
    assert (await client.put(f"/vehicle-quotas/no-{tag}", headers=dispatcher, json={"allowed": 5})).status_code == 404


VEHICLE_HEADER = [
    "车辆编号", "所属组织编号", "所属组织", "车牌号码", "车架号（VIN）", "车辆类型", "能源类型", "核定座位数",
    "电池容量（kWh）", "车载终端号", "常驻单位编号", "车辆状态", "启用日期", "处置日期", "处置方式", "油箱容积（L）",
]  # fmt: skip


async def test_an_exported_vehicles_workbook_imports_back_unchanged(
    client: httpx.AsyncClient, units: Units, as_user: AsUser, tag: str
) -> None:
    a = units.a
    dispatcher = await as_user("dispatcher")
    hybrid = vehicle(
        tag,
        a.organisation,
        1,
        vin="LFV2A21K5P3123456",
        vehicle_type="minibus",
        energy="plug_in_hybrid",
        seats=14,
        battery_kwh=18.3,
        terminal_id=f"1{tag}",
        home_institution_id=a.institution,
        in_service_on="2022-01-15",
        tank_litres=45,
    )
    scrapped = vehicle(tag, a.organisation, 2, energy="diesel", in_service_on="2015-05-01") | RETIRE
    for body in (hybrid, scrapped):
        await _json(await client.post("/vehicles", headers=dispatcher, json=body), 201)
    # A unit's own export, so that the file holds this test's vehicles only.
    unit = await as_user("unit_user", a.organisation)
    before = await _json(await client.get("/vehicles", headers=unit))

    exported = await client.get("/registry/vehicles.xlsx", headers=unit)
    assert exported.headers["content-disposition"] == 'attachment; filename="vehicles.xlsx"'
    header, *rows = sheet_rows(exported.content)
    assert header == VEHICLE_HEADER
    by_id = {row[0]: row for row in rows}
    assert set(by_id) == {*a.vehicles, hybrid["id"], scrapped["id"]}
    assert by_id[hybrid["id"]] == [
        hybrid["id"], a.organisation, f"测试单位 {tag}a", hybrid["plate"], hybrid["vin"], "中型客车", "插电式混合动力",
        14, 18.3, hybrid["terminal_id"], a.institution, "在用", datetime(2022, 1, 15), None, None, 45,
    ]  # fmt: skip
    assert by_id[scrapped["id"]][6:] == [
        "柴油",
        None,
        None,
        None,
        None,
        "已处置",
        datetime(2015, 5, 1),
        datetime(2026, 3, 2),
        "报废",
        None,
    ]

    staff = await upload(client, "/registry/vehicles", dispatcher, exported.content, "公务用车.xlsx")
    assert await _json(staff) == {"rows": 4, "created": 0, "updated": 4, "years": 0}
    assert await _json(await client.get("/vehicles", headers=unit)) == before

    english = await client.get("/registry/vehicles.csv", headers=unit, params={"language": "en", "bom": "false"})
    rows_en = {row["Vehicle id"]: row for row in csv.DictReader(io.StringIO(csv_body(english.content.decode())))}
    assert (rows_en[hybrid["id"]]["Energy"], rows_en[scrapped["id"]]["Retired how"]) == ("plug_in_hybrid", "scrapped")
    assert rows_en[hybrid["id"]]["Vehicle type"] == "minibus"
    again = await upload(client, "/registry/vehicles", dispatcher, english.content, "vehicles.csv")
    assert await _json(again) == {"rows": 4, "created": 0, "updated": 4, "years": 0}
    assert await _json(await client.get("/vehicles", headers=unit)) == before


async def test_a_vehicles_csv_with_bad_rows_reports_each_and_writes_nothing(
    client: httpx.AsyncClient, units: Units, as_user: AsUser, tag: str
) -> None:
    a, b = units.a, units.b
    dispatcher = await as_user("dispatcher")
    await _json(await client.patch(f"/vehicles/{a.vehicles[1]}", headers=dispatcher, json=RETIRE))
    org, b_plate = a.organisation, fixture_plate(tag, "b", 0)
    text = (
        "车辆编号,所属组织编号,车牌号码,车架号（VIN）,能源类型,核定座位数,电池容量（kWh）,车辆状态,处置方式\n"
        f"v-{tag}-good,{org},赣H·{tag}G,,汽油,5,,在用,\n"
        f"v-{tag}-gas,{org},赣H·{tag}Z,,煤气,5,,在用,\n"
        f"v-{tag}-batt,{org},赣H·{tag}B,,柴油,5,40,在用,\n"
        f"v-{tag}-vin,{org},赣H·{tag}V,LSVAU2180N218367O,汽油,0,,在用,\n"
        f"{a.vehicles[0]},{org},{b_plate},,纯电动,5,,在用,\n"
        f"{a.vehicles[1]},{org},{fixture_plate(tag, 'a', 1)},,纯电动,5,,在用,\n"
        f"v-{tag}-twin,{org},赣H·{tag}G,,汽油,5,,在用,\n"
        f"v-{tag}-gone,{org},赣H·{tag}X,,汽油,5,,已处置,拍卖\n"
        f"v-{tag}-orphan,no-such-org,赣H·{tag}O,,汽油,5,,在用,\n"
    )
    response = await upload(client, "/registry/vehicles", dispatcher, text.encode(), "公务用车.csv")
    body = await _json(response, 422)
    assert (
        body["detail"] == "9 problems in 8 rows; nothing was imported: correct the rows and send the whole file again"
    )
    assert body["problems"] == [
        {"row": 3, "column": "能源类型",
         "reason": "'煤气' is none of 汽油 (gasoline), 柴油 (diesel), 纯电动 (battery_electric), "
                   "插电式混合动力 (plug_in_hybrid)"},
        {"row": 4, "column": None,
         "reason": "a battery capacity is of battery-electric and plug-in hybrid vehicles, not of a diesel one"},
        {"row": 5, "column": "车架号（VIN）", "reason": "String should match pattern '^[A-HJ-NPR-Z0-9]{17}$'"},
        {"row": 5, "column": "核定座位数", "reason": "Input should be greater than 0"},
        {"row": 6, "column": "车牌号码",
         "reason": f"plate {b_plate} is that of vehicle {b.vehicles[0]}: a plate is one vehicle's until that vehicle "
                   "is retired"},
        {"row": 7, "column": "车辆状态",
         "reason": f"vehicle {a.vehicles[1]} ({fixture_plate(tag, 'a', 1)}) is retired: a retired vehicle does not "
                   "come back into the fleet; register the vehicle that replaces it as a new one"},
        {"row": 8, "column": "车牌号码", "reason": f"赣H·{tag}G is also that of the vehicle in row 2"},
        {"row": 9, "column": None,
         "reason": "a retired vehicle needs the day it left (retired_on) and how (retired_how: auctioned or scrapped)"},
        {"row": 10, "column": "所属组织编号",
         "reason": "no organisation no-such-org: give the id of an existing organisation"},
    ]  # fmt: skip
    # The good rows were not written either.
    assert (await client.get(f"/vehicles/v-{tag}-good", headers=dispatcher)).status_code == 404
    assert (await _json(await client.get(f"/vehicles/{a.vehicles[0]}", headers=dispatcher)))["plate"] == (
        fixture_plate(tag, "a", 0)
    )


async def test_drivers_are_changed_and_their_table_imports_back(
    client: httpx.AsyncClient, units: Units, as_user: AsUser, tag: str
) -> None:
    a = units.a
    dispatcher = await person(client, as_user, "dispatcher")
    first = await add_driver(client, dispatcher, a.organisation, "王师傅")
    second = await add_driver(client, dispatcher, a.organisation, "张师傅")
    path = f"/drivers/{first}"
    created = await _json(await client.get(path, headers=dispatcher.headers))
    change = {"active": False, "phone": None, "licence_class": "B1"}
    assert await _json(await client.patch(path, headers=dispatcher.headers, json=change)) == created | change
    assert (await client.patch(path, headers=dispatcher.headers, json={"name": None})).status_code == 422
    moved = await client.patch(path, headers=dispatcher.headers, json={"organisation_id": f"no-{tag}"})
    assert (await _json(moved, 422))["detail"] == (
        f"no organisation no-{tag}: give the id of an existing organisation (GET /organisations)"
    )
    assert (await client.patch(f"/drivers/{2**62}", headers=dispatcher.headers, json={})).status_code == 404

    unit = await as_user("unit_user", a.organisation)
    before = await _json(await client.get("/drivers", headers=unit))
    exported = await client.get("/registry/drivers.xlsx", headers=unit)
    header, *rows = sheet_rows(exported.content)
    assert header == ["驾驶员编号", "所属组织编号", "所属组织", "姓名", "联系电话", "准驾车型", "在岗"]
    assert rows == [
        [str(first), a.organisation, f"测试单位 {tag}a", "王师傅", None, "B1", "否"],
        [str(second), a.organisation, f"测试单位 {tag}a", "张师傅", "13800138000", "C1", "是"],
    ]
    back = await upload(client, "/registry/drivers", dispatcher.headers, exported.content, "驾驶员.xlsx")
    assert await _json(back) == {"rows": 2, "created": 0, "updated": 2, "years": 0}
    assert await _json(await client.get("/drivers", headers=unit)) == before

    # A file without driver ids adds drivers; the registry numbers them.
    new = f"姓名,所属组织编号,准驾车型,联系电话\n李师傅,{a.organisation},c1,13900139000\n"
    added = await upload(client, "/registry/drivers", dispatcher.headers, new.encode(), "new.csv")
    assert await _json(added) == {"rows": 1, "created": 1, "updated": 0, "years": 0}
    listed = (await _json(await client.get("/drivers", headers=unit)))["items"]
    assert [(d["name"], d["licence_class"], d["phone"], d["active"]) for d in listed][2:] == [
        ("李师傅", "C1", "13900139000", True)
    ]

    bad = (
        "驾驶员编号,姓名,准驾车型,联系电话,在岗\n"
        f"{first},王师傅,Z9,13800138000,是\n"
        f"{2**40},赵师傅,C1,,是\n"
        ",钱师傅,C1,12,是\n"
        f"{second},张师傅,C1,,也许\n"
    )
    refused = await _json(await upload(client, "/registry/drivers", dispatcher.headers, bad.encode(), "d.csv"), 422)
    assert refused["problems"] == [
        {"row": 2, "column": "准驾车型", "reason": "Input should be 'A1', 'A2', 'A3', 'B1', 'B2', 'C1', 'C2', 'C3', "
         "'C4', 'C5', 'C6', 'D', 'E', 'F', 'M', 'N' or 'P'"},
        {"row": 3, "column": "驾驶员编号", "reason": f"no driver {2**40}: leave the id empty to add a driver"},
        {"row": 4, "column": "所属组织编号", "reason": "is needed for a new driver: add the column"},
        {"row": 4, "column": "联系电话", "reason": "String should match pattern '^\\+?[0-9][0-9 -]{2,19}$'"},
        {"row": 5, "column": "在岗", "reason": "'也许' is neither 是 (yes) nor 否 (no)"},
    ]  # fmt: skip
    assert await _json(await client.get(f"/drivers/{first}", headers=unit)) == created | change


async def test_auditors_and_energy_staff_read_or_nothing_but_change_no_vehicle(
    client: httpx.AsyncClient, units: Units, as_user: AsUser, tag: str
) -> None:
    a = units.a
    for role, reads in (("auditor", 200), ("energy_staff", 403)):
        headers = await as_user(role)
        writes = {
            "vehicles:write": [
                client.post("/vehicles", headers=headers, json=vehicle(tag, a.organisation)),
                client.patch(f"/vehicles/{a.vehicles[0]}", headers=headers, json=RETIRE),
                client.put(f"/vehicle-quotas/{a.organisation}", headers=headers, json={"allowed": 1}),
                upload(client, "/registry/vehicles", headers, f"车辆编号\n{a.vehicles[0]}\n".encode(), "v.csv"),
            ],
            "drivers:write": [
                client.patch("/drivers/1", headers=headers, json={"active": False}),
                upload(client, "/registry/drivers", headers, "姓名\n李师傅\n".encode(), "d.csv"),
            ],
        }
        for permission, responses in writes.items():
            for write in responses:
                response = await write
                assert response.status_code == 403, (role, response.text)
                assert response.json()["detail"] == f"the role {role} does not have the permission {permission}"
        for path in ("/registry/vehicles.xlsx", "/registry/drivers.csv", f"/vehicle-quotas/{a.organisation}"):
            assert (await client.get(path, headers=headers)).status_code == reads, (role, path)
