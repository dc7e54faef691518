"""Fixtures of the simulator tests: small cities, and a Mosquitto broker of their own."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from simulators.city import City, build_city
from tests.support.simulators import SEED, start_broker
from yiwang.stack import Mosquitto


@pytest.fixture(scope="session")
def city() -> City:
    """A small Jingdezhen: enough of every category for the profiles, few enough to be quick."""
    return build_city(SEED, 24, 40)


@pytest.fixture(scope="session")
def broker() -> Iterator[Mosquitto]:
    """A broker for the publisher tests that need one but no database."""
    b = start_broker()
    try:
        yield b
    finally:
        b.stop()
        shutil.rmtree(b.home.parent, ignore_errors=True)
