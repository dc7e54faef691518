"""What the app's lifespan opens and every request shares: the settings, the connection pool (and the read
replica's, when one is set), the token signer and the live map. One `Resources` per process, set on the app when it
starts (api/app.py); api/deps.py lends its parts to the routes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.requests import HTTPConnection

if TYPE_CHECKING:  # for the types only: the audit middleware needs the pool, not the live map's modules
    from psycopg import AsyncConnection
    from psycopg_pool import AsyncConnectionPool

    from api.access.tokens import AccessTokens
    from api.live.follower import Live
    from api.reads import Replica
    from yiwang.settings import Settings


@dataclass(frozen=True, slots=True)
class Resources:
    settings: Settings
    pool: AsyncConnectionPool[AsyncConnection]
    tokens: AccessTokens
    live: Live
    replica: Replica | None = None  # reports and exports read there (api/reads.py); None: from `pool`


def of(connection: HTTPConnection) -> Resources:
    """The resources of the app serving this request or WebSocket.

    Raises:
        RuntimeError: the app's lifespan has not run (create the app with api.app.create_app and start it).
    """
    found = getattr(connection.app.state, "resources", None)
    if not isinstance(found, Resources):
        raise RuntimeError("the app has not started: its lifespan opens the pool and the live map (api/app.py)")
    return found
