"""MQTT messages as devices send them: topic, JSON payload in the contract's field names, each device's habits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import orjson

from domain.dead_letter import Reason
from domain.position import Position
from domain.topics import POSITION, READING, topic
from simulators.seeds import key

CST = timezone(timedelta(hours=8), "CST")
# Items per array in a backfill: well inside the contract's limits (1000 items, 64 KiB) even with the
# longest item of each family (~75 and ~270 bytes); tests check the bytes.
BATCH_ITEMS = {READING.name: 500, POSITION.name: 200}


@dataclass(frozen=True, slots=True)
class Habits:
    """How one device writes its payloads. Real fleets mix vendors, so the simulator does too."""

    epoch_ms: bool  # times as epoch milliseconds, else RFC 3339 with +08:00
    names_itself: bool  # puts its own id in the payload ("meter"/"vehicle")


def habits(seed: int, device_id: str, *, epoch_ms_share: float) -> Habits:
    """A device's habits, fixed by the seed and its id."""
    h = key(seed, "habits", device_id)
    return Habits(epoch_ms=(h & 0xFFFF) / 65536 < epoch_ms_share, names_itself=(h >> 16) & 3 == 0)


@dataclass(frozen=True, slots=True)
class Message:
    """One MQTT publication and what the simulator expects of it.

    Args:
        topic: where it is published.
        payload: the bytes.
        family: `reading` or `position`.
        items: readings or positions inside (0 for an unreadable payload).
        verdict: the dead-letter reason the collector should give it; None if it should be stored.
        duplicate: the second publication of the same bytes.
    """

    topic: str
    payload: bytes
    family: str
    items: int
    verdict: Reason | None = None
    duplicate: bool = False


def stamp(t: float, *, epoch_ms: bool) -> str | int:
    """A device timestamp: epoch milliseconds or RFC 3339 in China Standard Time."""
    if epoch_ms:
        return round(t * 1000)
    return datetime.fromtimestamp(t, CST).isoformat()


def reading_item(meter_id: str, time: str | int, register: float, style: Habits) -> dict[str, object]:
    """One reading as the contract names its fields; registers to 0.01 of the unit, as meters show them.

    Args:
        meter_id: the meter, written into the item by meters that name themselves.
        time: the device timestamp, from `stamp` (callers stamp a time once for many meters).
        register: the register value.
        style: the meter's habits.
    """
    if style.names_itself:
        return {"time": time, "register": int(register * 100 + 0.5) / 100, "meter": meter_id}
    return {"time": time, "register": int(register * 100 + 0.5) / 100}


def reading_items(
    meter_id: str, times: Sequence[str | int], registers: Sequence[float], style: Habits
) -> list[dict[str, object]]:
    """Many readings of one meter (the backfill's hot path: a year of a city is tens of millions).

    Registers are never negative, so rounding half up by hand gives `round(x, 2)` at a quarter of the cost.
    """
    if style.names_itself:
        return [
            {"time": t, "register": int(r * 100 + 0.5) / 100, "meter": meter_id}
            for t, r in zip(times, registers, strict=True)
        ]
    return [{"time": t, "register": int(r * 100 + 0.5) / 100} for t, r in zip(times, registers, strict=True)]


def position_item(vehicle_id: str, fix: Position, style: Habits) -> dict[str, object]:
    """One position as the contract names its fields; optional ones left out when the terminal lacks them."""
    item: dict[str, object] = {
        "time": stamp(fix.time.timestamp(), epoch_ms=style.epoch_ms),
        "latitude": fix.latitude,
        "longitude": fix.longitude,
        "speed": fix.speed,
        "heading": fix.heading,
        "altitude": fix.altitude,
        "odometer": fix.odometer,
        "ignition": fix.ignition,
        "satellites": fix.satellites,
        "accuracy": fix.accuracy,
        "alarm": fix.alarm,
        "status": fix.status,
    }
    if fix.soc is not None:
        item["soc"] = fix.soc
    if fix.fuel is not None:
        item["fuel"] = fix.fuel
    if fix.blind:
        item["blind"] = True
    if style.names_itself:
        item["vehicle"] = vehicle_id
    return item


def message(root: str, family: str, device_id: str, items: list[dict[str, object]], *, single: bool) -> Message:
    """A good message: a single object for a live report, an array for anything buffered or historical."""
    device = READING.device if family == READING.name else POSITION.device
    body = items[0] if single and len(items) == 1 else items
    return Message(topic(root, device, device_id, family), orjson.dumps(body), family, len(items))
