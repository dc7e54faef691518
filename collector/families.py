"""The topic families as the collector reads them: the parser of each, and the family of a received topic."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Final

from collector import position, reading
from collector.contract import Limits, Rejected
from collector.invalid import InvalidMessage
from domain import topics
from domain.dead_letter import Reason
from domain.topics import POSITION, READING, Family

Parser = Callable[[str, bytes, datetime, Limits], tuple[list[Any], list[Rejected]]]

PARSERS: Final[dict[Family, Parser]] = {READING: reading.parse, POSITION: position.parse}


def route(root: str, name: str) -> tuple[Family, str]:
    """Find the family and device id of a received topic.

    Raises:
        InvalidMessage: the topic is not one of ours.
    """
    found = topics.route(root, name)
    if found is None:
        raise InvalidMessage(Reason.UNKNOWN_TOPIC, f"no device family at {name[:200]!r}")
    return found
