"""The login limit against the attacks it answers, through the real API and database: concurrent guesses, an
attacker from many addresses, one person's typing errors behind an office NAT, a spray across names."""

from __future__ import annotations

import asyncio
import logging
import secrets

import httpx
import pytest
from fastapi import FastAPI

from tests.support.api import PASSWORD, AddUser, address_for, audit_rows, bearer, client_at, login
from tests.support.stack import settings_for
from yiwang.settings import Settings
from yiwang.stack import Stack

# The limits of these tests: the defaults' pair limit, lower name and address limits (fewer password checks to
# reach them), and a first delay long enough that no attempt in a test outlives it.
PAIR, NAME, ADDRESS, DELAY = 5, 10, 10, 60.0


@pytest.fixture
def api_settings(stack: Stack, tag: str) -> Settings:
    return settings_for(
        stack,
        tag,
        api_token_secret=secrets.token_urlsafe(48),
        api_login_max_failures=PAIR,
        api_login_name_max_failures=NAME,
        api_login_address_max_failures=ADDRESS,
        api_login_delay_seconds=DELAY,
    )


async def attempt(app: FastAPI, address: str, name: str, password: str) -> httpx.Response:
    async with client_at(app, address) as client:
        return await client.post("/auth/token", data={"username": name, "password": password})


def logins(settings: Settings, name: str) -> list[str]:
    """The outcomes of the audit log's login records of this name, oldest first."""
    rows = audit_rows(settings.database_url, "action = 'auth:login' AND user_name = %s", (name,))
    return [str(r["outcome"]) for r in rows]


async def test_concurrent_guesses_are_checked_no_more_than_the_limit_and_the_right_password_then_waits(
    app: FastAPI, tag: str, add_user: AddUser, api_settings: Settings
) -> None:
    name = await add_user("admin")
    async with client_at(app, address_for(tag, 1)) as client:
        answers = await asyncio.gather(
            *(client.post("/auth/token", data={"username": name, "password": f"guess {n:02}"}) for n in range(40))
        )
        statuses = sorted(a.status_code for a in answers)
        # Each attempt is counted before its password is checked: no more guesses are checked than the limit.
        assert statuses == [401] * PAIR + [429] * (40 - PAIR)
        assert logins(api_settings, name) == ["unauthenticated"] * PAIR
        right = await client.post("/auth/token", data={"username": name, "password": PASSWORD})
    assert right.status_code == 429
    assert 1 <= int(right.headers["retry-after"]) <= DELAY


async def test_an_attacker_from_other_addresses_slows_the_name_but_the_owner_logs_in_from_their_own(
    app: FastAPI, tag: str, add_user: AddUser, api_settings: Settings
) -> None:
    owner = await add_user("admin")
    home = address_for(tag, 0)
    assert (await attempt(app, home, owner, PASSWORD)).status_code == 200  # the owner's usual address
    statuses = [
        (await attempt(app, address_for(tag, 10 + a), owner, f"guess {a}.{n}")).status_code
        for a in range(5)
        for n in range(PAIR + 1)
    ]
    # The owner, at the address they logged in from, is judged on that pair alone: in at once.
    assert (await attempt(app, home, owner, PASSWORD)).status_code == 200
    # Each address met its pair's limit, and the name's limit capped them all: every further guess waited.
    assert statuses.count(401) == NAME
    assert logins(api_settings, owner).count("unauthenticated") == NAME
    # From an address the name never logged in from, the right password waits too: the name is slowed, not locked.
    elsewhere = await attempt(app, address_for(tag, 99), owner, PASSWORD)
    assert elsewhere.status_code == 429
    assert 1 <= int(elsewhere.headers["retry-after"]) <= DELAY


async def test_one_users_typing_errors_behind_an_office_nat_keep_no_colleague_out(  # noqa: PLR0917
    app: FastAPI,
    tag: str,
    add_user: AddUser,
    api_settings: Settings,
    client: httpx.AsyncClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    office = address_for(tag, 7)
    typist, colleague = await add_user("auditor"), await add_user("dispatcher")
    with caplog.at_level(logging.WARNING, logger="api.access.routes.auth"):
        statuses = [(await attempt(app, office, typist, f"typo number {n}")).status_code for n in range(PAIR + 3)]
    assert statuses == [401] * PAIR + [429] * 3
    # The typist's own pair waits, the right password included...
    assert (await attempt(app, office, typist, PASSWORD)).status_code == 429
    # ...and a colleague behind the same address, who never logged in before, logs in at once.
    assert (await attempt(app, office, colleague, PASSWORD)).status_code == 200
    # The alert: one warning naming the user and the address, and one record an admin finds in the audit log.
    warnings = [r.getMessage() for r in caplog.records if "login limit" in r.getMessage()]
    assert len(warnings) == 1
    assert typist in warnings[0]
    assert office in warnings[0]
    admin = bearer((await login(client, await add_user("admin")))["access_token"])
    found = await client.get("/audit", params={"action": "auth:login_limit", "user_name": typist}, headers=admin)
    assert found.status_code == 200, found.text
    [alert] = found.json()["items"]
    assert (alert["address"], alert["outcome"], alert["params"]["counter"]) == (office, "limited", "pair")


async def test_a_spray_across_names_from_one_address_waits_but_not_the_users_who_logged_in_there(
    app: FastAPI, tag: str, add_user: AddUser
) -> None:
    sprayer = address_for(tag, 3)
    regular, newcomer = await add_user("energy_staff"), await add_user("energy_staff")
    assert (await attempt(app, sprayer, regular, PASSWORD)).status_code == 200  # logged in there before
    statuses = [
        (await attempt(app, sprayer, f"guessed-{tag}-{n}", "Summer2026!!!!")).status_code for n in range(ADDRESS + 2)
    ]
    assert (await attempt(app, sprayer, regular, PASSWORD)).status_code == 200
    assert statuses == [401] * ADDRESS + [429] * 2
    assert (await attempt(app, sprayer, newcomer, PASSWORD)).status_code == 429
