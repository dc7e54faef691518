"""How the collector reads what the simulators publish: the topic routed, the payload parsed, the verdict."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from collector.contract import Limits
from collector.invalid import InvalidMessage, Reason
from collector.topics import route
from simulators.messages import Message

LIMITS = Limits()


@dataclass(frozen=True)
class Seen:
    """What the collector's parser made of one message."""

    device_id: str
    rows: list[Any]
    rejected: list[Reason]
    refused: Reason | None  # the whole message refused


def parse(root: str, message: Message, received_at: datetime | None = None) -> Seen:
    family, device_id = route(root, message.topic)
    try:
        rows, rejected = family.parse(device_id, message.payload, received_at or datetime.now(UTC), LIMITS)
    except InvalidMessage as exc:
        return Seen(device_id, [], [], exc.reason)
    return Seen(device_id, rows, [r.reason for r in rejected], None)


def items(message: Message) -> list[dict[str, Any]]:
    body = orjson.loads(message.payload)
    return body if isinstance(body, list) else [body]
