"""Working hours and quiet hours are local times of day: taken and returned without an offset, refused with one, and
stated so in the published schema (whose `format: time` would require an offset and call every answer wrong)."""

from __future__ import annotations

from typing import Any

import httpx
import jsonschema_rs
from fastapi import FastAPI

from tests.support.api import AsUser, Units


def _property(app: FastAPI, model: str, name: str) -> dict[str, Any]:
    schemas = app.openapi()["components"]["schemas"]
    found: dict[str, Any] = schemas[model]["properties"][name]
    return found


def _conforms(schema: dict[str, Any], value: object) -> bool:
    return bool(jsonschema_rs.validator_for(schema, validate_formats=True).is_valid(value))


async def test_a_calendars_hours_are_answered_as_the_schema_says(
    app: FastAPI, client: httpx.AsyncClient, as_user: AsUser, units: Units
) -> None:
    admin = await as_user("admin")
    made = await client.post(
        "/calendar/calendars",
        json={"name": f"通宵-{units.a.organisation}", "work_start": "00:00", "work_end": "06:00"},
        headers=admin,
    )
    assert made.status_code == 201, made.text
    listed = (await client.get("/calendar/calendars", headers=admin)).json()
    mine = next(c for c in listed if c["id"] == made.json()["id"])
    assert (mine["work_start"], mine["work_end"]) == ("00:00:00", "06:00:00")
    for name in ("work_start", "work_end"):
        schema = _property(app, "WorkCalendarPublic", name)
        assert _conforms(schema, mine[name]), (name, schema)
        assert not _conforms(schema, "08:00:00+08:00")

    shifted = await client.post(
        "/calendar/calendars",
        json={"name": f"偏移-{units.a.organisation}", "work_start": "08:00:00+08:00", "work_end": "17:00:00+08:00"},
        headers=admin,
    )
    assert shifted.status_code == 422
    assert "no offset" in shifted.text


async def test_quiet_hours_are_local_times_too(
    app: FastAPI, client: httpx.AsyncClient, as_user: AsUser, units: Units
) -> None:
    admin = await as_user("admin")
    rule = {"name": "值班邮箱", "organisation_id": units.a.organisation, "levels": ["yellow"], "channel": "email",
            "target": f"duty-{units.a.organisation}@example.org",
            "quiet_start": "22:00", "quiet_end": "07:00"}  # fmt: skip
    made = await client.post("/notification-rules", json=rule, headers=admin)
    assert made.status_code == 201, made.text
    assert _conforms(_property(app, "RulePublic", "quiet_start"), made.json()["quiet_start"])
    offset = {**rule, "name": "偏移", "quiet_start": "22:00+08:00", "quiet_end": "07:00+08:00"}
    refused = await client.post("/notification-rules", json=offset, headers=admin)
    assert refused.status_code == 422
    assert "no offset" in refused.text
