"""Fuel-card and charging statements imported through the API, joined to the kilometres the tracks drove, computed
by hand.

Unit A (institution iA) has g (gasoline, a 50 L tank, home iA, in service from 2025-02-01), e (battery electric,
a 60 kWh battery, no home institution) and old (gasoline, retired 2025-01-31, the plate g has now, no home). Unit B
(institution iB) has d (diesel, home iB). Their June drives (positions through the ingest path the collector uses,
counted by the mileage roll-up): g 50 km on 06-03 and 50 km on 06-20; e 20 km on 06-10; d 100 km on 06-05.

Statements (the fuel card's in CSV with Chinese headers, by a user of unit A; the charging platform's in XLSX with
English headers; B's by a dispatcher):
- g: 40 L on 06-03 (300 yuan), 55 L on 06-20 (440 yuan: more than the 50 L tank), 5 L on 06-28 (37.5 yuan: no
  kilometre from 06-25 to 07-01). 100 L over 100 km = 100 L/100 km, above the 40 of the band.
- old: 30 L on 2025-01-15 with g's plate: the plate was old's then. January: no kilometre, no L/100 km.
- e: 15 kWh on 06-10 (18 yuan), 65 kWh on 06-11 (78 yuan: more than the 60 kWh battery). 80 kWh over 20 km =
  400 kWh/100 km, above 120.
- d: 20 L on 06-05 (150 yuan) over 100 km: 20 L/100 km, in the band, no flag.
Declared for 2025: iA gasoline 100 L x 0.73 = 73 kg, 777.5 yuan; iB diesel 20 L x 0.86 = 17.2 kg, 150 yuan; e's and
old's fuel counts in no institution (no home).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import httpx
import openpyxl
import psycopg
import pytest

from db import declared, fuel, ingest
from db.pool import open_pool
from db.registry import import_document
from domain.registry import Institution, Organisation, RegistryDocument, Vehicle
from tests.support.api import AsUser
from tests.support.files import csv_body, upload, workbook
from tests.support.rollups import settle_mileage
from tests.support.tracks import SHANGHAI, T0, Day, of_vehicle
from worker.mileage import Basis
from yiwang.settings import Settings

JUNE = {"start": "2025-06-01", "end": "2025-07-01"}


def local(month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2025, month, day, hour, minute, tzinfo=SHANGHAI)


def drive(km: int, start: datetime, odometer_km: float) -> list[Any]:
    """Parked 10 minutes, a minute idling, `km` north at 72 km/h (200 m a report), a minute idling, parked."""
    day = Day(odometer_km).park(600).idle(60).drive(km * 1000, 72).idle(60).park(600)
    shift = start - T0
    return [f._replace(time=f.time + shift, received_at=f.received_at + shift) for f in day.fixes]


@dataclass(frozen=True)
class Fleet:
    a: str
    b: str
    ia: str
    ib: str
    g: str
    e: str
    old: str
    d: str
    plate: str  # g's, and old's before it
    e_plate: str
    d_plate: str


@pytest.fixture
async def fleet(api_settings: Settings, tag: str) -> Fleet:
    f = Fleet(
        f"org-{tag}-a", f"org-{tag}-b", f"i-{tag}-a", f"i-{tag}-b", f"{tag}-g", f"{tag}-e", f"{tag}-old", f"{tag}-d",
        f"赣H·{tag[:5].upper()}", f"赣H·E{tag[:4].upper()}", f"赣H·D{tag[:4].upper()}",
    )  # fmt: skip
    document = RegistryDocument(
        organisations=[Organisation(id=f.a, name=f"甲单位 {tag}"), Organisation(id=f.b, name=f"乙单位 {tag}")],
        institutions=[
            Institution(id=f.ia, organisation_id=f.a, name=f"甲机构 {tag}", category="agency"),
            Institution(id=f.ib, organisation_id=f.b, name=f"乙机构 {tag}", category="agency"),
        ],
        vehicles=[
            Vehicle(id=f.old, organisation_id=f.a, plate=f.plate, energy="gasoline"),
            Vehicle(id=f.e, organisation_id=f.a, plate=f.e_plate, energy="battery_electric", battery_kwh=60),
            Vehicle(id=f.d, organisation_id=f.b, plate=f.d_plate, energy="diesel", home_institution_id=f.ib),
        ],
    )
    async with await psycopg.AsyncConnection.connect(api_settings.database_url) as conn:
        await import_document(conn, document)
        await conn.execute(
            """UPDATE vehicle SET lifecycle = 'retired', in_service_on = '2015-03-01', retired_on = '2025-01-31',
                                  retired_how = 'scrapped' WHERE id = %s""",
            (f.old,),
        )
        # g takes the plate after old left: the registry keeps one plate for one vehicle in the fleet at a time.
        await import_document(
            conn,
            RegistryDocument(
                vehicles=[
                    Vehicle(id=f.g, organisation_id=f.a, plate=f.plate, energy="gasoline", home_institution_id=f.ia)
                ]
            ),
        )
        await conn.execute("UPDATE vehicle SET in_service_on = '2025-02-01' WHERE id = %s", (f.g,))
        await conn.commit()
    tracks = (
        (f.g, drive(50, local(6, 3, 9), 10_000.0)),
        (f.g, drive(50, local(6, 20, 9), 10_050.0)),
        (f.e, drive(20, local(6, 10, 9), 2_000.0)),
        (f.d, drive(100, local(6, 5, 9), 50_000.0)),
    )
    async with open_pool(api_settings.database_url, max_size=2, configure=ingest.prepare_connection) as pool:
        for vehicle, fixes in tracks:
            async with pool.connection() as conn, conn.transaction():
                await ingest.insert_positions(conn, of_vehicle(vehicle, fixes))
        await settle_mileage(pool, Basis.of(api_settings), [f.g, f.e, f.d])
    return f


def card_statement(f: Fleet) -> bytes:
    """A fuel card's 消费明细 as the bank of an office exports it: CSV, Chinese headers, plates without the dot."""
    plain = f.plate.replace("·", "")
    rows = [
        ["卡号", "车牌号", "交易时间", "加油站名称", "油品", "数量(升)", "金额(元)"],
        ["1000113600012345", plain, "2025-06-03 08:00:00", "中石化景德镇浮梁站", "92#汽油", "40.00", "300.00"],
        ["1000113600012345", plain, "2025-06-20 07:30:00", "中石化景德镇昌江站", "95#汽油", "55.00", "440.00"],
        ["1000113600012345", plain, "2025/06/28 10:00", "中石化景德镇珠山站", "92#汽油", "5", "37.50"],
        ["1000113600099999", "赣H99999", "2025-06-04 09:00:00", "中石化景德镇浮梁站", "92#汽油", "30.00", "225.00"],
        ["1000113600077777", f.d_plate, "2025-06-05 08:00:00", "中石油站", "0#柴油", "20", "150"],
        ["1000113600012345", plain, "yesterday", "中石化景德镇浮梁站", "92#汽油", "10.00", "75.00"],
        ["1000113600012345", plain, "2025-06-21 07:30:00", "中石化景德镇浮梁站", "92#汽油", "abc", "75.00"],
        ["1000113600012345", plain, "2025-06-03 08:00:00", "中石化景德镇浮梁站", "92#汽油", "40.00", "300.00"],
        ["1000113600012345", plain, "2025-01-15 09:00:00", "中石化景德镇浮梁站", "92#汽油", "30.00", "216.00"],
    ]
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode("utf-8")


