"""`yiwang user`: the first admin is made by a command, with the password on stdin, never in argv."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx

from tests.support.api import PASSWORD, Units, audit_rows, bearer, login
from yiwang.settings import Settings


def _yiwang(settings: Settings, *argv: str, stdin: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("YIWANG_")}
    env["YIWANG_DATABASE_URL"] = settings.database_url
    return subprocess.run(
        [sys.executable, "-m", "yiwang.cli", "user", *argv],
        input=stdin,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_create_admin_makes_an_admin_who_can_log_in(
    client: httpx.AsyncClient, api_settings: Settings, tag: str
) -> None:
    name = f"first-admin-{tag}"
    done = _yiwang(api_settings, "create-admin", name, stdin=PASSWORD + "\n")
    assert done.returncode == 0, done.stderr
    assert f"added admin {name}" in done.stdout
    assert PASSWORD not in done.stdout + done.stderr
    headers = bearer((await login(client, name))["access_token"])
    me = (await client.get("/users/me", headers=headers)).json()
    assert me["role"] == "admin"
    assert (await client.get("/users", headers=headers)).status_code == 200
    made = audit_rows(
        api_settings.database_url, "endpoint = 'yiwang user create-admin' AND %s = ANY(resource_ids)", (str(me["id"]),)
    )
    assert len(made) == 1
    assert made[0]["params"] == {"name": name, "role": "admin", "organisations": []}
    assert str(made[0]["user_name"]).startswith("os:")
    # A second admin of the same name is refused.
    again = _yiwang(api_settings, "create-admin", name.upper(), stdin=PASSWORD + "\n")
    assert again.returncode != 0
    assert "already a user" in again.stderr


async def test_user_add_scopes_a_unit_user_and_refuses_what_does_not_fit(
    client: httpx.AsyncClient, api_settings: Settings, units: Units, tag: str
) -> None:
    name = f"clerk-{tag}"
    no_unit = _yiwang(api_settings, "add", name, "--role", "unit_user", stdin=PASSWORD + "\n")
    assert no_unit.returncode != 0
    assert "needs at least one organisation" in no_unit.stderr
    short = _yiwang(api_settings, "add", name, "--role", "auditor", stdin="short\n")
    assert short.returncode != 0
    assert "at least 12 characters" in short.stderr
    done = _yiwang(
        api_settings, "add", name, "--role", "unit_user", "--organisation", units.a.organisation, stdin=PASSWORD + "\n"
    )
    assert done.returncode == 0, done.stderr
    headers = bearer((await login(client, name))["access_token"])
    assert (await client.get("/users/me", headers=headers)).json()["organisations"] == [units.a.organisation]
    assert (await client.get(f"/vehicles/{units.b.vehicles[0]}", headers=headers)).status_code == 404
    # No password option exists: argv is visible to every user of the machine (ps, /proc).
    argv = _yiwang(api_settings, "add", f"x-{tag}", "--role", "auditor", "--password", PASSWORD, stdin="")
    assert argv.returncode == 2
