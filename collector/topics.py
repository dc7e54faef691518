"""Topic names: the one place that knows `<root>/<device>/<id>/<family>` and its subscriptions."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from collector import position, reading
from collector.contract import Limits, Rejected
from collector.invalid import InvalidMessage, Reason

Parser = Callable[[str, bytes, datetime, Limits], tuple[list[Any], list[Rejected]]]


@dataclass(frozen=True, slots=True)
class Family:
    """A topic family: which device speaks, what it sends, and how to read it."""

    device: str
    name: str
    parse: Parser


FAMILIES: tuple[Family, ...] = (
    Family(reading.DEVICE, reading.NAME, reading.parse),
    Family(position.DEVICE, position.NAME, position.parse),
)
_BY_KEY = {(f.device, f.name): f for f in FAMILIES}
_DEVICE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")


def topic(root: str, device: str, device_id: str, family: str) -> str:
    """The topic a device publishes to, e.g. `yiwang/meter/m-0001/reading`."""
    return f"{root}/{device}/{device_id}/{family}"


def subscriptions(root: str, shared_group: str | None = None) -> list[str]:
    """One subscription per family; with a group, collectors of that group share the stream."""
    filters = [topic(root, f.device, "+", f.name) for f in FAMILIES]
    if shared_group:
        return [f"$share/{shared_group}/{f}" for f in filters]
    return filters


def route(root: str, name: str) -> tuple[Family, str]:
    """Find the family and device id of a received topic.

    Raises:
        InvalidMessage: the topic is not one of ours.
    """
    parts = name.split("/")
    root_parts = root.split("/")
    n = len(root_parts)
    if len(parts) == n + 3 and parts[:n] == root_parts:
        family = _BY_KEY.get((parts[n], parts[n + 2]))
        device_id = parts[n + 1]
        if family is not None and _DEVICE_ID.fullmatch(device_id):
            return family, device_id
    raise InvalidMessage(Reason.UNKNOWN_TOPIC, f"no device family at {name[:200]!r}")
