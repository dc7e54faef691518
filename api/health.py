"""Liveness of the API and of its database."""

from __future__ import annotations

import psycopg
from fastapi import APIRouter
from fastapi.responses import JSONResponse
from psycopg_pool import PoolTimeout

from api.deps import PoolDep

router = APIRouter(prefix="/health", tags=["health"])


@router.get("")
async def health(pool: PoolDep) -> JSONResponse:
    """200 when the API can reach its database, 503 when it cannot."""
    try:
        async with pool.connection(timeout=2) as conn:
            await conn.execute("SELECT 1")
    except (psycopg.OperationalError, PoolTimeout) as exc:
        return JSONResponse({"ok": False, "database": str(exc).strip()[:200]}, status_code=503)
    return JSONResponse({"ok": True, "database": "ok"})
