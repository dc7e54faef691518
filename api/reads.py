"""Where the API's heavy reads go: reports, energy statistics, exports and the survey read from the read replica
(YIWANG_API_READ_DATABASE_URL, a streaming standby) when it answers and is recent enough, else from the primary.
Writes, logins, sessions and the audit log always use the primary's pool (`Resources.pool`): the audit middleware
records an auditor's read of a report there even when the report came from the replica.

Each such response says where its figures came from and, from the replica, as of when: the headers
`Yiwang-Read-From` (`replica` or `primary`) and `Yiwang-Data-As-Of` (every commit up to that moment is in the
figures), and a file's provenance lines (api/files/provenance.py). A replica that cannot be reached within
YIWANG_API_READ_WAIT_SECONDS is rested for YIWANG_API_READ_RETRY_SECONDS, one further behind than
YIWANG_API_READ_MAX_LAG_SECONDS is passed over (domain/replica.py): the primary answers, and the log says why once
per change. A report never fails because the replica did: one the replica fails midway is read again from the
primary.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, MutableMapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final, Literal, TypeVar

import psycopg
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.metrics import Metrics
from db import replica as replica_db
from db.pool import open_pool
from domain.replica import judge
from yiwang.settings import Settings

_log = logging.getLogger(__name__)
T = TypeVar("T")

READ_FROM: Final = "Yiwang-Read-From"
AS_OF: Final = "Yiwang-Data-As-Of"
_SCOPE_KEY: Final = "yiwang.read_from"  # where a request notes its Source for ReadSourceHeaders


@dataclass(frozen=True, slots=True)
class Source:
    """Where a request's figures were read: the replica, with every commit up to `as_of` in them, or the primary
    (live; `as_of` None)."""

    name: Literal["primary", "replica"]
    as_of: datetime | None = None

    def headers(self) -> dict[str, str]:
        found: dict[str, str] = {READ_FROM: self.name}
        if self.as_of is not None:
            found[AS_OF] = self.as_of.isoformat(timespec="milliseconds")
        return found


PRIMARY: Final = Source("primary")


class Replica:
    """The replica's pool, and what this process knows of it: until when it rests after failing to answer."""

    def __init__(self, pool: AsyncConnectionPool[AsyncConnection], settings: Settings, metrics: Metrics) -> None:
        self.pool = pool
        self.metrics = metrics
        self.max_lag = timedelta(seconds=settings.api_read_max_lag_seconds)
        self.wait_seconds = settings.api_read_wait_seconds
        self._retry = settings.api_read_retry_seconds
        self._resting_until = 0.0
        self._passed_over: str | None = None  # why the primary answered last; logged when it changes

    def resting(self) -> bool:
        return time.monotonic() < self._resting_until

    def busy(self, exc: Exception) -> bool:
        """Whether waiting for a connection timed out because every one is lent (long exports at the busiest hour):
        the primary answers this report, but the replica is up and is not rested for it."""
        if not isinstance(exc, PoolTimeout):
            return False
        stats = self.pool.get_stats()
        return stats.get("pool_size", 0) >= self.pool.max_size and stats.get("pool_available", 0) == 0

    def rest(self, why: str) -> None:
        self._resting_until = time.monotonic() + self._retry
        self.passed_over(f"{why}; trying it again in {self._retry:.0f} s")

    def passed_over(self, why: str | None) -> None:
        """Note why the primary answers instead (None: the replica answers again); log each change once."""
        if why != self._passed_over:
            if why is None:
                _log.info("the read replica answers reports again")
            else:
                _log.warning("reports read from the primary: %s", why)
            self._passed_over = why


# A replica's host that dies without a word (no reset) would hold each report on its connection until TCP gives up,
# some 15 minutes: libpq's keepalives find it gone within about 25 s, unacknowledged writes within 15 s, a connect
# within 5 s, and the pool then leaves the reports to the primary.
_GONE_HOST: Final[Mapping[str, object]] = {
    "connect_timeout": 5,
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
    "tcp_user_timeout": 15_000,
}


@asynccontextmanager
async def open_replica(settings: Settings, metrics: Metrics) -> AsyncIterator[Replica | None]:
    """The replica's pool while the app runs, or None when none is set. The API starts without waiting for it: a
    replica that is down leaves the reports to the primary."""
    if settings.api_read_database_url is None:
        yield None
        return
    async with open_pool(
        settings.api_read_database_url,
        min_size=settings.db_pool_min,
        max_size=settings.db_pool_max,
        wait=False,
        name="yiwang-api-reads",
        # The pool's retries double their delay: retried for ever, an hour's outage would leave the replica unused for
        # about an hour after its return. Given up after a rest, the next read that tries it starts with a fresh one.
        reconnect_timeout=settings.api_read_retry_seconds,
        connection=_GONE_HOST,
    ) as pool:
        yield Replica(pool, settings, metrics)


