"""An alert's lifecycle through the API: listed as a page, read with its notes, acknowledged, assigned, noted and
closed, each within the user's scope; and the notification rules admins keep."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import psycopg

from tests.support.api import AsUser, Units, person
from tests.support.notifier import raise_alert
from yiwang.settings import Settings


async def test_an_alert_goes_through_its_lifecycle_within_scope(
    api_settings: Settings, client: httpx.AsyncClient, as_user: AsUser, units: Units
) -> None:
    url, org, vehicle = api_settings.database_url, units.a.organisation, units.a.vehicles[0]
    then = datetime.now(UTC) - timedelta(minutes=5)
    first = await raise_alert(url, vehicle, org, "no_dispatch", "yellow", then)
    alert = await raise_alert(url, vehicle, org, "area_exit", "red", then + timedelta(minutes=1))
    staff = await person(client, as_user, "dispatcher")
    own = await person(client, as_user, "unit_user", org)
    other = await person(client, as_user, "unit_user", units.b.organisation)
    auditor = await person(client, as_user, "auditor")
    path = f"/alerts/{alert}"

    # A page, newest first, with where the next one starts.
    page = (await client.get("/alerts", params={"vehicle_id": vehicle, "limit": 1}, headers=staff.headers)).json()
    assert [a["id"] for a in page["items"]] == [alert]
    assert page["items"][0]["state"] == "active_unack"
    assert page["items"][0]["level"] == "red"
    rest = await client.get(
        "/alerts", params={"vehicle_id": vehicle, "after": page["next_after"]}, headers=staff.headers
    )
    assert [a["id"] for a in rest.json()["items"]] == [first]
    assert rest.json()["next_after"] is None

    # Another unit sees nothing of it, and can do nothing to it.
    assert (await client.get(path, headers=other.headers)).status_code == 404
    assert (await client.post(f"{path}/notes", json={"text": "x"}, headers=other.headers)).status_code == 404
    # Readers may not act on it; a unit user not assigned may not write on it.
    assert (await client.post(f"{path}/close", json={}, headers=auditor.headers)).status_code == 403
    assert (await client.post(f"{path}/assign", json={"assignee_id": own.id}, headers=own.headers)).status_code == 403
    assert (await client.post(f"{path}/notes", json={"text": "x"}, headers=own.headers)).status_code == 403

    # Given to a user of another unit: refused; to one of its own unit: taken, who may then write notes.
    refused = await client.post(f"{path}/assign", json={"assignee_id": other.id}, headers=staff.headers)
    assert refused.status_code == 422
    assert "give it to a user of unit" in refused.text
    assigned = await client.post(f"{path}/assign", json={"assignee_id": own.id}, headers=staff.headers)
    assert assigned.status_code == 200, assigned.text
    assert assigned.json()["assignee_id"] == own.id
    noted = await client.post(f"{path}/notes", json={"text": "司机称绕行施工路段"}, headers=own.headers)
    assert noted.status_code == 201, noted.text
    mine = (await client.get("/alerts", params={"assignee_id": own.id}, headers=own.headers)).json()["items"]
    assert [a["id"] for a in mine] == [alert]

    # Acknowledged (its note is kept with the others); then cleared by data: both hold.
    acked = await client.post(f"{path}/acknowledge", json={"note": "已核实"}, headers=staff.headers)
    assert acked.json()["state"] == "active_ack"
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute("UPDATE alert SET cleared_at = now(), cleared_reason = 'test' WHERE id = %s", (alert,))
    read = (await client.get(path, headers=own.headers)).json()
    assert read["state"] == "cleared_ack"
    assert [(n["author_id"], n["text"]) for n in read["notes"]] == [
        (own.id, "司机称绕行施工路段"),
        (staff.id, "已核实"),
    ]
    cleared = await client.get("/alerts", params={"state": ["cleared_ack", "closed"], "vehicle_id": vehicle},
                               headers=staff.headers)  # fmt: skip
    assert [a["id"] for a in cleared.json()["items"]] == [alert]

    # Closed once, with a note; nothing more is done to a closed alert but notes.
    closed = await client.post(f"{path}/close", json={"note": "结案"}, headers=staff.headers)
    assert closed.status_code == 200, closed.text
    assert (closed.json()["state"], closed.json()["closed_by"]) == ("closed", staff.id)
    assert (await client.post(f"{path}/close", json={}, headers=staff.headers)).status_code == 409
    assert (await client.post(f"{path}/assign", json={"assignee_id": None}, headers=staff.headers)).status_code == 409
    assert (await client.post(f"{path}/notes", json={"text": "补充"}, headers=staff.headers)).status_code == 201
    assert [n["text"] for n in (await client.get(path, headers=staff.headers)).json()["notes"]][-2:] == ["结案", "补充"]
    # Not open any more (the map's panel lists open ones).
    still = (await client.get("/alerts", params={"open": True, "vehicle_id": vehicle}, headers=staff.headers)).json()
    assert [a["id"] for a in still["items"]] == [first]


async def test_notes_are_append_only_for_the_api(api_settings: Settings, units: Units) -> None:
    """The API's own database role may add and read notes, never change or remove one."""
    alert = await raise_alert(api_settings.database_url, units.a.vehicles[0], units.a.organisation, "speeding",
                              "yellow", datetime.now(UTC))  # fmt: skip
    api_url = api_settings.database_url_of("api")
    async with await psycopg.AsyncConnection.connect(api_url, autocommit=True) as conn:
        user = await (await conn.execute("SELECT min(id) FROM app_user")).fetchone()
        assert user is not None
        await conn.execute("INSERT INTO alert_note (alert_id, author_id, text) VALUES (%s, %s, 'n')", (alert, user[0]))
        for statement in ("UPDATE alert_note SET text = 'changed'", "DELETE FROM alert_note"):
            try:
                await conn.execute(statement)
            except psycopg.errors.InsufficientPrivilege:
                continue
            raise AssertionError(f"the API's role could run {statement}")


