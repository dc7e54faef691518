"""The live map's side of the database: the feed loaded whole at start and every `live_refresh_seconds`, looked at
every `live_batch_ms` and when a request asks (`Live.current`), and told by the database's notifications which
vehicles to read again and which alerts to push. One `Live` per API process, opened in its lifespan."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

import orjson
import psycopg
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from api.background import running
from api.live.feed import LiveFeed
from db import live as live_db
from db.alerts import ALERT_CHANNEL
from db.live import VEHICLE_CHANNEL
from yiwang.settings import Settings

log = logging.getLogger(__name__)

_RETRY_MAX_SECONDS = 10.0
# Vehicles handled between two yields to the event loop in a full load: a share of a second's work each.
_LOAD_PART = 2_000


async def refresh(feed: LiveFeed, pool: AsyncConnectionPool[AsyncConnection]) -> None:
    """Bring the feed up to date with the database: one query of the whole live map.

    Raises:
        psycopg.OperationalError, psycopg_pool.PoolTimeout: the database cannot be reached.
    """
    async with pool.connection() as conn:
        # Begun before the query: a look that reads a vehicle after the load's snapshot was taken is known to it.
        with feed.loading() as take:
            # Taken in parts: the map's clients are served between them, and each part is freed before the next is
            # made. A whole city's rows held at once set off a collection of the garbage collector's youngest
            # generation (yiwang/cli.py's thresholds) that walked them all.
            async for part in live_db.whole_map(conn, _LOAD_PART):
                take(part)
                del part
                await asyncio.sleep(0)


async def _refresh_forever(feed: LiveFeed, pool: AsyncConnectionPool[AsyncConnection], every: float) -> None:
    while True:
        await asyncio.sleep(every)
        try:
            await refresh(feed, pool)
        except (psycopg.OperationalError, PoolTimeout) as exc:
            log.warning("live map: the database did not answer (%s); the map holds what it has", exc)


@dataclass
class _Follower:
    """The feed's looks at the database, by the clock and when a request asks, one at a time, each from the mark
    the one before left."""

    feed: LiveFeed
    pool: AsyncConnectionPool[AsyncConnection]
    mark: int
    _begun: int = 0
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def look(self) -> None:
        async with self._lock:
            await self._look()

    async def current(self) -> None:
        """Bring the map up to date with everything committed before this call: a look of its own, unless one
        that began after the call has finished meanwhile (concurrent requests share looks)."""
        asked = self._begun
        async with self._lock:
            if self._begun == asked:
                await self._look()

    async def _look(self) -> None:
        self._begun += 1
        async with self.pool.connection() as conn:
            self.mark = await self.feed.look(conn, self.mark)

    async def forever(self, every: float) -> None:
        """Look, then send what the look brought at once: a fix waits for at most one turn, not for a look and
        then for a tick out of step with it."""
        while True:
            await asyncio.sleep(every)
            try:
                await self.look()
            except (psycopg.OperationalError, PoolTimeout) as exc:
                log.warning("live map: the database did not answer (%s); retrying", str(exc).strip()[:200])
            self.feed.tick(datetime.now(UTC))


async def _listen_forever(feed: LiveFeed, url: str) -> None:
    """Note what the database announces: vehicles changed in the registry or by a request, alerts committed.

    A notification lost while disconnected is covered by the next full refresh (every live_refresh_seconds).
    """
    delay = 0.5
    while True:
        try:
            async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
                await live_db.listen(conn, VEHICLE_CHANNEL, ALERT_CHANNEL)
                delay = 0.5
                async for note in conn.notifies():
                    if note.channel == VEHICLE_CHANNEL:
                        feed.dirty.add(note.payload)
                    else:
                        try:
                            feed.alert_ids += [int(i) for i in orjson.loads(note.payload)]
                        except (orjson.JSONDecodeError, TypeError, ValueError):
                            log.warning("live map: a %s notification that is not a list of ids", ALERT_CHANNEL)
        except psycopg.OperationalError as exc:
            log.warning("live map: not listening to the database (%s); retrying", str(exc).strip()[:200])
        await asyncio.sleep(delay)
        delay = min(delay * 2, _RETRY_MAX_SECONDS)


@dataclass
class Live:
    """The feed of this process and how a request brings it up to date."""

    feed: LiveFeed
    _follower: _Follower

    async def current(self) -> LiveFeed:
        """The feed, holding every fix and change committed before this call.

        Raises:
            psycopg.OperationalError, psycopg_pool.PoolTimeout: the database cannot be reached.
        """
        await self._follower.current()
        return self.feed


@asynccontextmanager
async def open_feed(pool: AsyncConnectionPool[AsyncConnection], settings: Settings) -> AsyncIterator[Live]:
    """The live feed of this process, loaded from the database before it is handed out.

    Raises:
        psycopg.OperationalError: the database does not answer the first load.
    """
    feed = LiveFeed(settings.vehicle_offline_seconds, settings.live_resume_seconds)
    async with pool.connection() as conn:
        follower = _Follower(feed, pool, await live_db.first_mark(conn))
    await refresh(feed, pool)
    feed.tick(datetime.now(UTC))  # what was loaded counts as sent: subscribers start from snapshots
    async with running(
        _listen_forever(feed, settings.database_url_of("api")),
        _refresh_forever(feed, pool, settings.live_refresh_seconds),
        follower.forever(settings.live_batch_ms / 1000),
    ):
        yield Live(feed, follower)
