"""The dispatch report of June 2025 for two units, computed by hand, through the API and its XLSX and CSV exports.

Unit A has a0 (battery electric) and a1 (gasoline), unit B b0 (plug-in hybrid) and b1 (diesel). Their drives, in
Beijing time (the odometer comes in 0.1 km and every drive is a whole number of kilometres, so the figures are exact):

- a0: 06-03 12 km out and 12 km back (1,270 s and 840 s on the move); 06-30 6 km setting out at 23:55:10 and
  arriving after midnight (640 s): it counts in June. 30 km, 3 trips, 2 days used, 2,750 s = 0.76 h.
- a1: 06-03 10 km (1,070 s = 0.30 h); 05-31 5 km, outside the period (and stored after the June drive: late).
- b0: 06-10 20 km at 60 km/h (1,270 s = 0.35 h). b1: parked all morning of 06-10 with its terminal on: no trip.

Requests of unit A: r0 dispatched 05-31 23:59:59 (outside); r1 06-02 returned, odometer 5,000 -> 5,024; r2 06-03
evaluated without odometer readings, served by B's b1; r3 06-05 cancelled after dispatch; r4 06-30 23:59 under way;
r5 07-01 00:00 (outside); r6 approved, never dispatched. Unit B: r7 06-10 evaluated, 100 -> 120.5.
Alerts: A speeding red (acknowledged) and yellow on 06-03, off_hours yellow on 06-07, speeding on 05-31 and 07-01
(outside); B no_dispatch red on 06-10.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import openpyxl
import psycopg
import pytest

from api.access.users import create_user
from db import ingest
from db.pool import open_pool
from db.registry import import_document
from domain.position import Position
from domain.registry import Organisation, RegistryDocument, Vehicle
from tests.support.api import PASSWORD, AsUser, audit_rows
from tests.support.files import csv_body
from tests.support.rollups import settle_mileage
from tests.support.tracks import SHANGHAI, T0, Day, of_vehicle, two_drives
from worker.mileage import Basis
from yiwang.settings import Settings

JUNE = {"start": "2025-06-01", "end": "2025-07-01"}

Headers = dict[str, str]


def local(month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2025, month, day, hour, minute, second, tzinfo=SHANGHAI)


def at(day: Day, start: datetime) -> list[Position]:
    """The day's fixes moved to begin at `start` (a Day begins at T0)."""
    shift = start - T0
    return [f._replace(time=f.time + shift, received_at=f.received_at + shift) for f in day.fixes]


def drive(km: int, kmh: float, odometer_km: float) -> Day:
    """Parked 10 minutes, a minute idling, `km` north, a minute idling, parked 10 minutes."""
    return Day(odometer_km).park(600).idle(60).drive(km * 1000, kmh).idle(60).park(600)


@dataclass(frozen=True)
class Fleet:
    a: str
    b: str
    a0: str
    a1: str
    b0: str
    b1: str


async def _requests(conn: psycopg.AsyncConnection, fleet: Fleet, requester: int) -> None:
    drivers = {}
    for key, org in (("dA", fleet.a), ("dA2", fleet.a), ("dB", fleet.b)):
        cur = await conn.execute(
            "INSERT INTO driver (organisation_id, name, licence_class) VALUES (%s, %s, 'C1') RETURNING id",
            (org, f"驾驶员 {key}"),
        )
        row = await cur.fetchone()
        assert row is not None
        drivers[key] = row[0]

    async def request(
        org: str, state: str, dispatched: datetime | None, vehicle: str | None, driver: str | None, *,
        departure: float | None = None, back: float | None = None,
    ) -> None:  # fmt: skip
        wanted = dispatched or local(6, 15, 9)
        done = state in ("returned", "evaluated")
        await conn.execute(
            """INSERT INTO trip_request (organisation_id, requested_by, purpose, passengers, origin, destination,
                   wanted_start, wanted_end, state, vehicle_id, driver_id, submitted_at, approved_at, dispatched_at,
                   departed_at, returned_at, cancelled_at, evaluated_at, departure_odometer_km, return_odometer_km,
                   evaluation_score)
               VALUES (%s, %s, '公务', 2, '市政府', '高铁站', %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,
                       %s)""",
            (
                org, requester, wanted, wanted + timedelta(hours=2), state, vehicle,
                None if driver is None else drivers[driver], wanted - timedelta(days=1), wanted - timedelta(hours=1),
                dispatched, dispatched if state in ("under_way", "returned", "evaluated") else None,
                wanted + timedelta(hours=3) if done else None,
                wanted + timedelta(minutes=30) if state == "cancelled" else None,
                wanted + timedelta(hours=4) if state == "evaluated" else None,
                departure, back, 5 if state == "evaluated" else None,
            ),
        )  # fmt: skip

    await request(fleet.a, "returned", local(5, 31, 23, 59, 59), fleet.a0, "dA", departure=4_900.0, back=4_950.0)  # r0
    await request(fleet.a, "returned", local(6, 2, 10), fleet.a0, "dA", departure=5_000.0, back=5_024.0)  # r1
    await request(fleet.a, "evaluated", local(6, 3, 9), fleet.b1, "dA2")  # r2
    await request(fleet.a, "cancelled", local(6, 5, 9), fleet.a0, "dA")  # r3
    await request(fleet.a, "under_way", local(6, 30, 23, 59), fleet.a0, "dA", departure=5_100.0)  # r4
    await request(fleet.a, "returned", local(7, 1), fleet.a1, "dA2", departure=6_000.0, back=6_010.0)  # r5
    await request(fleet.a, "approved", None, None, None)  # r6
    await request(fleet.b, "evaluated", local(6, 10, 8), fleet.b0, "dB", departure=100.0, back=120.5)  # r7


