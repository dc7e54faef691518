"""Typed dependencies: what a route states it needs in its signature."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool


def get_pool(request: Request) -> AsyncConnectionPool[AsyncConnection]:
    pool: AsyncConnectionPool[AsyncConnection] = request.app.state.pool
    return pool


PoolDep = Annotated[AsyncConnectionPool[AsyncConnection], Depends(get_pool)]
