"""Devices registered for one test: an organisation with an institution, its meters and vehicles."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from db.registry import import_document
from domain.registry import Institution, Meter, Organisation, RegistryDocument, Vehicle


@dataclass(frozen=True)
class Devices:
    organisation: str
    meters: list[str]
    vehicles: list[str]


async def import_registry(url: str, document: RegistryDocument) -> None:
    """Import a registry document, as `yiwang registry import` does."""
    async with await psycopg.AsyncConnection.connect(url) as conn:
        await import_document(conn, document)


def terminal_id(tag: str, index: int) -> str:
    """The JT/T 808 terminal id (phone number) of a test's vehicle: 12 digits with a leading 0, as terminals pad
    them (simulators/city.py), unique to the test's tag."""
    return f"0{int(tag, 16) % 10**9:09d}{index:02d}"


def plate(tag: str, index: int) -> str:
    """The plate of a test's vehicle, as the registry writes it (a terminal sends it without the dot)."""
    return f"赣H·{tag}{index}"


async def register_devices(url: str, tag: str, *, meters: int, vehicles: int, terminals: bool = False) -> Devices:
    """Register an organisation with one institution, its meters and vehicles, through the registry import; with
    `terminals`, each vehicle has a JT/T 808 terminal id (`terminal_id`)."""
    org = f"org-{tag}"
    inst = f"inst-{tag}"
    document = RegistryDocument(
        organisations=[Organisation(id=org, name=f"测试单位 {tag}")],
        institutions=[Institution(id=inst, organisation_id=org, name=f"测试机关 {tag}", category="agency")],
        meters=[
            Meter(id=f"m-{tag}-{i}", institution_id=inst, energy_type="electricity", unit="kWh") for i in range(meters)
        ],
        vehicles=[
            Vehicle(
                id=f"v-{tag}-{i}",
                organisation_id=org,
                plate=plate(tag, i),
                energy="battery_electric",
                terminal_id=terminal_id(tag, i) if terminals else None,
            )
            for i in range(vehicles)
        ],
    )
    await import_registry(url, document)
    return Devices(org, [m.id for m in document.meters], [v.id for v in document.vehicles])
