"""The collector's topic families: each family's parser, and a topic that is not ours refused with its reason."""

from __future__ import annotations

import pytest

from collector import position, reading
from collector.families import PARSERS, route
from collector.invalid import InvalidMessage
from domain.dead_letter import Reason
from domain.topics import FAMILIES, POSITION, READING


def test_each_family_has_its_parser() -> None:
    assert set(PARSERS) == set(FAMILIES)
    assert PARSERS[READING] is reading.parse
    assert PARSERS[POSITION] is position.parse


def test_a_device_topic_routes_to_its_family() -> None:
    assert route("yiwang", "yiwang/vehicle/v1/position") == (POSITION, "v1")


def test_a_topic_that_is_not_ours_is_refused_as_an_unknown_topic() -> None:
    with pytest.raises(InvalidMessage) as caught:
        route("yiwang", "yiwang/meter/m1/position")
    assert caught.value.reason is Reason.UNKNOWN_TOPIC
