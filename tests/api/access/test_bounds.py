"""What an anonymous or any user's request can put into the append-only audit log is bounded: an over-long login
name is refused before it is looked up or recorded, and every recorded field is cut to the log's bounds."""

from __future__ import annotations

import json
import secrets

import httpx
from fastapi import FastAPI
from websockets.asyncio.client import connect

from api.access.audit import MAX_ITEMS, MAX_PARAMS_BYTES, MAX_TEXT_CHARS, bounded, bounded_params, bounded_text
from api.access.users import NAME_MAX_LENGTH
from tests.support.api import AddUser, AsUser, Units, address_for, audit_rows, person, serving
from tests.support.waiting import eventually
from yiwang.settings import Settings


async def test_an_over_long_login_name_is_refused_before_it_is_looked_up_or_recorded(
    client: httpx.AsyncClient, api_settings: Settings, tag: str
) -> None:
    # 20 KB that do not compress (as a 900 KB name, that broke the login failures' index: a 500): under the body
    # limit, far over any user's name.
    name = f"{tag}-{secrets.token_urlsafe(15_000)}"
    response = await client.post("/auth/token", data={"username": name, "password": "whatever it is"})
    assert response.status_code == 401
    assert response.json() == {"detail": "wrong user name or password"}
    assert audit_rows(api_settings.database_url, "address = %s", (address_for(tag),)) == []

    # A name as long as a user's may be is still checked, counted and recorded.
    longest = (f"{tag}-" + "n" * NAME_MAX_LENGTH)[:NAME_MAX_LENGTH]
    assert (await client.post("/auth/token", data={"username": longest, "password": "x"})).status_code == 401
    [record] = audit_rows(api_settings.database_url, "address = %s", (address_for(tag),))
    assert (record["user_name"], record["outcome"]) == (longest, "unauthenticated")


async def test_a_recorded_request_writes_a_bounded_record_whatever_it_sends(
    client: httpx.AsyncClient, as_user: AsUser, units: Units, api_settings: Settings
) -> None:
    # Every read of an auditor is recorded, with the ids in its path and its query parameters.
    auditor = await person(client, as_user, "auditor")
    long_id = "i" * 5_000
    long_value = "v" * 2_000
    many = [("tag", str(n)) for n in range(3 * MAX_ITEMS)]
    response = await client.get(
        f"/institutions/{long_id}", params=[("note", long_value), *many], headers=auditor.headers
    )
    assert response.status_code == 404
    # And a flood of parameters.
    flood = [(f"p{n}", "w" * 1_000) for n in range(50)]
    assert (await client.get(f"/institutions/{units.a.institution}", params=flood, headers=auditor.headers)).is_success

    cut, flooded = audit_rows(api_settings.database_url, "user_id = %s AND action = 'institutions:read'", (auditor.id,))
    assert cut["resource_ids"] == [bounded_text(long_id)]
    assert cut["resource_ids"][0].endswith(f"…[{5_000 - MAX_TEXT_CHARS} more characters]")
    assert cut["params"]["note"] == "v" * MAX_TEXT_CHARS + f"…[{2_000 - MAX_TEXT_CHARS} more characters]"
    assert cut["params"]["tag"] == [str(n) for n in range(MAX_ITEMS)] + [f"…[{2 * MAX_ITEMS} more items]"]
    assert flooded["params"] == {"…": flooded["params"]["…"]}
    assert flooded["params"]["…"].endswith("bytes of parameters left out")
    for record in (cut, flooded):
        assert len(json.dumps(record["params"])) <= MAX_PARAMS_BYTES


async def test_a_recorded_stream_writes_a_bounded_record_whatever_its_query(
    app: FastAPI, client: httpx.AsyncClient, as_user: AsUser, api_settings: Settings
) -> None:
    # An auditor's live stream is recorded with its query, as an HTTP read is.
    auditor = await person(client, as_user, "auditor")
    token = auditor.headers["Authorization"].removeprefix("Bearer ")
    query = str(httpx.QueryParams([("note", "v" * 2_000), *[("tag", str(n)) for n in range(3 * MAX_ITEMS)]]))

    def records() -> list[dict[str, object]]:
        return audit_rows(api_settings.database_url, "user_id = %s AND endpoint = '/positions/stream'", (auditor.id,))

    async with (
        serving(app, api_settings) as port,
        connect(f"ws://127.0.0.1:{port}/positions/stream?{query}", compression=None) as ws,
    ):
        await ws.send(json.dumps({"type": "auth", "token": token}))
        await eventually(lambda: bool(records()))
    [record] = records()
    params = record["params"]
    assert isinstance(params, dict)
    assert params["note"] == "v" * MAX_TEXT_CHARS + f"…[{2_000 - MAX_TEXT_CHARS} more characters]"
    assert params["tag"] == [str(n) for n in range(MAX_ITEMS)] + [f"…[{2 * MAX_ITEMS} more items]"]


def test_bounded_cuts_texts_lists_and_objects_and_says_how_much() -> None:
    assert bounded_text("short") == "short"
    assert bounded_text("x" * (MAX_TEXT_CHARS + 7)) == "x" * MAX_TEXT_CHARS + "…[7 more characters]"
    assert bounded({"a": [1, None, True, 2.5], "b": {"c": "d"}}) == {"a": [1, None, True, 2.5], "b": {"c": "d"}}
    wide = {f"k{n}": n for n in range(MAX_ITEMS + 3)}
    assert bounded(wide) == {**{f"k{n}": n for n in range(MAX_ITEMS)}, "…": "3 more keys"}
    assert bounded([["y" * (MAX_TEXT_CHARS + 1)]]) == [["y" * MAX_TEXT_CHARS + "…[1 more characters]"]]
    assert bounded_params({"q": "ok"}) == {"q": "ok"}


async def test_an_address_holding_a_nul_is_refused_not_a_database_error(
    client: httpx.AsyncClient, as_user: AsUser, add_user: AddUser
) -> None:
    # PostgreSQL's text (and the audit log's jsonb) cannot hold U+0000: it was a 500 (found by schemathesis).
    admin = await as_user("admin")
    victim = await add_user("auditor")
    users = (await client.get("/users", headers=admin)).json()
    user_id = next(u["id"] for u in (users["items"] if isinstance(users, dict) else users) if u["name"] == victim)
    response = await client.patch(f"/users/{user_id}", json={"email": "0@\u0000"}, headers=admin)
    assert response.status_code == 422, response.text
