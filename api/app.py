"""The FastAPI application factory and its lifespan: the resources every request shares."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api.routes import health
from db.pool import open_pool
from yiwang.settings import Settings


def create_app(settings: Settings) -> FastAPI:
    """Build the app; the pool opens when the app starts and closes when it stops."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_pool(
            settings.database_url, min_size=1, max_size=settings.db_pool_max, name="yiwang-api"
        ) as pool:
            app.state.pool = pool
            app.state.settings = settings
            yield

    app = FastAPI(title="Yiwang", version="0.1.0", lifespan=lifespan)
    app.include_router(health.router)
    return app
