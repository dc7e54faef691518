"""The matching export matches once per file: its XLSX holds the report and the suspicion list, and even a CSV of one
view is made from both, yet matching reads every trip and fix of every vehicle, so one request must not do it twice
(api/fleet/matching.py, `matched`: "an export of both matches once")."""

from __future__ import annotations

import csv
import io
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
import openpyxl
import pytest

from db import matching as matching_db
from tests.support.api import AsUser, Units
from tests.support.files import csv_body
from yiwang.settings import Settings

# What matching reads from the database (db/matching.py), each once per matching.
_READS = ("vehicles", "holds", "trips")


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """How many times each of matching's reads has run: the real reads, counted as they pass."""
    counts = dict.fromkeys(_READS, 0)

    def counted(name: str, read: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        async def call(*args: Any, **kwargs: Any) -> Any:
            counts[name] += 1
            return await read(*args, **kwargs)

        return call

    for name in _READS:
        monkeypatch.setattr(matching_db, name, counted(name, getattr(matching_db, name)))
    return counts


async def test_a_matching_file_matches_its_period_once(
    client: httpx.AsyncClient, units: Units, as_user: AsUser, api_settings: Settings, reads: dict[str, int]
) -> None:
    staff = await as_user("dispatcher")
    today = datetime.now(api_settings.zone).date()
    period = {"start": (today - timedelta(days=1)).isoformat(), "end": (today + timedelta(days=1)).isoformat()}

    book = await client.get("/exports/matching.xlsx", params=period, headers=staff)
    assert book.status_code == 200, book.text
    sheets = openpyxl.load_workbook(io.BytesIO(book.content)).sheetnames
    assert sheets[:3] == ["公务与非调度里程", "车辆行程匹配", "疑似公车私用"]
    assert reads == dict.fromkeys(_READS, 1)

    units_csv = await client.get("/exports/matching.csv", params={**period, "view": "units"}, headers=staff)
    assert units_csv.status_code == 200, units_csv.text
    rows = list(csv.DictReader(io.StringIO(csv_body(units_csv.text))))
    assert {units.a.organisation, units.b.organisation} <= {r["organisation_id"] for r in rows}
    assert reads == dict.fromkeys(_READS, 2)