async def _alerts(conn: psycopg.AsyncConnection, fleet: Fleet, requester: int) -> None:
    for vehicle, org, kind, level, time, acknowledged in (
        (fleet.a0, fleet.a, "speeding", "red", local(6, 3, 10, 10), True),
        (fleet.a0, fleet.a, "speeding", "yellow", local(6, 3, 10, 20), False),
        (fleet.a1, fleet.a, "off_hours", "yellow", local(6, 7, 20), False),
        (fleet.a0, fleet.a, "speeding", "red", local(5, 31, 23, 59), False),
        (fleet.a0, fleet.a, "speeding", "red", local(7, 1, 0, 0, 1), False),
        (fleet.b0, fleet.b, "no_dispatch", "red", local(6, 10, 8, 5), False),
    ):
        await conn.execute(
            """INSERT INTO alert (vehicle_id, organisation_id, kind, level, time, received_at, detail, acknowledged_at,
                                  acknowledged_by, note)
               VALUES (%s, %s, %s, %s, %s, %s, 'test', %s, %s, %s)""",
            (vehicle, org, kind, level, time, time, time if acknowledged else None,
             requester if acknowledged else None, "已核实" if acknowledged else None),
        )  # fmt: skip


@pytest.fixture
async def fleet(api_settings: Settings, tag: str) -> Fleet:
    fleet = Fleet(f"org-{tag}-a", f"org-{tag}-b", f"{tag}-a0", f"{tag}-a1", f"{tag}-b0", f"{tag}-b1")
    document = RegistryDocument(
        organisations=[Organisation(id=fleet.a, name=f"甲单位 {tag}"), Organisation(id=fleet.b, name=f"乙单位 {tag}")],
        vehicles=[
            Vehicle(id=v, organisation_id=org, plate=f"赣H·{v}", energy=energy)  # type: ignore[arg-type]
            for v, org, energy in (
                (fleet.a0, fleet.a, "battery_electric"),
                (fleet.a1, fleet.a, "gasoline"),
                (fleet.b0, fleet.b, "plug_in_hybrid"),
                (fleet.b1, fleet.b, "diesel"),
            )
        ],
    )
    async with await psycopg.AsyncConnection.connect(api_settings.database_url) as conn:
        await import_document(conn, document)
        requester = await create_user(conn, f"requester-{tag}", PASSWORD, "unit_user", [fleet.a])
    async with await psycopg.AsyncConnection.connect(api_settings.database_url) as conn:
        # Put into service: a0 and b0 (new energy) and b1 (diesel) in June, a1 the year before.
        for vehicle, day in ((fleet.a0, "2025-06-12"), (fleet.a1, "2024-03-01"), (fleet.b0, "2025-06-20"),
                             (fleet.b1, "2025-06-05")):  # fmt: skip
            await conn.execute("UPDATE vehicle SET in_service_on = %s WHERE id = %s", (day, vehicle))
        await _requests(conn, fleet, requester)
        await _alerts(conn, fleet, requester)
        await conn.commit()
    tracks: Sequence[tuple[str, list[Position]]] = (
        (fleet.a0, at(two_drives(), local(6, 3, 9))),
        (fleet.a0, at(Day(60_000.0).park(300).idle(10).drive(6_000, 36).idle(30).park(600), local(6, 30, 23, 50))),
        (fleet.a1, at(drive(10, 36, 30_000.0), local(6, 3, 14))),
        (fleet.a1, at(drive(5, 36, 29_990.0), local(5, 31, 14))),  # stored after June's: a late upload
        (fleet.b0, at(drive(20, 60, 80_000.0), local(6, 10, 8))),
        (fleet.b1, at(Day().park(3 * 3600), local(6, 10, 8))),
    )
    async with open_pool(api_settings.database_url, max_size=2, configure=ingest.prepare_connection) as pool:
        for vehicle, fixes in tracks:
            async with pool.connection() as conn, conn.transaction():
                await ingest.insert_positions(conn, of_vehicle(vehicle, fixes))
        await settle_mileage(pool, Basis.of(api_settings), [fleet.a0, fleet.a1, fleet.b0, fleet.b1])
    return fleet


