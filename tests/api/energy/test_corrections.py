"""Staff correct a meter's day after a spike: the day, its month, its year, the indicators, the rankings and the XLSX
and CSV show the corrected figure, marked; what the readings counted stays beside it; a recount keeps the correction;
withdrawing it gives the original back; the audit log has every change; another unit can neither correct nor read it.

One electricity meter read at every local midnight of 2025 (10 kWh a day) and a spike on 10 February: the register
jumped by 5,000 kWh that day (a misread the meter kept), so the readings count 5,010 kWh for the day and 8,650 for the
year, where staff know it used 10 and 3,650.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import openpyxl
import pytest
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from api.energy import corrections
from api.energy.corrections import CorrectionSet
from api.errors import NotFound
from db import ingest
from db.pool import open_pool
from db.registry import import_document
from db.scope import Scope
from domain.registry import InstitutionYear, RegistryDocument
from tests.support.api import AddUser, AsUser, Units, bearer, login
from tests.support.files import csv_body
from tests.support.registry import register_devices
from tests.support.rollups import ZONE, settle
from worker import rollup
from yiwang.settings import Settings

SHANGHAI = ZoneInfo("Asia/Shanghai")
SPIKE = date(2025, 2, 10)
YEAR = {"start": "2025-01-01", "end": "2026-01-01"}
KGCE = Decimal("0.1229")  # electricity, kgce/kWh (db/migrations/0006)


def register(day: date) -> float:
    """The register at the local midnight that starts `day`: 10 a day, and 5,000 more from the day after the spike."""
    return 10.0 * (day - date(2025, 1, 1)).days + (5_000.0 if day > SPIKE else 0.0)


def midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=SHANGHAI)


async def _day(pool: AsyncConnectionPool[AsyncConnection], meter_id: str, day: date) -> tuple[Any, ...] | None:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT amount, original, (SELECT sum(h) FROM unnest(hours) h) FROM consumption_day "
            "WHERE meter_id = %s AND day = %s",
            (meter_id, day),
        )
        return await cur.fetchone()


def _amount(row: dict[str, Any], energy_type: str = "electricity") -> dict[str, Any]:
    [found] = [c for c in row["consumption"] if c["energy_type"] == energy_type]
    return found


@pytest.fixture
async def spiked(api_settings: Settings, tag: str) -> tuple[str, str, str]:
    """(organisation, institution, meter) with a year of readings and the spike, counted."""
    devices = await register_devices(api_settings.database_url, tag, meters=1, vehicles=0)
    institution, meter_id = f"inst-{tag}", devices.meters[0]
    async with open_pool(api_settings.database_url, max_size=1, configure=ingest.prepare_connection) as pool:
        async with pool.connection() as conn, conn.transaction():
            await import_document(
                conn,
                RegistryDocument(
                    institution_years=[
                        InstitutionYear(institution_id=institution, year=2025, floor_area_m2=1000, headcount=20)
                    ]
                ),
            )
            days = [date(2025, 1, 1) + timedelta(days=n) for n in range(366)]  # to 2026-01-01
            await ingest.insert_readings(conn, [(meter_id, midnight(d), register(d), datetime.now(UTC)) for d in days])
        await settle(pool, [meter_id])
    return devices.organisation, institution, meter_id


async def test_a_spike_day_corrected_shows_everywhere_marked_survives_a_recount_and_withdraws(
    api_settings: Settings,
    client: httpx.AsyncClient,
    add_user: AddUser,
    spiked: tuple[str, str, str],
) -> None:
    _, institution, meter_id = spiked
    name = await add_user("energy_staff")
    staff = bearer((await login(client, name))["access_token"])
    url = f"/energy/corrections/{meter_id}"

    async def series(step: str, start: str, end: str) -> list[dict[str, Any]]:
        response = await client.get(
            "/energy/consumption",
            params={"meter_id": meter_id, "step": step, "start": start, "end": end},
            headers=staff,
        )
        assert response.status_code == 200, response.text
        [found] = response.json()["series"]
        return list(found["points"])

    async def year_row() -> dict[str, Any]:
        response = await client.get("/energy/indicators", params={**YEAR, "institution_id": institution}, headers=staff)
        assert response.status_code == 200, response.text
        [row] = response.json()["rows"]
        return dict(row["current"])

    before = await year_row()
    assert Decimal(_amount(before)["amount"]) == 8_650
    assert (before["corrected_days"], _amount(before)["corrected_days"]) == (0, 0)

    body = {"day": SPIKE.isoformat(), "amount": "10", "reason": "读数跳变：互感器接线松动后误读"}
    response = await client.put(url, json=body, headers=staff)
    assert response.status_code == 200, response.text
    made = response.json()
    assert (Decimal(made["amount"]), Decimal(made["original"]), made["applied"]) == (10, 5_010, True)
    assert (made["unit"], made["corrected_by_name"], made["withdrawn_at"]) == ("kWh", name, None)

    # The day, its month and its year: the corrected figure, marked; the other days and months untouched.
    days = await series("day", "2025-02-09", "2025-02-12")
    assert [(Decimal(p["amount"]), p["corrected_days"]) for p in days] == [(10, 0), (10, 1), (10, 0)]
    hours = await series("hour", "2025-02-10", "2025-02-11")
    assert sum(Decimal(p["amount"]) for p in hours) == 10  # its hours still sum to the day
    assert {p["corrected_days"] for p in hours} == {1}
    months = await series("month", "2025-01-01", "2025-04-01")
    assert [(Decimal(p["amount"]), p["corrected_days"]) for p in months] == [(310, 0), (280, 1), (310, 0)]
    [year] = await series("year", "2025-01-01", "2026-01-01")
    assert (Decimal(year["amount"]), year["corrected_days"]) == (3_650, 1)

    # Every figure derived from it: kgce, carbon, the ratios; each says it holds a corrected day.
    after = await year_row()
    assert (Decimal(_amount(after)["amount"]), _amount(after)["corrected_days"]) == (3_650, 1)
    assert after["corrected_days"] == 1
    assert Decimal(after["energy_kgce"]) == 3_650 * KGCE == Decimal("448.585")
    assert Decimal(after["energy_per_area"]) == (3_650 * KGCE / 1000).quantize(Decimal("0.0001"))
    factor = Decimal(after["carbon_tco2"]) * 1000 / 3_650  # the electricity carbon factor applied, kgCO2/kWh
    assert Decimal(before["carbon_tco2"]) == (8_650 * factor / 1000).quantize(Decimal("0.000001"))
    ranking = {**YEAR, "institution_id": institution, "indicator": "energy_per_area"}
    response = await client.get("/energy/rankings", params=ranking, headers=staff)
    assert response.status_code == 200, response.text
    [ranked] = response.json()["items"]
    assert (Decimal(ranked["value"]), ranked["corrected_days"]) == (Decimal(after["energy_per_area"]), 1)
    # An electricity correction is in no water figure: the water ranking does not carry its mark.
    response = await client.get("/energy/rankings", params={**ranking, "indicator": "water_per_capita"}, headers=staff)
    assert response.status_code == 200, response.text
    assert [item["corrected_days"] for item in response.json()["items"]] == [0]

    # The XLSX and the CSV: the corrected figures and the mark.
    response = await client.get("/exports/energy.xlsx", params={**YEAR, "institution_id": institution}, headers=staff)
    assert response.status_code == 200, response.text
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    sheet = book["单位能耗指标"]
    header = [c.value for c in sheet[1]]
    row = dict(zip(header, [c.value for c in sheet[2]], strict=True))
    assert Decimal(str(row["用电量（kWh）"])) == 3_650
    assert Decimal(str(row["综合能耗（kgce）"])) == Decimal("448.585")
    assert row["人工修正（表·日）"] == 1
    by_month = book["逐月能耗"]
    month_header = [c.value for c in by_month[1]]
    february = dict(zip(month_header, [c.value for c in by_month[3]], strict=True))
    assert (february["用电量（kWh）"], february["人工修正（表·日）"]) == (280, 1)
    response = await client.get(
        "/exports/energy.csv", params={**YEAR, "institution_id": institution, "view": "monthly"}, headers=staff
    )
    assert response.status_code == 200, response.text
    rows = list(csv.DictReader(io.StringIO(csv_body(response.text))))
    assert [(Decimal(r["electricity_kwh"]), r["corrected_days"]) for r in rows[:3]] == [
        (310, "0"),
        (280, "1"),
        (310, "0"),
    ]

    async with open_pool(api_settings.database_url, max_size=1, configure=ingest.prepare_connection) as pool:
        assert await _day(pool, meter_id, SPIKE) == (Decimal(10), Decimal(5_010), Decimal(10))
        # A late reading inside the day recounts it from the day's start; `yiwang energy rebuild` recounts every
        # meter from its first reading. The correction applies after both, the original beside it.
        async with pool.connection() as conn, conn.transaction():
            noon = midnight(SPIKE) + timedelta(hours=12)
            await ingest.insert_readings(conn, [(meter_id, noon, register(SPIKE) + 5.0, datetime.now(UTC))])
        await settle(pool, [meter_id])
        assert await _day(pool, meter_id, SPIKE) == (Decimal(10), Decimal(5_010), Decimal(10))
        assert await rollup.rebuild(pool, ZONE) >= 1
        assert await _day(pool, meter_id, SPIKE) == (Decimal(10), Decimal(5_010), Decimal(10))
    assert [(Decimal(p["amount"]), p["corrected_days"]) for p in await series("month", "2025-02-01", "2025-03-01")] == [
        (280, 1)
    ]

    # Withdrawn: the readings' figure is back everywhere, and the correction stays listed, withdrawn.
    withdrawal = {"day": SPIKE.isoformat(), "reason": "复核：跳变属实，为空调检修用电"}
    response = await client.request("DELETE", url, json=withdrawal, headers=staff)
    assert response.status_code == 200, response.text
    assert (response.json()["withdrawn_by_name"], response.json()["applied"]) == (name, False)
    assert [(Decimal(p["amount"]), p["corrected_days"]) for p in await series("month", "2025-02-01", "2025-03-01")] == [
        (5_280, 0)
    ]
    restored = await year_row()
    assert (Decimal(_amount(restored)["amount"]), restored["corrected_days"]) == (8_650, 0)
    assert restored["energy_kgce"] == before["energy_kgce"]
    response = await client.request("DELETE", url, json=withdrawal, headers=staff)
    assert response.status_code == 404, response.text

    listed = await client.get("/energy/corrections", params={"meter_id": meter_id}, headers=staff)
    assert listed.status_code == 200, listed.text
    [item] = listed.json()
    assert (Decimal(item["amount"]), Decimal(item["original"]), item["applied"]) == (10, 5_010, False)
    assert (item["reason"], item["withdrawn_reason"]) == (body["reason"], withdrawal["reason"])
    assert item["corrected_at"] <= item["withdrawn_at"]

    # A day no reading brackets has no figure to correct.
    response = await client.put(url, json={**body, "day": "2026-06-01"}, headers=staff)
    assert response.status_code == 404, response.text
    assert "no counted day 2026-06-01" in response.json()["detail"]

    async with await AsyncConnection.connect(api_settings.database_url) as conn:
        cur = await conn.execute(
            "SELECT method, user_name, params->>'amount', params->>'reason', outcome FROM audit_log "
            "WHERE %s = ANY(resource_ids) ORDER BY id",
            (meter_id,),
        )
        assert await cur.fetchall() == [
            ("PUT", name, "10", body["reason"], "ok"),
            ("DELETE", name, None, withdrawal["reason"], "ok"),
            ("DELETE", name, None, withdrawal["reason"], "not_found"),
            ("PUT", name, "10", body["reason"], "not_found"),
        ]


async def test_correcting_a_day_again_replaces_the_correction_and_keeps_the_first_listed(
    client: httpx.AsyncClient, as_user: AsUser, spiked: tuple[str, str, str]
) -> None:
    _, _, meter_id = spiked
    staff = await as_user("energy_staff")
    url = f"/energy/corrections/{meter_id}"
    first = {"day": SPIKE.isoformat(), "amount": "12.5", "reason": "估算"}
    second = {"day": SPIKE.isoformat(), "amount": "9.75", "reason": "按同期日均复核"}
    assert (await client.put(url, json=first, headers=staff)).status_code == 200
    assert (await client.put(url, json=second, headers=staff)).status_code == 200
    response = await client.get(
        "/energy/consumption",
        params={"meter_id": meter_id, "step": "month", "start": "2025-02-01", "end": "2025-03-01"},
        headers=staff,
    )
    [point] = response.json()["series"][0]["points"]
    assert (Decimal(point["amount"]), point["corrected_days"]) == (Decimal("279.75"), 1)
    listed = (await client.get("/energy/corrections", params={"meter_id": meter_id}, headers=staff)).json()
    assert [(i["amount"], i["applied"], i["withdrawn_reason"] is not None) for i in listed] == [
        ("9.75", True, False),
        ("12.5", False, True),
    ]
    applying = (
        await client.get("/energy/corrections", params={"meter_id": meter_id, "withdrawn": "false"}, headers=staff)
    ).json()
    assert [i["amount"] for i in applying] == ["9.75"]
    # Negative, finer than the millionth, or without a reason: refused before anything is stored.
    for bad in ({**second, "amount": "-1"}, {**second, "amount": "1.0000001"}, {**second, "reason": ""}):
        assert (await client.put(url, json=bad, headers=staff)).status_code == 422


async def test_a_user_of_another_unit_can_neither_correct_nor_read_a_units_meter(
    api_settings: Settings, client: httpx.AsyncClient, as_user: AsUser, add_user: AddUser, units: Units
) -> None:
    victim = units.a.meters[0]
    async with open_pool(api_settings.database_url, max_size=1, configure=ingest.prepare_connection) as pool:
        async with pool.connection() as conn, conn.transaction():
            await ingest.insert_readings(
                conn, [(victim, midnight(SPIKE + timedelta(days=n)), 100.0 + n, datetime.now(UTC)) for n in range(2)]
            )
        await settle(pool, [victim])
    staff = await as_user("energy_staff")
    body = {"day": SPIKE.isoformat(), "amount": "0.5", "reason": "核实"}
    url = f"/energy/corrections/{victim}"
    assert (await client.put(url, json=body, headers=staff)).status_code == 200

    attacker = await as_user("unit_user", units.b.organisation)
    assert (await client.put(url, json={**body, "amount": "999"}, headers=attacker)).status_code == 403
    withdrawal = {"day": body["day"], "reason": "x"}
    assert (await client.request("DELETE", url, json=withdrawal, headers=attacker)).status_code == 403
    response = await client.get("/energy/corrections", params={"meter_id": victim}, headers=attacker)
    assert response.status_code == 404, response.text
    assert response.json()["detail"] == f"no meter {victim}"
    everything = await client.get("/energy/corrections", headers=attacker)
    assert everything.status_code == 200, everything.text
    assert all(i["meter_id"] not in units.a.meters for i in everything.json())
    # The unit's own user reads its meter's correction (but may not make one: staff do).
    owner = await as_user("unit_user", units.a.organisation)
    mine = await client.get("/energy/corrections", params={"meter_id": victim}, headers=owner)
    assert [(i["amount"], i["applied"]) for i in mine.json()] == [("0.5", True)]
    assert (await client.put(url, json=body, headers=owner)).status_code == 403

    # Below the permission, the scope: a writer limited to unit B is answered as if the meter did not exist.
    name = await add_user("energy_staff")
    async with await AsyncConnection.connect(api_settings.database_url) as conn:
        cur = await conn.execute("SELECT id FROM app_user WHERE name = %s", (name,))
        row = await cur.fetchone()
        assert row is not None
        with pytest.raises(NotFound, match=f"no meter {victim}"):
            await corrections.correct(
                conn, Scope(frozenset({units.b.organisation})), victim, CorrectionSet.model_validate(body), row[0]
            )
        cur = await conn.execute(
            "SELECT amount, original FROM consumption_day WHERE meter_id = %s AND day = %s", (victim, SPIKE)
        )
        assert await cur.fetchone() == (Decimal("0.5"), Decimal(1))
        cur = await conn.execute(
            "SELECT role, outcome FROM audit_log WHERE %s = ANY(resource_ids) ORDER BY id", (victim,)
        )
        # The staff's correction, and each refused attempt (the attacker's two, the owner's one).
        assert await cur.fetchall() == [("energy_staff", "ok")] + [("unit_user", "denied")] * 3
