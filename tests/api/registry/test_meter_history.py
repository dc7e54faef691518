"""A meter's replacement and its multiplier as dated events: recorded through the API (and the registry import), and
counted by the roll-up from their moment on, the days before keeping their figures."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import httpx
import pytest
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from db import ingest
from db.pool import open_pool
from domain.registry import Meter, RegistryDocument
from tests.support.api import AsUser, Units, audit_rows
from tests.support.registry import import_registry
from tests.support.rollups import settle
from yiwang.settings import Settings

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 4, 1, tzinfo=SHANGHAI)  # a local midnight


@pytest.fixture
async def pool(api_settings: Settings) -> AsyncIterator[AsyncConnectionPool[AsyncConnection]]:
    async with open_pool(api_settings.database_url, max_size=2, configure=ingest.prepare_connection) as p:
        yield p


Pool = AsyncConnectionPool[AsyncConnection]


async def arrive(pool: Pool, meter_id: str, values: Sequence[tuple[float, float]]) -> None:
    """Store readings (hours after T0, register) as one batch and bring the roll-up up to date."""
    received = datetime.now(UTC)
    async with pool.connection() as conn, conn.transaction():
        await ingest.insert_readings(conn, [(meter_id, T0 + timedelta(hours=h), v, received) for h, v in values])
    await settle(pool, [meter_id])


async def by_day(pool: Pool, meter_id: str) -> dict[date, Decimal]:
    """The meter's counted days once the roll-up settles."""
    await settle(pool, [meter_id])
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT day, amount FROM consumption_day WHERE meter_id = %s ORDER BY day", (meter_id,)
        )
        return {day: Decimal(amount) for day, amount in await cur.fetchall()}


async def test_a_recorded_swap_counts_up_to_the_old_final_and_on_from_the_new_first(
    client: httpx.AsyncClient, units: Units, as_user: AsUser, api_settings: Settings, pool: Pool
) -> None:
    """Old code guessed a reset from the drop 14,450 -> 10 and counted 70 kWh where 117 were consumed (50 on the old
    register, 50 more up to its final 14,500, then 7 and 10 on the new one from its first 3)."""
    staff = await as_user("energy_staff")
    meter_id = units.a.meters[0]
    await arrive(pool, meter_id, [(10, 14_400.0), (11, 14_450.0), (12, 10.0), (13, 20.0)])
    swap = {"time": (T0 + timedelta(hours=11.5)).isoformat(), "old_final": 14_500, "new_first": 3, "note": "工单 17"}
    recorded = await client.post(f"/meters/{meter_id}/replacements", headers=staff, json=swap)
    assert recorded.status_code == 201, recorded.text
    assert sum((await by_day(pool, meter_id)).values()) == Decimal(117)
    listed = (await client.get(f"/meters/{meter_id}/replacements", headers=staff)).json()
    assert [(r["old_final"], r["new_first"], r["note"]) for r in listed] == [(14_500, 3, "工单 17")]
    flagged = await client.get(
        "/energy/flagged", headers=staff, params={"meter_id": meter_id, "start": "2026-04-01", "end": "2026-05-01"}
    )
    assert [(f["change"], Decimal(f["before"]), Decimal(f["after"])) for f in flagged.json()] == [
        ("replacement", Decimal(14_500), Decimal(3))
    ]
    # The same swap again is a conflict; a unit's user may not record one; a swap still to come (a mistyped year) is
    # refused, or the old meter would be counted on into days it never read.
    assert (await client.post(f"/meters/{meter_id}/replacements", headers=staff, json=swap)).status_code == 409
    future = {**swap, "time": "2099-04-01T10:00:00+08:00"}
    assert (await client.post(f"/meters/{meter_id}/replacements", headers=staff, json=future)).status_code == 422
    unit_user = await as_user("unit_user", units.a.organisation)
    assert (await client.post(f"/meters/{meter_id}/replacements", headers=unit_user, json=swap)).status_code == 403
    # Deleted (recorded by mistake): the meter is recounted without it, and the drop is judged by the rules again.
    deleted = await client.delete(f"/meters/{meter_id}/replacements/{swap['time']}", headers=staff)
    assert deleted.status_code == 200, deleted.text
    assert sum((await by_day(pool, meter_id)).values()) == Decimal(70)
    audited = audit_rows(
        api_settings.database_url,
        "endpoint LIKE %s AND %s = ANY(resource_ids) AND status < 400",
        ("/meters/{meter_id}/replacements%", meter_id),
    )
    assert [row["method"] for row in audited] == ["POST", "DELETE"]


async def meter_of_40(client: httpx.AsyncClient, staff: dict[str, str], units: Units, name: str) -> str:
    """A new electricity meter registered with a CT ratio of 40."""
    body = {"id": name, "institution_id": units.a.institution, "energy_type": "electricity", "unit": "kWh"}
    added = await client.post("/meters", headers=staff, json=body | {"multiplier": 40})
    assert added.status_code == 201, added.text
    return name


def _readings() -> list[tuple[float, float]]:
    """Two local days of hourly readings, one register unit an hour."""
    return [(h, float(h)) for h in range(48)]


