"""Topic names: devices publish to `<root>/<device>/<id>/<family>`; anything else is not ours."""

from __future__ import annotations

import pytest

from domain.topics import POSITION, READING, route, subscriptions, topic


@pytest.mark.parametrize("root", ["yiwang", "city/jdz"])
def test_a_device_topic_routes_to_its_family_and_device(root: str) -> None:
    assert route(root, topic(root, "vehicle", "JDZ-V0007", "position")) == (POSITION, "JDZ-V0007")
    assert route(root, topic(root, "meter", "m-0001.e", "reading")) == (READING, "m-0001.e")


@pytest.mark.parametrize(
    "name",
    [
        "other/meter/m1/reading",  # another root
        "yiwang/meter/m1/position",  # a meter does not send positions
        "yiwang/vehicle/v1/reading",
        "yiwang/meter/m1",  # too short
        "yiwang/meter/m1/reading/extra",  # too long
        "yiwang/meter//reading",  # no device id
        "yiwang/meter/m 1/reading",  # not a device id
        "yiwang/meter/" + "m" * 65 + "/reading",  # longer than any id the registry allows
    ],
)
def test_anything_else_is_not_ours(name: str) -> None:
    assert route("yiwang", name) is None


def test_one_subscription_per_family_and_shared_when_grouped() -> None:
    assert subscriptions("yiwang") == ["yiwang/meter/+/reading", "yiwang/vehicle/+/position"]
    assert subscriptions("yiwang", "collectors") == [
        "$share/collectors/yiwang/meter/+/reading",
        "$share/collectors/yiwang/vehicle/+/position",
    ]