async def test_admins_keep_notification_rules(client: httpx.AsyncClient, as_user: AsUser, units: Units) -> None:
    admin, staff = await as_user("admin"), await as_user("dispatcher")
    rule = {"name": "钉钉值班群", "organisation_id": units.a.organisation, "levels": ["red"], "channel": "dingtalk",
            "target": "https://oapi.dingtalk.com/robot/send?access_token=abc", "secret": "SECxyz",
            "quiet_start": "22:00", "quiet_end": "07:00"}  # fmt: skip
    assert (await client.post("/notification-rules", json=rule, headers=staff)).status_code == 403
    assert (await client.get("/notification-rules", headers=staff)).status_code == 403
    assert (await client.get("/notification-deliveries", headers=staff)).status_code == 403
    created = await client.post("/notification-rules", json=rule, headers=admin)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["has_secret"] is True
    assert "secret" not in body
    assert (body["event"], body["quiet_start"], body["digest_minutes"]) == ("new", "22:00:00", None)
    for bad, why in [
        ({**rule, "channel": "email"}, "addresses"),
        ({**rule, "target": "ftp://x"}, "webhook URL"),
        ({**rule, "quiet_end": None}, "quiet_start and quiet_end"),
        ({**rule, "channel": "wecom", "target": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k"}, "secret"),
        ({**rule, "organisation_id": "no-such-unit"}, "no organisation"),
    ]:
        refused = await client.post("/notification-rules", json=bad, headers=admin)
        assert refused.status_code == 422, bad
        assert why in refused.text
    listed = (await client.get("/notification-rules", headers=admin)).json()
    assert body["id"] in [r["id"] for r in listed]
    off = await client.patch(f"/notification-rules/{body['id']}", json={"enabled": False}, headers=admin)
    assert off.json()["enabled"] is False
    assert (
        await client.patch(f"/notification-rules/{body['id']}", json={"enabled": True}, headers=staff)
    ).status_code == 403
    assert (await client.delete(f"/notification-rules/{body['id']}", headers=admin)).status_code == 204
    assert (await client.delete(f"/notification-rules/{body['id']}", headers=admin)).status_code == 404
    # E-mail rules by role reach users through the addresses admins give them.
    by_role = {"name": "本单位", "organisation_id": units.a.organisation, "channel": "email", "role": "unit_user"}
    assert (await client.post("/notification-rules", json=by_role, headers=admin)).status_code == 201
    unscoped = await client.post("/notification-rules", json={**by_role, "organisation_id": None}, headers=admin)
    assert unscoped.status_code == 422
    assert "names their organisation_id" in unscoped.text
    me = (await client.get("/users/me", headers=staff)).json()
    given = await client.patch(f"/users/{me['id']}", json={"email": "staff@example.org"}, headers=admin)
    assert given.json()["email"] == "staff@example.org"
    assert (
        await client.patch(f"/users/{me['id']}", json={"email": "not an address"}, headers=admin)
    ).status_code == 422
    removed = await client.patch(f"/users/{me['id']}", json={"email": ""}, headers=admin)
    assert removed.json()["email"] is None
    page = (await client.get("/notification-deliveries", params={"status": "dead"}, headers=admin)).json()
    assert set(page) == {"items", "next_after"}
