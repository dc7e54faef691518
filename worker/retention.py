"""Retention, one turn every retention_check_seconds: raw positions and readings older than their setting are
dropped a chunk at a time (on the Apache edition by this turn, on the full edition by TimescaleDB's own policy,
which this turn sets: db/retention.py), compressed after theirs on the full edition (its policy, set by this turn;
the Apache edition has no compression, which the turn logs once), and audit rows older than theirs move to
audit_log_archive.

What is made from raw data stays: the consumption roll-up never recounts behind the oldest reading it still has
(worker/rollup.py), the mileage roll-up keeps the trips before the oldest position (worker/mileage.py), and packed
track hours live in their own table. Dead letters keep their own rule, applied by every collector
(collector/run.py: dead_letter_retention_days).

One worker at a time takes the turn (a transaction-scoped advisory lock); another skips it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from db import retention as retention_db
from worker.metrics import Metrics
from worker.turns import periodically
from yiwang.settings import Settings

log = logging.getLogger(__name__)

JOB = "retention"  # the job's name in the worker's metrics and health
_LOCK = 0x7977_0010  # the advisory lock of a retention turn
_AUDIT_BATCH = 10_000  # audit rows moved per transaction
_UNCOMPRESSED: set[str] = set()  # tables whose compression was asked of an Apache edition, logged once a process


@dataclass(frozen=True, slots=True)
class Rules:
    """How long each raw table's rows and the audit log's are kept (None: for good)."""

    raw: dict[str, timedelta | None]
    audit: timedelta | None
    compress: dict[str, timedelta | None] = field(default_factory=dict)

    @classmethod
    def of(cls, settings: Settings) -> Rules:
        def days(value: float) -> timedelta | None:
            return timedelta(days=value) if value > 0 else None

        return cls(
            {"position": days(settings.position_retention_days), "reading": days(settings.reading_retention_days)},
            days(settings.audit_retention_days),
            {
                "position": days(settings.position_compress_after_days),
                "reading": days(settings.reading_compress_after_days),
            },
        )


async def apply(pool: AsyncConnectionPool[AsyncConnection], rules: Rules, *, now: datetime | None = None) -> int:
    """One turn: returns the chunks dropped and the audit rows moved (0 when another worker holds the turn)."""
    done = 0
    async with pool.connection() as conn:
        async with conn.transaction():
            if not await _turn_is_ours(conn):
                return 0
            for table, keep in rules.raw.items():
                dropped = await retention_db.apply(conn, table, keep)
                if dropped:
                    log.info("retention: %d chunk(s) of %s older than %s dropped", dropped, table, keep)
                done += dropped
            for table, after in rules.compress.items():
                state = await retention_db.compress(conn, table, after)
                if state == "unavailable" and after is not None and table not in _UNCOMPRESSED:
                    _UNCOMPRESSED.add(table)
                    log.warning(
                        "retention: %s is not compressed: this TimescaleDB is the Apache edition, which has no"
                        " compression (docs/operating.md, Retention)",
                        table,
                    )
        if rules.audit is not None:
            before = (now or datetime.now(UTC)) - rules.audit
            while True:
                async with conn.transaction():
                    if not await _turn_is_ours(conn):
                        break
                    moved = await retention_db.archive_audit(conn, before, _AUDIT_BATCH)
                done += moved
                if moved < _AUDIT_BATCH:
                    break
    return done


async def _turn_is_ours(conn: AsyncConnection) -> bool:
    """In the caller's transaction: take the turn's lock unless another worker holds it."""
    cur = await conn.execute("SELECT pg_try_advisory_xact_lock(%s)", (_LOCK,))
    locked = await cur.fetchone()
    return locked is not None and bool(locked[0])


async def maintain(
    pool: AsyncConnectionPool[AsyncConnection], rules: Rules, every: float, *, metrics: Metrics | None = None
) -> None:
    """Apply the rules every `every` seconds until cancelled; a failure is logged and retried at the next turn."""
    await periodically(lambda: apply(pool, rules), every, JOB, metrics=metrics)