async def test_a_multiplier_from_a_date_leaves_the_days_before_it_and_counts_the_days_after_at_the_new_value(
    client: httpx.AsyncClient, units: Units, as_user: AsUser, pool: Pool, tag: str
) -> None:
    """Old code recounted the whole history at the new multiplier and took no date."""
    staff = await as_user("energy_staff")
    meter_id = await meter_of_40(client, staff, units, f"m-{tag}-ct")
    await arrive(pool, meter_id, _readings())
    first, second = T0.date(), T0.date() + timedelta(days=1)
    assert await by_day(pool, meter_id) == {first: Decimal(24 * 40), second: Decimal(23 * 40)}
    # The CT changed at the reading of the second day's midnight.
    changed = await client.patch(
        f"/meters/{meter_id}",
        headers=staff,
        json={"multiplier": 80, "multiplier_from": (T0 + timedelta(days=1)).isoformat()},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["multiplier"] == 80
    assert await by_day(pool, meter_id) == {first: Decimal(24 * 40), second: Decimal(23 * 80)}
    history = (await client.get(f"/meters/{meter_id}/multipliers", headers=staff)).json()
    assert [h["multiplier"] for h in history] == [40, 80]
    # Without a date, a change holds from the moment it is made: every day already counted keeps its figures.
    assert (await client.patch(f"/meters/{meter_id}", headers=staff, json={"multiplier": 1})).status_code == 200
    assert await by_day(pool, meter_id) == {first: Decimal(24 * 40), second: Decimal(23 * 80)}


async def test_a_multiplier_dated_before_a_later_change_or_dating_no_change_is_refused(
    client: httpx.AsyncClient, units: Units, as_user: AsUser, pool: Pool, tag: str
) -> None:
    """A change dated before one already recorded would hold only until it, though the meter would show it: the
    history and the figures would disagree. A date without a change would be taken for a mended date."""
    staff = await as_user("energy_staff")
    meter_id = await meter_of_40(client, staff, units, f"m-{tag}-back")
    await arrive(pool, meter_id, _readings())
    second_day = (T0 + timedelta(days=1)).isoformat()
    changed = await client.patch(
        f"/meters/{meter_id}", headers=staff, json={"multiplier": 80, "multiplier_from": second_day}
    )
    assert changed.status_code == 200, changed.text
    counted = await by_day(pool, meter_id)
    backdated = await client.patch(
        f"/meters/{meter_id}", headers=staff, json={"multiplier": 120, "multiplier_from": T0.isoformat()}
    )
    assert backdated.status_code == 422, backdated.text
    assert "holds from" in backdated.json()["detail"]
    undated = await client.patch(f"/meters/{meter_id}", headers=staff, json={"multiplier_from": T0.isoformat()})
    assert undated.status_code == 422, undated.text
    assert "unchanged" in undated.json()["detail"]
    # Nothing of either was kept; the same dated change sent again is no change at all.
    again = await client.patch(
        f"/meters/{meter_id}", headers=staff, json={"multiplier": 80, "multiplier_from": second_day}
    )
    assert again.status_code == 200, again.text
    history = (await client.get(f"/meters/{meter_id}/multipliers", headers=staff)).json()
    assert [h["multiplier"] for h in history] == [40, 80]
    assert (await client.get(f"/meters/{meter_id}", headers=staff)).json()["multiplier"] == 80
    assert await by_day(pool, meter_id) == counted


async def test_a_multiplier_changed_without_a_date_leaves_every_day_counted_before_it(
    client: httpx.AsyncClient, units: Units, as_user: AsUser, pool: Pool, tag: str
) -> None:
    """Old code recounted the whole history at the new multiplier: 40 -> 80 doubled every past day."""
    staff = await as_user("energy_staff")
    meter_id = await meter_of_40(client, staff, units, f"m-{tag}-ct")
    await arrive(pool, meter_id, _readings())
    before = await by_day(pool, meter_id)
    assert (await client.patch(f"/meters/{meter_id}", headers=staff, json={"multiplier": 80})).status_code == 200
    assert (
        await by_day(pool, meter_id)
        == before
        == {
            T0.date(): Decimal(24 * 40),
            T0.date() + timedelta(days=1): Decimal(23 * 40),
        }
    )


async def test_the_registry_import_dates_a_multiplier_as_patch_does(
    client: httpx.AsyncClient, *, units: Units, as_user: AsUser, api_settings: Settings, pool: Pool, tag: str
) -> None:
    """`yiwang registry import` and PATCH /meters are one path: the same change gives the same figures."""
    staff = await as_user("energy_staff")
    by_api = await meter_of_40(client, staff, units, f"m-{tag}-api")
    by_import = await meter_of_40(client, staff, units, f"m-{tag}-import")
    since = (T0 + timedelta(days=1)).isoformat()
    for meter_id in (by_api, by_import):
        await arrive(pool, meter_id, _readings())
    patched = await client.patch(f"/meters/{by_api}", headers=staff, json={"multiplier": 80, "multiplier_from": since})
    assert patched.status_code == 200, patched.text
    stored = (await client.get(f"/meters/{by_import}", headers=staff)).json()
    fields = {name: stored[name] for name in Meter.model_fields if name in stored}
    document = RegistryDocument.model_validate({"meters": [fields | {"multiplier": 80, "multiplier_from": since}]})
    await import_registry(api_settings.database_url, document)
    expected = {T0.date(): Decimal(24 * 40), T0.date() + timedelta(days=1): Decimal(23 * 80)}
    assert await by_day(pool, by_api) == await by_day(pool, by_import) == expected
