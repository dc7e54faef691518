"""A meter's or vehicle's id is also its broker user name and client id: one with `:` (which ends the name in the
password file), a service account's name (which `broker sync` could not write) or one starting with `yiwang-` (the
services' client ids, whose sessions it would take) is refused at creation, by the API and the import."""

from __future__ import annotations

from typing import Any

import httpx
import psycopg
import pytest

from broker import access
from db.registry import ReservedId
from domain.registry import Meter, RegistryDocument
from tests.support.api import AsUser, Units
from tests.support.registry import import_registry
from yiwang.settings import Settings


def meter(tag: str, institution_id: str, **fields: Any) -> dict[str, Any]:
    return {"id": f"m-{tag}", "institution_id": institution_id, "energy_type": "electricity", "unit": "kWh"} | fields


def vehicle(tag: str, organisation_id: str, **fields: Any) -> dict[str, Any]:
    return {"id": f"v-{tag}", "organisation_id": organisation_id, "plate": f"赣H·{tag}", "energy": "gasoline"} | fields


async def test_a_device_id_with_a_colon_or_a_service_accounts_name_is_refused(
    client: httpx.AsyncClient, units: Units, as_user: AsUser, tag: str, api_settings: Settings
) -> None:
    service = f"svc-{tag}"
    async with await psycopg.AsyncConnection.connect(api_settings.database_url) as conn:
        await access.add_service_account(conn, service, ["gateway"], access.new_secret())
        await conn.commit()
    staff, dispatcher = await as_user("energy_staff"), await as_user("dispatcher")
    for device_id in (f"m:{tag}", service, "yiwang-collector", f"Yiwang-{tag}"):
        refused = await client.post("/meters", headers=staff, json=meter(tag, units.a.institution, id=device_id))
        assert refused.status_code == 422, refused.text
        refused = await client.post(
            "/vehicles", headers=dispatcher, json=vehicle(tag, units.a.organisation, id=device_id)
        )
        assert refused.status_code == 422, refused.text
    assert (await client.get(f"/meters/{service}", headers=staff)).status_code == 404
    document = RegistryDocument(
        meters=[Meter(id=service, institution_id=units.a.institution, energy_type="electricity", unit="kWh")]
    )
    with pytest.raises(ReservedId):
        await import_registry(api_settings.database_url, document)
    with pytest.raises(ValueError, match="no :"):
        Meter(id=f"m:{tag}", institution_id=units.a.institution, energy_type="electricity", unit="kWh")
