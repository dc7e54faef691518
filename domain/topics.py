"""MQTT topics: `<root>/<device>/<device_id>/<family>`, one family per kind of device, the device id in the topic.

The collector subscribes to them, the broker's access list grants each device its own, the simulators (and
gateways) publish to them. A family's name is the word of the table its items are stored in (`reading`,
`position`), its device's the word of the registry table the device is in (`meter`, `vehicle`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from domain.ids import is_id

DeviceKind = Literal["meter", "vehicle"]
FamilyName = Literal["reading", "position"]


@dataclass(frozen=True, slots=True, eq=False)
class Family:
    """A topic family: which kind of device speaks, and what it sends. The families are the constants below,
    compared by identity (a dictionary keyed by them costs the collector nothing per message)."""

    device: DeviceKind
    name: FamilyName


READING: Final = Family("meter", "reading")
POSITION: Final = Family("vehicle", "position")
FAMILIES: Final[tuple[Family, ...]] = (READING, POSITION)
_BY_KEY: Final[dict[tuple[str, str], Family]] = {(f.device, f.name): f for f in FAMILIES}
# Outside the root: where EMQX's JT/T 808 gateway publishes what each terminal sends, its default up topic
# `jt808/${clientid}/${phone}/up` (collector/emqx_jt808.py reads it, when a deployment runs EMQX).
EMQX_JT808_UP: Final = "jt808/+/+/up"


def topic(root: str, device: str, device_id: str, family: str) -> str:
    """The topic a device publishes to, e.g. `yiwang/meter/m-0001/reading`."""
    return f"{root}/{device}/{device_id}/{family}"


def subscriptions(root: str, shared_group: str | None = None) -> list[str]:
    """One subscription per family; with a group, the subscribers of that group share the stream."""
    filters = [topic(root, f.device, "+", f.name) for f in FAMILIES]
    if shared_group:
        return [f"$share/{shared_group}/{f}" for f in filters]
    return filters


def route(root: str, name: str) -> tuple[Family, str] | None:
    """The family and device id of a received topic, or None when it is not one of ours."""
    parts = name.split("/")
    root_parts = root.split("/")
    n = len(root_parts)
    if len(parts) == n + 3 and parts[:n] == root_parts:
        family = _BY_KEY.get((parts[n], parts[n + 2]))
        device_id = parts[n + 1]
        if family is not None and is_id(device_id):
            return family, device_id
    return None
