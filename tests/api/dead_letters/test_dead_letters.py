"""Admins find a misconfigured device from the API: refused messages by device, reason and time, and the refusals
counted per device, most refused first; nobody else reads them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import orjson

from collector.metrics import Metrics
from domain.topics import topic
from tests.support.api import AsUser, Units
from tests.support.broker import publish
from tests.support.registry import Devices
from tests.support.waiting import wait_for_count
from yiwang.settings import Settings


async def test_an_admin_finds_the_device_whose_messages_are_refused_and_why(
    settings: Settings, devices: Devices, collector: Metrics, client: httpx.AsyncClient, as_user: AsUser
) -> None:
    loud, quiet = devices.meters[0], devices.meters[1]
    now = datetime.now(UTC)
    reading = topic(settings.topic_root, "meter", loud, "reading")
    # A meter configured with the wrong payload: four messages that are not JSON, one with a register as text.
    messages = [(reading, b"register=%d" % n) for n in range(4)]
    messages.append((reading, orjson.dumps({"time": now.isoformat(), "register": "lots"})))
    messages.append((topic(settings.topic_root, "meter", quiet, "reading"), b"\xff\xfe\x00binary"))
    await publish(settings.mqtt_port, messages)
    assert await wait_for_count(settings.database_url, "SELECT count(*) FROM dead_letter WHERE device_id = ANY(%s)",
                                [[loud, quiet]], 6) == 6  # fmt: skip

    admin = await as_user("admin")
    since = (now - timedelta(minutes=5)).isoformat()
    response = await client.get("/dead-letters/devices", params={"since": since}, headers=admin)
    assert response.status_code == 200, response.text
    ours = [d for d in response.json() if d["device_id"] in {loud, quiet}]
    assert [d["device_id"] for d in ours] == [loud, quiet]  # most refused first
    assert ours[0]["refused"] == 5
    assert ours[0]["reasons"] == {"malformed_json": 4, "invalid_field": 1}
    assert ours[1]["reasons"] == {"malformed_json": 1}

    # The device's own refusals, newest first, each saying what was sent; paged.
    first = await client.get("/dead-letters", params={"device_id": loud, "limit": 3}, headers=admin)
    assert first.status_code == 200, first.text
    page = first.json()
    assert len(page["items"]) == 3
    assert page["next_after"] == str(page["items"][-1]["id"])
    rest = await client.get("/dead-letters", params={"device_id": loud, "after": page["next_after"]}, headers=admin)
    items = page["items"] + rest.json()["items"]
    assert [i["id"] for i in items] == sorted((i["id"] for i in items), reverse=True)
    assert rest.json()["next_after"] is None
    assert sorted(i["payload_preview"] for i in items if i["reason"] == "malformed_json") == [
        f"register={n}" for n in range(4)
    ]
    assert all(i["topic"] == reading and i["payload_size"] > 0 for i in items)
    only = await client.get("/dead-letters", params={"device_id": loud, "reason": "invalid_field"}, headers=admin)
    assert [i["reason"] for i in only.json()["items"]] == ["invalid_field"]
    binary = await client.get("/dead-letters", params={"device_id": quiet}, headers=admin)
    assert binary.json()["items"][0]["payload_preview"].startswith("ff fe 00")


async def test_only_admins_read_dead_letters(client: httpx.AsyncClient, as_user: AsUser, units: Units) -> None:
    # Another unit's device ids and payloads: not for a dispatcher, an energy officer, a unit's user or an auditor.
    for role in ("dispatcher", "energy_staff", "unit_user", "auditor"):
        headers = await (as_user(role, units.a.organisation) if role == "unit_user" else as_user(role))
        for path in ("/dead-letters", "/dead-letters/devices"):
            assert (await client.get(path, headers=headers)).status_code == 403, (role, path)
    for path in ("/dead-letters", "/dead-letters/devices"):
        assert (await client.get(path)).status_code == 401


async def test_a_period_given_with_any_offset_rfc_3339_allows_is_read_not_a_database_error(
    client: httpx.AsyncClient, as_user: AsUser
) -> None:
    # PostgreSQL takes offsets up to ±15:59; +16:00 is a valid RFC 3339 offset (found by schemathesis: a 500).
    admin = await as_user("admin")
    for path in ("/dead-letters", "/dead-letters/devices"):
        response = await client.get(path, params={"since": "2000-01-01T00:00:00+16:00"}, headers=admin)
        assert response.status_code == 200, (path, response.text)
    alerts = await client.get("/alerts", params={"since": "2000-01-01T00:00:00-18:00"}, headers=admin)
    assert alerts.status_code == 200, alerts.text
