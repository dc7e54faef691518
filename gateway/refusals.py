"""What the gateway refused, as dead letters (db/ingest.py, 0020's bounded columns), written a few at a time.

The topic column names where the bytes came from, since there is no MQTT topic: `jt808/<phone>` when the frame's
header (or the connection's authentication) told the phone number, else `jt808/peer/<address>:<port>` for bytes
that name nobody. `device_id` is the vehicle the connection authenticated as, so that the collector's pruning of
each device's dead letters counts a terminal's with its vehicle's; NULL before authentication.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from db import ingest
from domain.dead_letter import Reason
from gateway.metrics import Metrics

log = logging.getLogger(__name__)


def source(phone: str | None, peer: str) -> str:
    """The dead letter's topic: the terminal's phone when known, else the connection's address."""
    return f"jt808/{phone}" if phone else f"jt808/peer/{peer}"


@dataclass
class Refusals:
    """The dead letters of one connection not yet written; `write` sends them in one statement."""

    pool: AsyncConnectionPool[AsyncConnection]
    metrics: Metrics
    prefix_bytes: int
    rows: list[tuple[Any, ...]] = field(default_factory=list)

    def add(self, topic: str, raw: bytes, reason: Reason, detail: str, device_id: str | None = None) -> None:
        self.metrics.refused.labels(reason.value).inc()
        self.rows.append(
            (
                datetime.now(UTC),
                topic,
                raw[: self.prefix_bytes],
                reason.value,
                detail,
                device_id,
                len(raw),
                hashlib.sha256(raw).digest(),
                1,
            )
        )

    async def write(self) -> None:
        """Record what was added; a database that is away costs these traces (logged), never the connection."""
        if not self.rows:
            return
        rows, self.rows = self.rows, []
        try:
            async with self.pool.connection() as conn:
                await ingest.insert_dead_letters(conn, rows)
        except (psycopg.Error, TimeoutError) as exc:
            log.warning("%d dead letter(s) not recorded: %s", len(rows), exc)
