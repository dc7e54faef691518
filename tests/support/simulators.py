"""The simulators in tests: the seed, a broker of their own, and how the collector reads what they publish (the
topic routed, the payload parsed, the verdict)."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from collector.contract import Limits
from collector.families import PARSERS, route
from collector.invalid import InvalidMessage
from domain.dead_letter import Reason
from simulators.messages import Message
from tests.support.broker import open_broker
from yiwang.stack import Mosquitto, free_port

SEED = 20260101
LIMITS = Limits()


def start_broker() -> Mosquitto:
    """A Mosquitto of its own that lets the tester in, with no database behind it."""
    home = Path(tempfile.mkdtemp(prefix="yiwang-sim-"))
    home.chmod(0o755)
    broker = Mosquitto(home / "mosquitto", free_port())
    open_broker(broker)
    broker.start()
    return broker


@dataclass(frozen=True)
class Seen:
    """What the collector's parser made of one message."""

    device_id: str
    rows: list[Any]
    rejected: list[Reason]
    refused: Reason | None  # the whole message refused


def parse(root: str, message: Message, received_at: datetime | None = None) -> Seen:
    """What the collector makes of a message the simulators publish."""
    family, device_id = route(root, message.topic)
    try:
        rows, rejected = PARSERS[family](device_id, message.payload, received_at or datetime.now(UTC), LIMITS)
    except InvalidMessage as exc:
        return Seen(device_id, [], [], exc.reason)
    return Seen(device_id, rows, [r.reason for r in rejected], None)


def items(message: Message) -> list[dict[str, Any]]:
    """The items of a message: one object, or the array's."""
    body = orjson.loads(message.payload)
    return body if isinstance(body, list) else [body]