@dataclass
class Reads:
    """A request's heavy reads: `read(work)` runs them on the replica or on the primary, and notes which in the
    request (`source`, and for the response's headers)."""

    primary: AsyncConnectionPool[AsyncConnection]
    replica: Replica | None
    scope: MutableMapping[str, Any]
    source: Source = field(default=PRIMARY, init=False)

    async def read(self, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        """`work`'s answer, on a connection in a read-only transaction: the replica's when it answers and is recent
        enough, else the primary's (the primary's transaction is read-only too: a route that wrote would fail there
        as on the replica, so the tests without a replica hold every route to it). Where it was read is noted in the
        request (`source`, and for the response's headers).

        A read the replica's server ends midway runs again, whole, on the primary (`_ended_by_replica`): it may
        cancel a report's query when replaying the primary's changes needs what the query holds (a recovery conflict:
        a chunk that retention dropped, say), or go away. `work` only reads, so running it twice changes nothing. A
        read's own error (a timeout, a limit) is the primary's too, and is raised."""
        replica = self.replica
        if replica is not None and not replica.resting():
            async with self.primary.connection() as primary:
                wal_end = await replica_db.wal_end(primary)
            lent: AsyncConnection | None = None
            try:
                async with replica.pool.connection(timeout=replica.wait_seconds) as conn:
                    replay = await replica_db.replay(conn, wal_end)
                    if replay.lag is not None:
                        replica.metrics.replica_lag.set(replay.lag.total_seconds())
                    fresh = judge(replay, replica.max_lag)
                    replica.passed_over(fresh.behind)
                    if fresh.behind is None:
                        self._note(Source("replica", fresh.as_of))
                        lent = conn
                        answer = await work(conn)
                        self._count()
                        return answer
            except (PoolTimeout, psycopg.OperationalError) as exc:
                if lent is None:
                    if not replica.busy(exc):
                        replica.rest(f"the read replica cannot be reached ({type(exc).__name__}: {exc})")
                elif isinstance(exc, psycopg.OperationalError) and _ended_by_replica(exc, lent):
                    # Not a reason to rest the replica: the next report may well run there.
                    _log.warning("a read failed on the read replica, read again from the primary: %s", exc)
                    replica.metrics.replica_failed.inc()
                else:
                    raise
        async with self.primary.connection() as conn:
            await conn.execute("SET TRANSACTION READ ONLY")
            self._note(PRIMARY)
            answer = await work(conn)
            self._count()
            return answer

    def _note(self, source: Source) -> None:
        self.source = source
        self.scope[_SCOPE_KEY] = source

    def _count(self) -> None:
        """Count the read where it was answered (only with a replica set)."""
        if self.replica is not None:
            self.replica.metrics.reads.labels(self.source.name).inc()


# What the replica's server does to a read that is not the read's fault: the connection lost (class 08), the session
# ended by an administrator, a shutdown or a crash (57P01 to 57P03), its database dropped (57P04), or a query cancelled
# by a recovery conflict (40001, serialization_failure: a read-only transaction meets it for nothing else).
_ENDED_BY_SERVER: Final = frozenset({"57P01", "57P02", "57P03", "57P04", "40001"})


def _ended_by_replica(exc: psycopg.OperationalError, conn: AsyncConnection) -> bool:
    state = exc.sqlstate
    return conn.broken or state is None or state.startswith("08") or state in _ENDED_BY_SERVER


def read_responses(answers: Mapping[int | str, dict[str, Any]]) -> dict[int | str, dict[str, Any]]:
    """A read route's `responses=`, its 200 declaring the headers that say where its figures were read."""
    headers = {
        READ_FROM: {
            "description": "replica: read from the read replica (YIWANG_API_READ_DATABASE_URL); primary: from the "
            "primary, live (no replica set, or it was down or too far behind)",
            "schema": {"type": "string", "enum": ["replica", "primary"]},
        },
        AS_OF: {
            "description": "from the replica only: every transaction committed up to this moment is in the figures",
            "schema": {"type": "string", "format": "date-time"},
        },
    }
    ok = answers.get(200, {})
    return {**answers, 200: {**ok, "headers": {**ok.get("headers", {}), **headers}}}


class ReadSourceHeaders:
    """Adds where a request's figures were read, and as of when, to its response's headers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_source(message: Message) -> None:
            source = scope.get(_SCOPE_KEY)
            if message["type"] == "http.response.start" and isinstance(source, Source):
                headers = MutableHeaders(scope=message)
                for name, value in source.headers().items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_source)
