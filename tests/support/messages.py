"""Device messages as the tests publish them: readings and positions in the contract's fields."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson

from domain.topics import topic

BASE_TIME = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def reading_payload(i: int, *, meter: str | None = None, start: datetime = BASE_TIME) -> dict[str, object]:
    body: dict[str, object] = {"time": (start + timedelta(minutes=15 * i)).isoformat(), "register": 1000.0 + i}
    if meter:
        body["meter"] = meter
    return body


def position_payload(i: int, *, start: datetime = BASE_TIME, **extra: object) -> dict[str, object]:
    return {
        "time": int((start + timedelta(seconds=10 * i)).timestamp() * 1000),
        "latitude": 29.29 + i * 1e-4,
        "longitude": 117.20 + i * 1e-4,
        "speed": 30.0,
        "heading": 45.0,
        "odometer": 1000.0 + i * 0.1,
        "ignition": True,
        **extra,
    }


Message = tuple[str, bytes]


def reading_messages(root: str, meter: str, count: int, *, first: int = 0) -> list[Message]:
    return [
        (topic(root, "meter", meter, "reading"), orjson.dumps(reading_payload(i))) for i in range(first, first + count)
    ]


def position_messages(root: str, vehicle: str, count: int, *, first: int = 0) -> list[Message]:
    return [
        (topic(root, "vehicle", vehicle, "position"), orjson.dumps(position_payload(i)))
        for i in range(first, first + count)
    ]
