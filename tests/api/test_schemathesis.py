"""Schemathesis over the app's OpenAPI schema: no 5xx, responses as the schema declares, for an admin and a unit user.

The app runs on the session's real TimescaleDB; schemathesis' ASGI transport starts its lifespan (and so its pool)
on an event loop thread of its own, and the test is synchronous.
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import APIOperation, CheckFunction
from schemathesis.generation.case import Case
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import positive_data_acceptance

from api.access.rules import Role
from api.access.users import create_user
from api.app import create_app
from tests.support.api import PASSWORD
from tests.support.registry import register_devices
from tests.support.stack import settings_for
from yiwang.stack import Stack

MAX_EXAMPLES = 25


@dataclass(frozen=True)
class Fuzzing:
    schema: schemathesis.BaseSchema
    tokens: dict[Role, str]
    victim_id: int  # the user PATCH /users/{user_id} changes: never the users whose tokens the run uses


async def _users(url: str, tag: str) -> tuple[dict[Role, str], int]:
    devices = await register_devices(url, f"{tag}s", meters=2, vehicles=2)
    names: dict[Role, str] = {"admin": f"st-admin-{tag}", "unit_user": f"st-unit-{tag}"}
    async with await psycopg.AsyncConnection.connect(url) as conn:
        await create_user(conn, names["admin"], PASSWORD, "admin")
        await create_user(conn, names["unit_user"], PASSWORD, "unit_user", [devices.organisation])
        victim_id = await create_user(conn, f"st-victim-{tag}", PASSWORD, "auditor")
    return names, victim_id


@pytest.fixture(scope="module")
def fuzzing(stack: Stack) -> Iterator[Fuzzing]:
    tag = uuid.uuid4().hex[:8]
    app_settings = settings_for(stack, tag, api_token_secret=secrets.token_urlsafe(48))
    names, victim_id = asyncio.run(_users(app_settings.database_url, tag))
    app = create_app(app_settings)
    try:
        # Logged in once, before any run: the runs' failed logins (all from schemathesis' one client address)
        # block the address for a while (429).
        tokens: dict[Role, str] = {}
        with asgi.get_client(app) as client:
            for role, name in names.items():
                response = client.post("/auth/token", data={"username": name, "password": PASSWORD})
                assert response.status_code == 200, response.text
                tokens[role] = response.json()["access_token"]
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)
        yield Fuzzing(schema, tokens, victim_id)
    finally:
        # Close the app's pool now, while the database still runs (schemathesis would do it at exit).
        asgi.shutdown_lifespans()


def _fuzz(
    operation: APIOperation,
    headers: dict[str, str],
    path_parameters: dict[str, object] | None,
    excluded: list[CheckFunction],
) -> None:
    """Run the default checks on up to MAX_EXAMPLES cases of one operation, sent with `headers`."""

    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(headers=headers, path_parameters=path_parameters))
    def check(case: Case) -> None:
        case.call_and_validate(headers=headers, excluded_checks=excluded)

    check()


_UNSTATED = {
    ("/factors", "post"),
    ("/quotas", "put"),
    ("/areas", "post"),
    ("/areas/{area_id}", "patch"),
    ("/requests", "post"),
    ("/drivers", "post"),
    ("/drivers/{driver_id}", "patch"),
    ("/requests/{request_id}/dispatch", "post"),
    ("/calendar/years/{year}", "put"),
    # A calendar's hours come in pairs, and its name is unique (409).
    ("/calendar/calendars", "post"),
    ("/calendar/calendars/{calendar_id}", "put"),
    # A moment of a meter's history (a multiplier's start, a replacement) from 2000 to 2100.
    ("/meters/{meter_id}", "patch"),
    ("/meters/{meter_id}/replacements", "post"),
    # An institution's facts of a year: a credit code's check character, parts within their whole, a department
    # that exists; a data-centre room's electricity split within its total; a department not under itself.
    ("/institutions/{institution_id}/years/{year}", "put"),
    ("/institutions/{institution_id}/years/{year}", "patch"),
    ("/institutions/{institution_id}/years/{year}/data-centre-rooms/{name}", "put"),
    ("/departments", "post"),
    ("/departments/{department_id}", "patch"),
    # A notification rule's target fits its channel (addresses or a webhook URL), quiet hours come in pairs, only a
    # 钉钉 rule has a secret, its organisation exists; an alert is given to a user of its unit or a supervisor.
    ("/notification-rules", "post"),
    ("/alerts/{alert_id}/assign", "post"),
}
_CALENDAR_WRITES: dict[str, dict[str, object]] = {
    "/calendar/days/{day}": {"day": "2999-06-15"},
    "/calendar/years/{year}": {"year": 2999},
    # Never the default calendar (every test's working hours): a calendar that does not exist (404).
    "/calendar/calendars/{calendar_id}": {"calendar_id": 987654321},
}
_REFERRING = {
    "/institutions",
    "/meters",
    "/vehicles",
    "/registry/institutions",
    "/registry/meters",
    "/registry/vehicles",
    "/registry/drivers",
    "/registry/departments",
    "/registry/data-centre-rooms",
}


@pytest.mark.parametrize("role", ["admin", "unit_user"])
def test_schema_holds(fuzzing: Fuzzing, role: Role) -> None:
    headers = {"Authorization": f"Bearer {fuzzing.tokens[role]}"}
    failures: dict[str, str] = {}
    operations = 0
    for result in fuzzing.schema.get_all_operations():
        operation = result.ok()
        # Logging out would end the session of the token every other case uses; tests/api/test_auth.py tests it.
        if operation.path == "/auth/logout":
            continue
        operations += 1
        # Changing a user ends their sessions: only the user made for it, never the run's own users or other tests'.
        path_parameters = {"user_id": fuzzing.victim_id} if operation.path == "/users/{user_id}" else None
        # The working calendar is global: the run's edits stay in a year no test or figure uses.
        if operation.method != "get":
            path_parameters = _CALENDAR_WRITES.get(operation.path, path_parameters)
        # Adding or changing a user is refused (422, with the reason) when the role and organisations do not fit
        # (organisations for unit users only), the password is not 12-256 characters (the API says so in its own words)
        # or an organisation does not exist: rules the schema does not state.
        # Likewise a box whose numbers are out of order or off the globe, a period whose end is not after its
        # start or that is longer than ten years (31 days for a track; the energy and dispatch reports and
        # exports share the energy routes' period), a factor version whose values are not
        # of its kind, repeat an energy type or are per another unit than the energy type's, and a quota for
        # both or neither of a category and an institution, an area whose rings do not close, an institution, meter
        # or vehicle of an organisation or institution that does not exist or a meter whose unit does not fit its
        # energy type, an imported file that is no registry table, a trip request wanted to end before it starts or
        # for a unit the user may not see, a driver of such a unit or moved to one, and a dispatch of a vehicle or
        # driver that does not exist, a calendar year listing a day of another year or a day twice, and a fuel
        # statement that is empty or names no plate, time or quantity column (each a 422 that says so), and a
        # survey's forms of an institution not in the year's survey (404).
        excluded = (
            [positive_data_acceptance]
            if (operation.path.startswith("/users") and operation.method != "get")
            or operation.path == "/positions/live"
            or operation.path.startswith(("/energy/", "/exports/", "/reports/", "/survey/", "/fuel/"))
            or operation.path.endswith(("/track", "/trips"))
            or (operation.path, operation.method) in _UNSTATED
            or (operation.method == "post" and operation.path in _REFERRING)
            else []
        )

        try:
            _fuzz(operation, headers, path_parameters, excluded)
        except BaseException as exc:  # every operation is run, and every failure reported at the end
            if not isinstance(exc, Exception | BaseExceptionGroup):
                raise
            failures[operation.label] = str(exc)
    assert operations > 10
    assert not failures, "\n\n".join(f"== {label}\n{message}" for label, message in failures.items())
