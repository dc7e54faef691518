"""A terminal's fixes as the device contract's position payloads (docs/device-protocol.md, Position): pure.

The gateway names the vehicle in each item, so the collector checks that it matches the topic's. A fix without
item 0x01 carries no odometer (the contract makes odometer optional: issue 16); a fix at 0, 0 is not a place
(`impossible`), and is recorded rather than published.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import orjson

from domain.jt808.location import Location

# orjson writes an aware datetime as RFC 3339 with its offset; fixes are UTC.
_OPTIONS = orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z


def impossible(location: Location) -> bool:
    """A fix at 0, 0: what terminals without a GNSS fix report (a point in the Gulf of Guinea, not a vehicle)."""
    return location.latitude == 0 and location.longitude == 0


def item(vehicle_id: str, location: Location, *, blind: bool = False) -> dict[str, Any]:
    """One fix as a position item of the contract."""
    fields: dict[str, Any] = {
        "vehicle": vehicle_id,
        "time": location.time,
        "latitude": location.latitude,
        "longitude": location.longitude,
        "speed": location.speed,
        "heading": location.direction,
        "ignition": location.ignition,
        "altitude": location.altitude,
        "alarm": int(location.alarm),
        "status": int(location.status),
        "blind": blind,
    }
    if location.mileage is not None:
        fields["odometer"] = location.mileage
    if location.satellites is not None:
        fields["satellites"] = location.satellites
    if location.fuel is not None:
        fields["fuel"] = location.fuel
    return fields


def payloads(items: Sequence[dict[str, Any]], *, max_bytes: int, max_items: int) -> Iterator[bytes]:
    """The items as few payloads as the contract's limits allow, in their order: a single item as an object, more
    as arrays, each at most `max_bytes` long and of at most `max_items` items.

    Raises:
        ValueError: one item alone is longer than `max_bytes` (it cannot be: a fix is some 300 bytes).
    """
    if len(items) == 1:
        one = orjson.dumps(items[0], option=_OPTIONS)
        if len(one) > max_bytes:
            raise ValueError(f"a position item of {len(one)} bytes, limit {max_bytes}")
        yield one
        return
    chunk: list[bytes] = []
    size = 2  # the brackets
    for each in items:
        encoded = orjson.dumps(each, option=_OPTIONS)
        if len(encoded) + 2 > max_bytes:
            raise ValueError(f"a position item of {len(encoded)} bytes, limit {max_bytes}")
        if chunk and (size + 1 + len(encoded) > max_bytes or len(chunk) == max_items):
            yield b"[" + b",".join(chunk) + b"]"
            chunk, size = [], 2
        size += len(encoded) + (1 if chunk else 0)
        chunk.append(encoded)
    if chunk:
        yield b"[" + b",".join(chunk) + b"]"
