"""The broker's accounts: device credentials and service accounts (hashes only, never secrets)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from psycopg import AsyncConnection


class DeviceAccount(NamedTuple):
    device_id: str
    device_kind: str  # "meter" or "vehicle"
    password_hash: str


class ServiceAccount(NamedTuple):
    username: str
    roles: list[str]
    password_hash: str


async def set_service_account(conn: AsyncConnection, username: str, roles: Sequence[str], password_hash: str) -> None:
    await conn.execute(
        """INSERT INTO service_account (username, roles, password_hash) VALUES (%s, %s, %s)
           ON CONFLICT (username) DO UPDATE SET roles = EXCLUDED.roles, password_hash = EXCLUDED.password_hash""",
        (username, list(roles), password_hash),
    )


async def devices_without_credential(conn: AsyncConnection) -> list[tuple[str, str]]:
    """(kind, id) of every registered meter and vehicle that has no credential yet."""
    cur = await conn.execute(
        """SELECT 'meter', id FROM meter WHERE id NOT IN (SELECT device_id FROM device_credential)
           UNION ALL
           SELECT 'vehicle', id FROM vehicle WHERE id NOT IN (SELECT device_id FROM device_credential)
           ORDER BY 1, 2"""
    )
    return [(kind, device_id) for kind, device_id in await cur.fetchall()]


async def registered_kind(conn: AsyncConnection, device_id: str) -> str | None:
    """ "meter" or "vehicle" if the registry holds the id (as either; ids are unique across both)."""
    cur = await conn.execute(
        "SELECT 'meter' FROM meter WHERE id = %s UNION ALL SELECT 'vehicle' FROM vehicle WHERE id = %s",
        (device_id, device_id),
    )
    kinds = [row[0] for row in await cur.fetchall()]
    if len(kinds) > 1:
        raise ValueError(f"{device_id!r} is both a meter and a vehicle: a device's MQTT username must be unique")
    return kinds[0] if kinds else None


async def set_device_credential(conn: AsyncConnection, device_kind: str, device_id: str, password_hash: str) -> None:
    await conn.execute(
        """INSERT INTO device_credential (device_id, device_kind, password_hash) VALUES (%s, %s, %s)
           ON CONFLICT (device_id) DO UPDATE
           SET device_kind = EXCLUDED.device_kind, password_hash = EXCLUDED.password_hash, issued_at = now()""",
        (device_id, device_kind, password_hash),
    )


async def accounts(conn: AsyncConnection) -> tuple[list[ServiceAccount], list[DeviceAccount]]:
    """Every service account, and the credentials of devices the registry still holds, but a retired vehicle's.

    The devices are the view `broker_device` (migration 0041), which EMQX's accounts are made from too."""
    services = await conn.execute("SELECT username, roles, password_hash FROM service_account ORDER BY username")
    devices = await conn.execute("SELECT device_id, device_kind, password_hash FROM broker_device ORDER BY device_id")
    return (
        [ServiceAccount(*row) for row in await services.fetchall()],
        [DeviceAccount(*row) for row in await devices.fetchall()],
    )
