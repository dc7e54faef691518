"""Energy events through the alerts API: energy staff read and handle them, a unit sees its own and no other unit's
(attack: another unit's user cannot list, read, note or acknowledge it), filters by subject and kind, and the
dispatch map's panel keeps to vehicles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import psycopg

from db.energy_events import raise_events
from domain.energy_events import EnergyEvent
from tests.support.api import AsUser, Units, person
from tests.support.notifier import raise_alert
from yiwang.settings import Settings


async def silent_meter(url: str, institution: str, meter: str) -> int:
    """A meter_silent event raised as the energy watch raises it; its alert id."""
    event = EnergyEvent(
        "meter_silent", institution, meter, "yellow", datetime.now(UTC) - timedelta(days=2), f"meter {meter}: silent"
    )
    async with await psycopg.AsyncConnection.connect(url) as conn:
        [alert] = await raise_events(conn, [event])
        assert await raise_events(conn, [event]) == []  # raised once
        await conn.commit()
    return alert


async def test_energy_staff_handle_an_energy_event_and_another_unit_can_do_nothing_to_it(
    api_settings: Settings, client: httpx.AsyncClient, as_user: AsUser, units: Units
) -> None:
    url, unit = api_settings.database_url, units.a
    alert = await silent_meter(url, unit.institution, unit.meters[0])
    vehicle = await raise_alert(url, unit.vehicles[0], unit.organisation, "parking", "yellow", datetime.now(UTC))
    energy = await person(client, as_user, "energy_staff")
    own = await person(client, as_user, "unit_user", unit.organisation)
    other = await person(client, as_user, "unit_user", units.b.organisation)
    path = f"/alerts/{alert}"

    # Energy staff list it by subject, kind or institution, and read it: an institution's meter, no vehicle.
    for params in ({"subject": "institution"}, {"kind": "meter_silent"}, {"institution_id": unit.institution}):
        listed = await client.get("/alerts", params={**params, "organisation_id": unit.organisation},
                                  headers=energy.headers)  # fmt: skip
        assert listed.status_code == 200, listed.text
        assert [a["id"] for a in listed.json()["items"]] == [alert]
    read = (await client.get(path, headers=energy.headers)).json()
    assert (read["vehicle_id"], read["institution_id"], read["meter_id"], read["state"]) == (
        None, unit.institution, unit.meters[0], "active_unack",
    )  # fmt: skip
    # Vehicles' alerts alone, as the dispatch map's panel asks for them.
    vehicles = await client.get("/alerts", params={"subject": "vehicle", "organisation_id": unit.organisation},
                                headers=energy.headers)  # fmt: skip
    assert [a["id"] for a in vehicles.json()["items"]] == [vehicle]

    # Its unit sees it; another unit neither lists, reads, notes nor acknowledges it.
    assert (await client.get(path, headers=own.headers)).status_code == 200
    theirs = await client.get("/alerts", params={"subject": "institution"}, headers=other.headers)
    assert alert not in [a["id"] for a in theirs.json()["items"]]
    assert (await client.get(path, headers=other.headers)).status_code == 404
    assert (await client.post(f"{path}/notes", json={"text": "x"}, headers=other.headers)).status_code == 404
    assert (await client.post(f"{path}/acknowledge", json={"note": "x"}, headers=other.headers)).status_code == 403

    # Energy staff acknowledge it with a note, and may be given it.
    acked = await client.post(f"{path}/acknowledge", json={"note": "已派人检查表计通讯"}, headers=energy.headers)
    assert acked.status_code == 200, acked.text
    assert acked.json()["state"] == "active_ack"
    admin = await person(client, as_user, "admin")
    given = await client.post(f"{path}/assign", json={"assignee_id": energy.id}, headers=admin.headers)
    assert given.status_code == 200, given.text
