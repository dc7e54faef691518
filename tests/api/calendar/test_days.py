"""The working calendar through the API: admins keep its holidays and make-up workdays, one day or a year at once,
audited; everyone reads it; the seeded 2026 schedule is the State Council's."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import psycopg
import pytest

from tests.support.api import AsUser, Units, audit_rows, person
from yiwang.settings import Settings

YEAR = 2998  # no other test's (the schema fuzzing writes 2999)


@pytest.fixture
async def clean_year(api_settings: Settings) -> AsyncIterator[None]:
    yield
    async with await psycopg.AsyncConnection.connect(api_settings.database_url, autocommit=True) as conn:
        await conn.execute("DELETE FROM calendar_day WHERE extract(year FROM day) = %s", (YEAR,))


@pytest.mark.usefixtures("clean_year")
async def test_an_admin_sets_reads_and_removes_a_day_and_each_change_is_audited(
    api_settings: Settings, client: httpx.AsyncClient, as_user: AsUser, units: Units
) -> None:
    admin = await person(client, as_user, "admin")
    day = f"{YEAR}-10-01"
    put = await client.put(f"/calendar/days/{day}", json={"kind": "holiday", "name": "国庆节"}, headers=admin.headers)
    assert put.status_code == 200, put.text
    assert {k: put.json()[k] for k in ("day", "kind", "name")} == {"day": day, "kind": "holiday", "name": "国庆节"}
    # Set again: replaced, not added.
    again = await client.put(f"/calendar/days/{day}", json={"kind": "workday", "name": "调休"}, headers=admin.headers)
    assert again.json()["kind"] == "workday"
    reader = await as_user("unit_user", units.a.organisation)
    listed = await client.get("/calendar/days", params={"start": f"{YEAR}-01-01", "end": f"{YEAR + 1}-01-01"},
                              headers=reader)  # fmt: skip
    assert [(d["day"], d["kind"], d["name"]) for d in listed.json()] == [(day, "workday", "调休")]
    assert (await client.get(f"/calendar/days/{day}", headers=reader)).json()["name"] == "调休"

    gone = await client.delete(f"/calendar/days/{day}", headers=admin.headers)
    assert gone.status_code == 204
    ordinary = await client.get(f"/calendar/days/{day}", headers=reader)
    assert ordinary.status_code == 404
    assert "no holiday and no make-up workday" in ordinary.json()["detail"]
    assert (await client.delete(f"/calendar/days/{day}", headers=admin.headers)).status_code == 404

    records = audit_rows(api_settings.database_url, "user_id = %s AND action = 'calendar:write'", (admin.id,))
    assert [(r["method"], r["resource_ids"], r["outcome"]) for r in records] == [
        ("PUT", [day], "ok"), ("PUT", [day], "ok"), ("DELETE", [day], "ok"), ("DELETE", [day], "not_found"),
    ]  # fmt: skip
    assert records[0]["params"] == {"kind": "holiday", "name": "国庆节"}


@pytest.mark.usefixtures("clean_year")
async def test_only_admins_change_the_calendar(
    api_settings: Settings, client: httpx.AsyncClient, as_user: AsUser
) -> None:
    body = {"kind": "holiday", "name": "假日"}
    for role in ("energy_staff", "dispatcher", "auditor"):
        staff = await person(client, as_user, role)
        refused = await client.put(f"/calendar/days/{YEAR}-05-01", json=body, headers=staff.headers)
        assert refused.status_code == 403, role
        year = await client.put(f"/calendar/years/{YEAR}", json={"days": []}, headers=staff.headers)
        assert year.status_code == 403, role
        [record, _] = audit_rows(api_settings.database_url, "user_id = %s AND action = 'calendar:write'", (staff.id,))
        assert record["outcome"] == "denied"
        assert (await client.get("/calendar/days", headers=staff.headers)).status_code == 200
    admin = await as_user("admin")
    assert (await client.get(f"/calendar/days/{YEAR}-05-01", headers=admin)).status_code == 404  # nothing was set


@pytest.mark.usefixtures("clean_year")
async def test_a_years_import_replaces_the_years_days_or_changes_nothing(
    api_settings: Settings, client: httpx.AsyncClient, as_user: AsUser
) -> None:
    admin = await as_user("admin")
    first = [
        {"day": f"{YEAR}-01-01", "kind": "holiday", "name": "元旦"},
        {"day": f"{YEAR}-02-01", "kind": "holiday", "name": "春节"},
        {"day": f"{YEAR}-02-07", "kind": "workday", "name": "春节调休"},
    ]
    done = await client.put(f"/calendar/years/{YEAR}", json={"days": first}, headers=admin)
    assert done.status_code == 200, done.text
    assert done.json()["removed"] == 0
    assert [(d["day"], d["kind"]) for d in done.json()["days"]] == [(d["day"], d["kind"]) for d in first]
    # The notice corrected: the Spring Festival moved; the year's days not listed become ordinary.
    second = [first[0], {"day": f"{YEAR}-02-02", "kind": "holiday", "name": "春节"}]
    done = await client.put(f"/calendar/years/{YEAR}", json={"days": second}, headers=admin)
    assert done.json()["removed"] == 2
    assert [d["day"] for d in done.json()["days"]] == [f"{YEAR}-01-01", f"{YEAR}-02-02"]

    for days, says in (
        ([*second, {"day": f"{YEAR + 1}-01-01", "kind": "holiday", "name": "元旦"}], f"{YEAR + 1}-01-01 not in {YEAR}"),
        ([*second, {"day": f"{YEAR}-02-02", "kind": "workday", "name": "x"}], "listed more than once"),
    ):
        refused = await client.put(f"/calendar/years/{YEAR}", json={"days": days}, headers=admin)
        assert refused.status_code == 422
        assert says in refused.json()["detail"]
    kept = await client.get("/calendar/days", params={"start": f"{YEAR}-01-01"}, headers=admin)
    assert [d["day"] for d in kept.json()] == [f"{YEAR}-01-01", f"{YEAR}-02-02"]
    records = audit_rows(api_settings.database_url, "endpoint = '/calendar/years/{year}' AND resource_ids = %s",
                         ([str(YEAR)],))  # fmt: skip
    assert [r["outcome"] for r in records[-4:]] == ["ok", "ok", "invalid", "invalid"]


async def test_the_seeded_2026_schedule_is_the_state_councils(client: httpx.AsyncClient, as_user: AsUser) -> None:
    """国务院办公厅关于2026年部分节假日安排的通知 (4 November 2025), as migration 0024 seeds it."""
    reader = await as_user("energy_staff")
    period = {"start": "2026-01-01", "end": "2027-01-01"}
    days = (await client.get("/calendar/days", params=period, headers=reader)).json()
    workdays = [d["day"] for d in days if d["kind"] == "workday"]
    assert workdays == ["2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10"]
    holidays = [d for d in days if d["kind"] == "holiday"]
    assert len(holidays) == 3 + 9 + 3 + 5 + 3 + 3 + 7
    spring = [d["day"] for d in holidays if d["name"] == "春节"]
    assert (spring[0], spring[-1], len(spring)) == ("2026-02-15", "2026-02-23", 9)
