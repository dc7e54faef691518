"""Drives written as what a vehicle did (tests/support/tracks.py's Day), moved to a moment and sent as its terminal
sends them: position messages for the broker."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import orjson

from domain.position import Position
from domain.topics import topic
from tests.support.messages import Message
from tests.support.tracks import T0


def moved(fixes: Sequence[Position], start: datetime) -> list[Position]:
    """The fixes moved in time so that the day they were written in (beginning at T0) begins at `start`."""
    shift = start - T0
    return [f._replace(time=f.time + shift, received_at=f.received_at + shift) for f in fixes]


def position_messages(root: str, vehicle: str, fixes: Sequence[Position], *, blind: bool = False) -> list[Message]:
    """The fixes as the vehicle's position messages; `blind`: a blind-zone batch sent late (JT/T 808 0x0704)."""
    return [
        (
            topic(root, "vehicle", vehicle, "position"),
            orjson.dumps(
                {
                    "time": f.time.isoformat(),
                    "latitude": f.latitude,
                    "longitude": f.longitude,
                    "speed": f.speed,
                    "heading": f.heading,
                    "odometer": f.odometer,
                    "ignition": f.ignition,
                    "blind": blind,
                }
            ),
        )
        for f in fixes
    ]
