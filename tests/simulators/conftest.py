"""Fixtures of the simulator tests: small cities, and a Mosquitto broker of their own."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from simulators.city import City, build_city
from tests.support import open_broker
from yiwang.stack import Mosquitto, free_port

SEED = 20260101


@pytest.fixture(scope="session")
def city() -> City:
    """A small Jingdezhen: enough of every category for the profiles, few enough to be quick."""
    return build_city(SEED, 24, 40)


def start_broker() -> Mosquitto:
    home = Path(tempfile.mkdtemp(prefix="yiwang-sim-"))
    home.chmod(0o755)
    broker = Mosquitto(home / "mosquitto", free_port())
    open_broker(broker)
    broker.start()
    return broker


@pytest.fixture(scope="session")
def broker() -> Iterator[Mosquitto]:
    """A broker for the publisher tests that need one but no database."""
    b = start_broker()
    try:
        yield b
    finally:
        b.stop()
        shutil.rmtree(b.home.parent, ignore_errors=True)