async def get(client: httpx.AsyncClient, path: str, headers: Headers, **params: str) -> Any:
    response = await client.get(path, params={**JUNE, **params}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


NO_ALERTS = {
    "speeding": 0, "off_hours": 0, "no_dispatch": 0, "area_exit": 0, "parking": 0, "silent": 0, "emergency": 0,
    "gnss_antenna": 0, "power_cut": 0, "terminal_overspeed": 0, "fatigue": 0, "area_entry": 0,
}  # fmt: skip
UNIT_A = {
    "dispatches": 4,  # r1-r4
    "completed": 2,  # r1, r2
    "cancelled": 1,  # r3
    "dispatch_km": 24.0,  # r1; r2 has no readings, r4 is under way
    "completed_without_odometer": 1,
    "vehicles": 2,
    "new_energy_vehicles": 1,
    "new_energy_share": 0.5,
    "km": 40.0,  # a0 30 + a1 10
    "new_energy_km": 30.0,
    "new_energy_km_share": 0.75,
    "purchased": 1,  # a0
    "new_energy_purchased": 1,
    "new_energy_purchase_share": 1.0,
    "trips": 4,
    "vehicle_days_used": 3,
    "utilisation": 0.05,  # 3 / (2 x 30)
    "moving_hours": 1.06,  # 0.76 + 0.30
    "alerts": {**NO_ALERTS, "speeding": 2, "off_hours": 1},
    "alerts_total": 3,
}
UNIT_B = {
    "dispatches": 1,
    "completed": 1,
    "cancelled": 0,
    "dispatch_km": 20.5,
    "completed_without_odometer": 0,
    "vehicles": 2,
    "new_energy_vehicles": 1,
    "new_energy_share": 0.5,
    "km": 20.0,
    "new_energy_km": 20.0,
    "new_energy_km_share": 1.0,
    "purchased": 2,  # b0, b1
    "new_energy_purchased": 1,
    "new_energy_purchase_share": 0.5,
    "trips": 1,
    "vehicle_days_used": 1,
    "utilisation": 0.0167,  # 1 / 60
    "moving_hours": 0.35,
    "alerts": {**NO_ALERTS, "no_dispatch": 1},
    "alerts_total": 1,
}
TOTAL = {
    "dispatches": 5,
    "completed": 3,
    "cancelled": 1,
    "dispatch_km": 44.5,
    "completed_without_odometer": 1,
    "vehicles": 4,
    "new_energy_vehicles": 2,
    "new_energy_share": 0.5,
    "km": 60.0,
    "new_energy_km": 50.0,
    "new_energy_km_share": 0.8333,
    "purchased": 3,
    "new_energy_purchased": 2,
    "new_energy_purchase_share": 0.6667,
    "trips": 5,
    "vehicle_days_used": 4,
    "utilisation": 0.0333,  # 4 / 120
    "moving_hours": 1.41,
    "alerts": {**NO_ALERTS, "speeding": 2, "off_hours": 1, "no_dispatch": 1},
    "alerts_total": 4,
}


def figures(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if not k.startswith("organisation_")}


async def test_the_hand_computed_june_per_unit_and_in_total(
    client: httpx.AsyncClient, as_user: AsUser, fleet: Fleet
) -> None:
    both = await as_user("unit_user", fleet.a, fleet.b)
    body = await get(client, "/reports/dispatch", both)
    assert (body["start"], body["end"], body["days"], body["zone"]) == ("2025-06-01", "2025-07-01", 30, "Asia/Shanghai")
    units = {u["organisation_id"]: u for u in body["units"]}
    assert list(units) == [fleet.a, fleet.b]
    assert figures(units[fleet.a]) == UNIT_A
    assert figures(units[fleet.b]) == UNIT_B
    assert units[fleet.a]["organisation_kind"] == "unit"
    assert body["total"] == TOTAL
    assert body["alerts"] == [
        {"organisation_id": fleet.a, "kind": "off_hours", "yellow": 1, "red": 0, "unacknowledged": 1},
        {"organisation_id": fleet.a, "kind": "speeding", "yellow": 1, "red": 1, "unacknowledged": 1},
        {"organisation_id": fleet.b, "kind": "no_dispatch", "yellow": 0, "red": 1, "unacknowledged": 1},
    ]
    # The dispatch centre sees every unit: the same rows among the city's.
    dispatcher = await as_user("dispatcher")
    city = {u["organisation_id"]: u for u in (await get(client, "/reports/dispatch", dispatcher))["units"]}
    assert (city[fleet.a], city[fleet.b]) == (units[fleet.a], units[fleet.b])
    only_b = await get(client, "/reports/dispatch", dispatcher, organisation_id=fleet.b)
    assert [u["organisation_id"] for u in only_b["units"]] == [fleet.b]
    assert only_b["total"] == UNIT_B


async def test_each_vehicles_kilometres_use_and_dispatches(
    client: httpx.AsyncClient, as_user: AsUser, fleet: Fleet
) -> None:
    dispatcher = await as_user("dispatcher")
    found = {}
    for org in (fleet.a, fleet.b):
        found |= {v["vehicle_id"]: v for v in (await get(client, "/reports/vehicles", dispatcher, organisation_id=org))[
            "vehicles"]}  # fmt: skip
    assert list(found) == [fleet.a0, fleet.a1, fleet.b0, fleet.b1]
    keys = ("km", "odometer_km", "trips", "days_used", "days_reporting", "utilisation", "moving_hours",
            "km_per_day_used", "max_speed", "dispatches", "dispatch_km", "new_energy")  # fmt: skip
    assert {v: tuple(row[k] for k in keys) for v, row in found.items()} == {
        # 06-03 and 06-30 (its fixes after midnight are July's); r1, r3, r4 dispatched to it, r1 returned
        fleet.a0: (30.0, 30.0, 3, 2, 2, 0.0667, 0.76, 15.0, 54.0, 3, 24.0, True),
        fleet.a1: (10.0, 10.0, 1, 1, 1, 0.0333, 0.3, 10.0, 36.0, 0, 0.0, False),
        fleet.b0: (20.0, 20.0, 1, 1, 1, 0.0333, 0.35, 20.0, 60.0, 1, 20.5, True),
        fleet.b1: (0.0, 0.0, 0, 0, 1, 0.0, 0.0, None, None, 1, 0.0, False),  # r2, A's request, served by it
    }
    assert found[fleet.a0]["energy"] == "battery_electric"
    assert found[fleet.a0]["organisation_id"] == fleet.a


async def test_a_unit_user_sees_only_their_units_figures(
    client: httpx.AsyncClient, as_user: AsUser, fleet: Fleet
) -> None:
    unit_a = await as_user("unit_user", fleet.a)
    body = await get(client, "/reports/dispatch", unit_a)
    assert [u["organisation_id"] for u in body["units"]] == [fleet.a]
    assert body["total"] == UNIT_A
    assert {a["organisation_id"] for a in body["alerts"]} == {fleet.a}
    vehicles = await get(client, "/reports/vehicles", unit_a)
    assert [v["vehicle_id"] for v in vehicles["vehicles"]] == [fleet.a0, fleet.a1]
    # Asking for the other unit finds nothing at all.
    other = await get(client, "/reports/dispatch", unit_a, organisation_id=fleet.b)
    assert (other["units"], other["alerts"], other["total"]["km"], other["total"]["dispatches"]) == ([], [], 0, 0)
    assert (await get(client, "/reports/vehicles", unit_a, organisation_id=fleet.b))["vehicles"] == []
    response = await client.get("/exports/dispatch.csv", params={**JUNE, "view": "vehicles"}, headers=unit_a)
    assert response.status_code == 200, response.text
    assert [r["vehicle_id"] for r in csv.DictReader(io.StringIO(csv_body(response.text)))] == [fleet.a0, fleet.a1]
    # Unit B's b1 served A's request r2: B does not see A's request in b1's count.
    unit_b = await as_user("unit_user", fleet.b)
    b1 = next(v for v in (await get(client, "/reports/vehicles", unit_b))["vehicles"] if v["vehicle_id"] == fleet.b1)
    assert b1["dispatches"] == 0


async def test_who_may_read_the_reports_and_an_auditors_reads_are_recorded(
    client: httpx.AsyncClient, as_user: AsUser, fleet: Fleet, api_settings: Settings
) -> None:
    staff = await as_user("energy_staff")
    for path in ("/reports/dispatch", "/reports/vehicles", "/exports/dispatch.xlsx", "/exports/dispatch.csv"):
        assert (await client.get(path, params=JUNE, headers=staff)).status_code == 403, path
    auditor = await as_user("auditor")
    me = (await client.get("/users/me", headers=auditor)).json()
    assert (await get(client, "/reports/dispatch", auditor, organisation_id=fleet.a))["total"] == UNIT_A
    [entry] = audit_rows(api_settings.database_url, "user_id = %s AND endpoint = '/reports/dispatch'", (me["id"],))
    assert (entry["action"], entry["outcome"], entry["params"]) == (
        "reports:read",
        "ok",
        {**JUNE, "organisation_id": fleet.a},
    )
    response = await client.get(
        "/reports/dispatch", params={"start": "2025-07-01", "end": "2025-06-01"}, headers=auditor
    )
    assert response.status_code == 422
    assert "end must be after start" in response.text


async def test_the_xlsx_and_csv_hold_the_apis_figures(client: httpx.AsyncClient, as_user: AsUser, fleet: Fleet) -> None:
    both = await as_user("unit_user", fleet.a, fleet.b)
    response = await client.get("/exports/dispatch.xlsx", params=JUNE, headers=both)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "dispatch-2025-06-01-2025-07-01.xlsx" in response.headers["content-disposition"]
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["单位用车统计", "车辆里程与使用率", "单位告警统计", "说明"]
    sheet = book["单位用车统计"]
    header = [c.value for c in sheet[1]]
    lines = [dict(zip(header, row, strict=True)) for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert [line["单位编号"] for line in lines] == [fleet.a, fleet.b, None]
    a, b, total = lines
    assert (a["派车次数"], a["已还车"], a["派车里程（km，里程表）"], a["行驶里程（km）"]) == (4, 2, 24, 40)
    assert (a["新能源车辆占比"], a["新能源里程占比"], a["车辆使用率"], a["告警数"]) == (0.5, 0.75, 0.05, 3)
    assert (b["派车里程（km，里程表）"], b["新能源里程占比"], b["类型"]) == (20.5, 1, "单位")
    assert (total["新增车辆"], total["新增新能源车辆"], total["新增新能源占比"]) == (3, 2, 0.6667)
    assert (total["单位名称"], total["派车次数"], total["行驶里程（km）"], total["新能源里程占比"]) == (
        "合计",
        5,
        60,
        0.8333,
    )
    assert sheet.cell(2, header.index("新能源里程占比") + 1).number_format == "0.0%"
    assert sheet.freeze_panes == "A2"
    vehicles = list(book["车辆里程与使用率"].iter_rows(min_row=2, values_only=True))
    assert [(v[0], v[4], v[5], v[7].date().isoformat(), v[8]) for v in vehicles] == [
        (fleet.a0, "纯电动", "是", "2025-06-12", 30),
        (fleet.a1, "汽油", "否", "2024-03-01", 10),
        (fleet.b0, "插电式混合动力", "是", "2025-06-20", 20),
        (fleet.b1, "柴油", "否", "2025-06-05", 0),
    ]
    alerts = list(book["单位告警统计"].iter_rows(min_row=2, values_only=True))
    assert [(r[0], r[2], r[5]) for r in alerts] == [(fleet.a, "非工作时间用车", 1), (fleet.a, "超速", 2),
                                                    (fleet.b, "无派车单行驶", 1)]  # fmt: skip

    english = await client.get("/exports/dispatch.xlsx", params={**JUNE, "language": "en"}, headers=both)
    book = openpyxl.load_workbook(io.BytesIO(english.content))
    assert book.sheetnames == ["Units", "Vehicles", "Alerts", "About this file"]
    assert [c.value for c in book["Units"][1]][:4] == ["Unit id", "Unit", "Kind", "Dispatches"]
    assert book["Units"].cell(4, 2).value == "Total"

    units = await client.get("/exports/dispatch.csv", params=JUNE, headers=both)
    assert units.status_code == 200, units.text
    assert units.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(csv_body(units.text))))
    assert [(r["organisation_id"], r["dispatches"], r["km"], r["new_energy_km_share"]) for r in table] == [
        (fleet.a, "4", "40.0", "0.75"),
        (fleet.b, "1", "20.0", "1.0"),
        ("", "5", "60.0", "0.8333"),
    ]
