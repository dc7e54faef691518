"""A unit of this test, receivers as processes of their own, and the notifier's settings pointing at them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.support.notifier import remove_rules
from tests.support.receivers import Receiver, receiving
from tests.support.registry import Devices, register_devices
from tests.support.stack import settings_for
from yiwang.settings import Settings
from yiwang.stack import Stack


@pytest.fixture
async def unit(stack: Stack, tag: str) -> AsyncIterator[Devices]:
    devices = await register_devices(stack.postgres.url, f"n{tag}", meters=0, vehicles=3)
    yield devices
    await remove_rules(stack.postgres.url, devices.organisation)


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[Receiver]:
    with receiving("smtp", tmp_path / "smtp") as receiver:
        yield receiver


@pytest.fixture
def webhook(tmp_path: Path) -> Iterator[Receiver]:
    with receiving("webhook", tmp_path / "webhook") as receiver:
        yield receiver


@pytest.fixture
def notifier_settings(stack: Stack, tag: str, smtp: Receiver) -> Settings:
    """Quick sweeps and retries, plain SMTP to the test's server."""
    return settings_for(
        stack,
        tag,
        notifier_metrics_port=0,
        notifier_poll_seconds=0.2,
        notify_retry_seconds=0.2,
        notify_retry_max_seconds=1.0,
        notify_max_attempts=3,
        notify_timeout_seconds=3.0,
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        smtp_security="none",
        smtp_from="yiwang@example.org",
    )