def charging_bill(f: Fleet) -> bytes:
    return workbook(
        [
            ["Plate", "Start time", "End time", "Station", "Charged (kWh)", "Amount"],
            [f.e_plate, "2025-06-10 07:00:00", "2025-06-10 08:00:00", "市政府充电站", 15, 18],
            [f.e_plate, "2025-06-11 18:00:00", "2025-06-11 21:00:00", "市政府充电站", 65, 78],
        ]
    )


async def report(client: httpx.AsyncClient, headers: dict[str, str], **params: str) -> dict[str, Any]:
    response = await client.get("/fuel/report", params=params or JUNE, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def problems(body: dict[str, Any]) -> list[tuple[int, str | None, str]]:
    return [(p["row"], p["column"], p["reason"]) for p in body["problems"]]


async def test_statements_against_track_km_flags_and_declared_figures(
    client: httpx.AsyncClient, as_user: AsUser, fleet: Fleet, api_settings: Settings
) -> None:
    f = fleet
    unit_a = await as_user("unit_user", f.a)
    dispatcher = await as_user("dispatcher")
    tank = await client.patch(f"/vehicles/{f.g}", json={"tank_litres": 50}, headers=dispatcher)
    assert tank.status_code == 200, tank.text
    assert tank.json()["tank_litres"] == 50

    sent = await upload(client, "/fuel/statements", unit_a, card_statement(f), "加油卡消费明细.csv")
    assert sent.status_code == 200, sent.text
    body = sent.json()
    assert (body["rows"], body["imported"], body["duplicates"]) == (9, 4, 0), body["problems"]
    plate = "车牌号"
    assert problems(body) == [
        (5, plate, "unknown plate: no vehicle of your units held plate 赣H99999 on 2025-06-04"),
        # B's vehicle: a user of unit A imports nothing for it, and learns nothing of it.
        (6, plate, f"unknown plate: no vehicle of your units held plate {f.d_plate} on 2025-06-05"),
        (7, "交易时间", "unparseable time: 'yesterday' is not a date and time (2025-06-03 10:15:00)"),
        (8, "数量(升)", "unparseable number: 'abc' is not a number"),
        (9, None, "duplicate of row 2: the same vehicle, time, fuel and quantity"),
    ]
    assert all(p["sheet"] == "加油卡消费明细.csv" for p in body["problems"])

    # Importing the same statement again adds nothing twice.
    again = (await upload(client, "/fuel/statements", unit_a, card_statement(f), "加油卡消费明细.csv")).json()
    assert (again["imported"], again["duplicates"]) == (0, 4)
    assert (2, None, "duplicate: imported before from 加油卡消费明细.csv, row 2") in problems(again)

    bill = await upload(client, "/fuel/statements", unit_a, charging_bill(f), "charging.xlsx")
    assert bill.status_code == 200, bill.text
    assert (bill.json()["imported"], bill.json()["problems"], bill.json()["sheet"]) == (2, [], "Sheet")
    # B's diesel through the dispatcher, who sees every unit.
    b_rows = f"车牌号,交易时间,油品,加油量,金额\n{f.d_plate},2025-06-05 08:00:00,0#柴油,20,150\n"
    assert (await upload(client, "/fuel/statements", dispatcher, b_rows.encode(), "b.csv")).json()["imported"] == 1

    async with await psycopg.AsyncConnection.connect(api_settings.database_url) as conn:
        cur = await conn.execute(
            "SELECT vehicle_id, fuel, quantity, kg_per_litre FROM fuel_purchase WHERE time = %s", (local(1, 15, 9),)
        )
        # The plate was old's on 2025-01-15: the purchase is old's, not g's.
        assert await cur.fetchall() == [(f.old, "gasoline", Decimal("30.00"), Decimal("0.73"))]

    june = await report(client, unit_a)
    rows = {r["vehicle_id"]: r for r in june["vehicles"]}
    assert list(rows) == [f.e, f.g]  # unit A's only, in id order
    g, e = rows[f.g], rows[f.e]
    assert (g["purchases"], g["litres"], g["kwh"], g["amount"], g["km"]) == (3, 100.0, 0.0, 777.5, 100.0)
    assert (g["l_per_100km"], g["kwh_per_100km"], g["per_100km_reason"]) == (100.0, None, None)
    assert [(x["kind"], x["time"]) for x in g["flags"]] == [
        ("over_tank", "2025-06-20T07:30:00+08:00"),
        ("no_driving", "2025-06-28T10:00:00+08:00"),
        ("consumption_out_of_band", None),
    ]
    assert g["flags"][0]["evidence"] == "55.00 L on 2025-06-20T07:30:00+08:00, more than the tank's 50 L"
    assert g["flags"][1]["evidence"] == (
        "5 L on 2025-06-28T10:00:00+08:00 at 中石化景德镇珠山站: the track drove 0 km from 2025-06-25 to 2025-07-01"
    )
    assert g["flags"][2]["evidence"] == ("100.00 L/100 km (100.00 L over 100.0 km), outside 3-40 L/100 km")
    assert (e["purchases"], e["kwh"], e["amount"], e["km"], e["kwh_per_100km"]) == (2, 80.0, 96.0, 20.0, 400.0)
    assert [x["kind"] for x in e["flags"]] == ["over_battery", "consumption_out_of_band"]
    assert e["flags"][0]["evidence"] == "65 kWh on 2025-06-11T18:00:00+08:00, more than the battery's 60 kWh"
    assert june["not_counted"] == [f.e]  # no home institution: in no institution's statistics

    unit_b = await as_user("unit_user", f.b)
    d = (await report(client, unit_b))["vehicles"]
    assert [(r["vehicle_id"], r["litres"], r["km"], r["l_per_100km"], r["flags"]) for r in d] == [
        (f.d, 20.0, 100.0, 20.0, [])
    ]

    january = await report(client, dispatcher, start="2025-01-01", end="2025-02-01")
    [old] = [r for r in january["vehicles"] if r["vehicle_id"] == f.old]
    assert (old["litres"], old["km"], old["l_per_100km"]) == (30.0, 0.0, None)
    assert old["per_100km_reason"] == "no kilometres: the track drove none in the period (no trips, or no positions)"
    assert [x["kind"] for x in old["flags"]] == ["no_driving"]

    async with open_pool(api_settings.database_url, max_size=1) as pool, pool.connection() as conn:
        year = await declared.yearly(conn, 2025, [f.ia, f.ib])
        months = await fuel.monthly(conn, [f.ia, f.ib], date(2025, 1, 1), date(2026, 1, 1))
    assert [(r.institution_id, r.energy_type, r.purpose, r.quantity, r.cost, r.source) for r in year] == [
        (f.ia, "gasoline", "vehicle", Decimal("73.0000"), Decimal("777.50"), "fuel_statements"),
        (f.ib, "diesel", "vehicle", Decimal("17.2000"), Decimal("150"), "fuel_statements"),
    ]
    assert [(m.institution_id, m.energy_type, m.month, m.quantity) for m in months] == [
        (f.ia, "gasoline", date(2025, 6, 1), Decimal("73.0000")),
        (f.ib, "diesel", date(2025, 6, 1), Decimal("17.2000")),
    ]

    # The same figures as files.
    xlsx = await client.get("/fuel/report.xlsx", params=JUNE, headers=unit_a)
    assert xlsx.status_code == 200, xlsx.text
    book = openpyxl.load_workbook(io.BytesIO(xlsx.content))
    assert book.sheetnames[:2] == ["车辆油耗电耗", "异常标记"]
    flagged = [row for row in book["异常标记"].iter_rows(min_row=2, values_only=True) if row[0] == f.g]
    assert [row[4] for row in flagged] == ["单次加油超过油箱容积", "加油前后无行驶", "百公里能耗超出合理范围"]
    text = await client.get("/fuel/report.csv", params={**JUNE, "view": "vehicles"}, headers=unit_a)
    assert text.status_code == 200, text.text
    by_id = {r["vehicle_id"]: r for r in csv.DictReader(io.StringIO(csv_body(text.text)))}
    assert (by_id[f.g]["litres"], by_id[f.g]["km"], by_id[f.g]["l_per_100km"]) == ("100.0", "100.0", "100.0")


async def test_a_statement_without_a_plate_or_quantity_column_is_refused_whole(
    client: httpx.AsyncClient, as_user: AsUser, fleet: Fleet
) -> None:
    dispatcher = await as_user("dispatcher")
    sent = await upload(client, "/fuel/statements", dispatcher, "卡号,交易时间,金额\n1,2025-06-03 08:00,10\n".encode())
    assert sent.status_code == 422
    assert "plate" in sent.json()["detail"]
    assert "litres" in sent.json()["detail"]


async def test_a_battery_electric_vehicle_has_no_tank(client: httpx.AsyncClient, as_user: AsUser, fleet: Fleet) -> None:
    dispatcher = await as_user("dispatcher")
    refused = await client.patch(f"/vehicles/{fleet.e}", json={"tank_litres": 40}, headers=dispatcher)
    assert refused.status_code == 422, refused.text
    exported = await client.get("/registry/vehicles.csv", params={"provenance": "false"}, headers=dispatcher)
    assert "tank_litres" in exported.text.splitlines()[0] or "油箱容积（L）" in exported.text.splitlines()[0]


async def test_a_unit_user_imports_nothing_for_another_units_vehicle(
    client: httpx.AsyncClient, as_user: AsUser, fleet: Fleet, api_settings: Settings
) -> None:
    unit_a, unit_b = await as_user("unit_user", fleet.a), await as_user("unit_user", fleet.b)
    statement = f"车牌号,交易时间,油品,加油量,金额\n{fleet.d_plate},2025-06-05 08:00:00,0#柴油,60,450\n".encode()
    sent = await upload(client, "/fuel/statements", unit_a, statement, "b.csv")
    assert sent.status_code == 200, sent.text
    assert sent.json()["imported"] == 0
    # Answered as an unknown plate: the user learns nothing of the other unit's vehicle.
    assert problems(sent.json()) == [
        (2, "车牌号", f"unknown plate: no vehicle of your units held plate {fleet.d_plate} on 2025-06-05")
    ]
    async with await psycopg.AsyncConnection.connect(api_settings.database_url) as conn:
        cur = await conn.execute("SELECT count(*) FROM fuel_purchase WHERE vehicle_id = %s", (fleet.d,))
        assert await cur.fetchone() == (0,)
    assert (await report(client, unit_b))["vehicles"] == []


async def test_a_nul_character_or_a_huge_number_is_a_named_row_not_a_failed_import(
    client: httpx.AsyncClient, as_user: AsUser, fleet: Fleet
) -> None:
    unit_a = await as_user("unit_user", fleet.a)
    statement = (
        "车牌号,交易时间,加油站名称,数量(升)\n"
        f"{fleet.plate},2025-06-03 08:00:00,浮梁\x00站,40\n"
        f"{fleet.plate},2025-06-03 09:00:00,浮梁站,1e999\n"
    ).encode()
    sent = await upload(client, "/fuel/statements", unit_a, statement, "s.csv")
    assert sent.status_code == 200, sent.text
    assert (sent.json()["imported"], problems(sent.json())) == (
        0,
        [
            (2, "加油站名称", "holds a NUL character, which no statement's text has"),
            (3, "数量(升)", "1e999 L is more than any purchase (100,000,000)"),
        ],
    )


# ---------------------------------------------------------------------------------------------------------------
# Reversals (冲正), withdrawals, and the statements' amounts in the cost report


def g_rows(f: Fleet, *rows: tuple[str, str, str]) -> bytes:
    """A fuel card's statement of g: (time, litres, yuan) per row, card 1000113600012345."""
    lines = ["卡号,车牌号,交易时间,油品,数量(升),金额(元)"]
    lines += [f"1000113600012345,{f.plate},{time},92#汽油,{litres},{yuan}" for time, litres, yuan in rows]
    return ("\n".join(lines) + "\n").encode()


async def g_june(client: httpx.AsyncClient, headers: dict[str, str], f: Fleet) -> dict[str, Any]:
    [g] = [r for r in (await report(client, headers))["vehicles"] if r["vehicle_id"] == f.g]
    return g


async def ia_gasoline(api_settings: Settings, f: Fleet) -> tuple[Decimal | None, Decimal | None]:
    async with open_pool(api_settings.database_url, max_size=1) as pool, pool.connection() as conn:
        year = await declared.yearly(conn, 2025, [f.ia])
    found = [(r.quantity, r.cost) for r in year if r.energy_type == "gasoline" and r.purpose == "vehicle"]
    return found[0] if found else (None, None)


async def test_a_reversal_in_the_same_statement_is_paired_and_neither_row_counts(
    client: httpx.AsyncClient, as_user: AsUser, fleet: Fleet, api_settings: Settings
) -> None:
    f = fleet
    unit_a = await as_user("unit_user", f.a)
    statement = g_rows(
        f,
        ("2025-06-03 08:00:00", "40.00", "300.00"),
        ("2025-06-03 08:05:00", "-40.00", "-300.00"),  # 冲正 of row 2
        ("2025-06-20 07:30:00", "20.00", "150.00"),
    )
    sent = await upload(client, "/fuel/statements", unit_a, statement, "冲正.csv")
    assert sent.status_code == 200, sent.text
    body = sent.json()
    assert (body["rows"], body["imported"], body["duplicates"], body["problems"]) == (3, 1, 0, [])
    assert body["reversals"] == [
        {
            "sheet": "冲正.csv",
            "row": 3,
            "original_row": 2,
            "withdrawn": None,
            "note": "reverses row 2: neither is counted",
        }
    ]
    g = await g_june(client, unit_a, f)
    assert (g["purchases"], g["litres"], g["amount"]) == (1, 20.0, 150.0)
    # 20 L x 0.73 kg/L: the reversed 40 L leave nothing in the institution's gasoline.
    assert await ia_gasoline(api_settings, f) == (Decimal("14.6000"), Decimal("150.00"))
    # Imported again: nothing more stored, the pair found again.
    again = (await upload(client, "/fuel/statements", unit_a, statement, "冲正.csv")).json()
    assert (again["imported"], again["duplicates"], [r["row"] for r in again["reversals"]]) == (0, 1, [3])
    assert (await g_june(client, unit_a, f))["litres"] == 20.0


async def test_a_reversal_withdraws_the_purchase_imported_before_once(
    client: httpx.AsyncClient, as_user: AsUser, fleet: Fleet, api_settings: Settings
) -> None:
    f = fleet
    unit_a = await as_user("unit_user", f.a)
    first = g_rows(f, ("2025-06-03 08:00:00", "40.00", "300.00"), ("2025-06-20 07:30:00", "40.00", "300.00"))
    assert (await upload(client, "/fuel/statements", unit_a, first, "may.csv")).json()["imported"] == 2
    assert (await g_june(client, unit_a, f))["litres"] == 80.0

    # The next statement reverses the purchase of 06-20 (the latest of its kind before the reversal).
    reversal = g_rows(f, ("2025-06-20 09:00:00", "-40.00", "-300.00"), ("2025-06-21 09:00:00", "-7.00", "-52.00"))
    sent = await upload(client, "/fuel/statements", unit_a, reversal, "june.csv")
    assert sent.status_code == 200, sent.text
    body = sent.json()
    [withdrawn] = [r["withdrawn"] for r in body["reversals"]]
    assert (body["reversals"][0]["row"], body["reversals"][0]["original_row"]) == (2, None)
    # A reversal of nothing found is named, not stored, and withdraws nothing.
    [(row, column, reason)] = problems(body)
    assert (row, column) == (3, None)
    assert reason.startswith(f"a reversal (冲正) of no purchase found: none of vehicle {f.g} with 7.00 of gasoline")
    listed = await client.get("/fuel/purchases", params={**JUNE, "vehicle_id": f.g}, headers=unit_a)
    assert listed.status_code == 200, listed.text
    marks = {(p["time"], p["withdrawn_reason"]) for p in listed.json()}
    assert marks == {
        ("2025-06-03T00:00:00Z", None),
        ("2025-06-19T23:30:00Z", "reversed (冲正) by june.csv, row 2"),
    }
    assert [p["id"] for p in listed.json() if p["withdrawn_at"]] == [withdrawn]
    g = await g_june(client, unit_a, f)
    assert (g["purchases"], g["litres"], g["amount"]) == (1, 40.0, 300.0)
    assert await ia_gasoline(api_settings, f) == (Decimal("29.2000"), Decimal("300.00"))

    # Imported again, the reversal is found applied: the purchase of 06-03 stays counted.
    again = (await upload(client, "/fuel/statements", unit_a, reversal, "june.csv")).json()
    assert [(r["row"], r["withdrawn"], r["note"]) for r in again["reversals"]] == [
        (2, withdrawn, f"applied before: purchase {withdrawn} is withdrawn")
    ]
    assert (await g_june(client, unit_a, f))["litres"] == 40.0


async def test_staff_withdraw_a_purchase_with_a_reason_and_it_counts_nowhere(
    client: httpx.AsyncClient, as_user: AsUser, fleet: Fleet, api_settings: Settings
) -> None:
    f = fleet
    unit_a, unit_b = await as_user("unit_user", f.a), await as_user("unit_user", f.b)
    statement = g_rows(f, ("2025-06-03 08:00:00", "40.00", "300.00"), ("2025-06-20 07:30:00", "20.00", "150.00"))
    assert (await upload(client, "/fuel/statements", unit_a, statement, "s.csv")).json()["imported"] == 2
    listed = (await client.get("/fuel/purchases", params={**JUNE, "vehicle_id": f.g}, headers=unit_a)).json()
    wrong = listed[0]["id"]

    # Another unit's user: answered as a purchase that does not exist.
    why = {"reason": "imported by mistake: the card of a private car"}
    hidden = await client.post(f"/fuel/purchases/{wrong}/withdrawal", json=why, headers=unit_b)
    assert hidden.status_code == 404, hidden.text
    assert (await client.get("/fuel/purchases", params=JUNE, headers=unit_b)).json() == []

    done = await client.post(f"/fuel/purchases/{wrong}/withdrawal", json=why, headers=unit_a)
    assert done.status_code == 200, done.text
    assert (done.json()["withdrawn_reason"], done.json()["reversed_at"]) == (why["reason"], None)
    assert None not in (done.json()["withdrawn_at"], done.json()["withdrawn_by"])
    twice = await client.post(f"/fuel/purchases/{wrong}/withdrawal", json=why, headers=unit_a)
    assert twice.status_code == 409, twice.text

    # Kept, marked; counted in neither the fuel report nor the institution's energy and costs.
    after = (await client.get("/fuel/purchases", params={**JUNE, "vehicle_id": f.g}, headers=unit_a)).json()
    assert [(p["id"], p["withdrawn_at"] is not None) for p in after] == [(wrong, True), (listed[1]["id"], False)]
    g = await g_june(client, unit_a, f)
    assert (g["purchases"], g["litres"], g["amount"]) == (1, 20.0, 150.0)
    assert await ia_gasoline(api_settings, f) == (Decimal("14.6000"), Decimal("150.00"))
    async with await psycopg.AsyncConnection.connect(api_settings.database_url) as conn:
        cur = await conn.execute(
            "SELECT status, params->>'reason' FROM audit_log WHERE endpoint = %s AND %s = ANY(resource_ids) "
            "ORDER BY id",
            ("/fuel/purchases/{purchase_id}/withdrawal", str(wrong)),
        )
        assert await cur.fetchall() == [(404, why["reason"]), (200, why["reason"]), (409, why["reason"])]


async def test_the_cost_report_counts_the_vehicles_statement_amounts_labelled(
    client: httpx.AsyncClient, as_user: AsUser, fleet: Fleet
) -> None:
    f = fleet
    unit_a = await as_user("unit_user", f.a)
    sent = await upload(client, "/fuel/statements", unit_a, card_statement(f), "加油卡消费明细.csv")
    assert sent.json()["imported"] == 4
    assert (await upload(client, "/fuel/statements", unit_a, charging_bill(f), "charging.xlsx")).json()["imported"] == 2
    june = {**JUNE, "organisation_id": f.a}
    costs = await client.get("/energy/costs", params=june, headers=unit_a)
    assert costs.status_code == 200, costs.text
    [ia] = costs.json()["rows"]
    # g's 300 + 440 + 37.5 yuan in June, home iA; e's charging (no home) and old's January purchase count in none.
    assert ia["institution_id"] == f.ia
    assert ia["current"]["costs"] == [{"energy_type": "gasoline", "cost": "777.50"}]
    assert ia["current"]["vehicle_costs"] == [{"energy_type": "gasoline", "cost": "777.50"}]
    assert ia["current"]["total_cost"] == "777.50"
    text = await client.get("/energy/costs.csv", params=june, headers=unit_a)
    assert text.status_code == 200, text.text
    [line] = list(csv.DictReader(io.StringIO(csv_body(text.text))))
    assert (line["gasoline_yuan"], line["vehicle_fuel_yuan"], line["total_yuan"]) == ("777.50", "777.50", "777.50")
