"""The geofence report through the API: entries, exits and hours inside per vehicle and area from stored positions,
within the user's scope, as JSON, XLSX and CSV."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx

from db import ingest
from db.pool import open_pool
from domain.geo import EARTH_RADIUS_M
from domain.position import Position
from tests.support.api import AsUser, Units
from tests.support.files import csv_body, sheet_rows
from yiwang.settings import Settings

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = datetime(2025, 5, 13, tzinfo=SHANGHAI)  # a Tuesday no other test's positions use
LAT, LON = 29.3005, 117.25
PERIOD = {"start": "2025-05-13", "end": "2025-05-14"}


def north(metres: float) -> float:
    return LAT + metres / (EARTH_RADIUS_M * 3.141592653589793 / 180)


async def store(settings: Settings, fixes: list[Position]) -> None:
    async with (
        open_pool(settings.database_url, max_size=1, configure=ingest.prepare_connection) as pool,
        pool.connection() as conn,
        conn.transaction(),
    ):
        await ingest.insert_positions(conn, fixes)


async def test_the_geofence_report_counts_entries_exits_and_time_inside_within_scope(
    api_settings: Settings, client: httpx.AsyncClient, as_user: AsUser, units: Units
) -> None:
    staff = await as_user("dispatcher")
    school = await client.post(
        "/areas",
        json={"name": "学校", "kind": "forbidden", "organisation_id": units.a.organisation, "radius_m": 300,
              "geometry": {"type": "Point", "coordinates": [LON, LAT]}},
        headers=staff,
    )  # fmt: skip
    assert school.status_code == 201, school.text
    area_id = school.json()["id"]
    # Unit A's vehicle: in at 10:01, out at 10:05 (four minutes inside), in again at 11:00 until 11:30 (the last fix
    # inside, then out at 11:31): 35 minutes in all.
    vehicle = units.a.vehicles[0]
    metres = {0: 1000, 1: 100, 2: 0, 3: 50, 4: 200, 5: 900, 60: 100, 90: 0, 91: 2000}
    fixes = [Position(vehicle, DAY + timedelta(hours=10, minutes=m), DAY + timedelta(hours=10, minutes=m), north(d),
                      LON, 30.0, 0.0, True) for m, d in metres.items()]  # fmt: skip
    # Unit B's vehicle drives through the same place: not unit B's area, and not shown to unit A's users.
    other = units.b.vehicles[0]
    fixes += [Position(other, f.time, f.received_at, f.latitude, f.longitude, 30.0, 0.0, True) for f in fixes]
    await store(api_settings, fixes)

    report = await client.get("/reports/geofences", params=PERIOD, headers=staff)
    assert report.status_code == 200, report.text
    rows = [r for r in report.json()["rows"] if r["area_id"] == area_id]
    assert [(r["vehicle_id"], r["entries"], r["exits"], r["hours_inside"], r["inside_at_start"]) for r in rows] == [
        (vehicle, 2, 2, round(35 / 60, 3), False)
    ]
    unit_b = await as_user("unit_user", units.b.organisation)
    seen_by_b = (await client.get("/reports/geofences", params=PERIOD, headers=unit_b)).json()["rows"]
    assert [r for r in seen_by_b if r["area_id"] == area_id] == []

    xlsx = await client.get("/exports/geofences.xlsx", params={**PERIOD, "area_id": area_id}, headers=staff)
    assert xlsx.status_code == 200, xlsx.text
    table = sheet_rows(xlsx.content)
    assert table[0][:3] == ["车辆编号", "车牌号", "单位编号"]
    assert table[1][0] == vehicle
    assert table[1][6:9] == [2, 2, round(35 / 60, 3)]
    text = await client.get("/exports/geofences.csv", params={**PERIOD, "area_id": area_id, "provenance": "false",
                                                               "header": "key"}, headers=staff)  # fmt: skip
    assert text.status_code == 200, text.text
    lines = list(csv.DictReader(io.StringIO(csv_body(text.text))))
    assert [(r["vehicle_id"], r["entries"], r["area_kind"]) for r in lines] == [(vehicle, "2", "禁入区域")]
    too_long = await client.get("/reports/geofences", params={"start": "2025-05-01", "end": "2025-07-01"},
                                headers=staff)  # fmt: skip
    assert too_long.status_code == 422
