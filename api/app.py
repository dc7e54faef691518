"""The FastAPI application factory and its lifespan: the resources every request shares."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import APIRouter, FastAPI

from api import pages
from api.audit import AuditMiddleware
from api.background import running
from api.dispatch import mileage, packed
from api.energy import rollup
from api.live import open_feed
from api.routes import (
    alerts,
    audit,
    auth,
    drivers,
    energy,
    exports,
    factors,
    health,
    institutions,
    meters,
    organisations,
    positions,
    quotas,
    reports,
    requests,
    stream,
    tracks,
    users,
    vehicles,
)
from api.tokens import AccessTokens, check_secret
from db.pool import open_pool
from yiwang.settings import Settings

# Every router of the app: tests/api/test_scope.py checks that each route in them declares its permission.
ROUTERS: tuple[APIRouter, ...] = tuple(
    module.router
    for module in (
        health,
        auth,
        users,
        organisations,
        institutions,
        meters,
        vehicles,
        positions,
        stream,
        tracks,
        requests,
        drivers,
        alerts,
        energy,
        factors,
        quotas,
        exports,
        reports,
        audit,
    )
)


def create_app(settings: Settings) -> FastAPI:
    """Build the app; the pool opens when the app starts and closes when it stops.

    Raises:
        TokenSecretError: settings.api_token_secret is missing or shorter than 32 characters.
    """
    tokens = AccessTokens(check_secret(settings.api_token_secret), timedelta(minutes=settings.api_access_token_minutes))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_pool(
            settings.database_url, min_size=1, max_size=settings.db_pool_max, name="yiwang-api"
        ) as pool:
            app.state.pool = pool
            app.state.settings = settings
            app.state.tokens = tokens
            # The live map follows what collectors commit (api/live.py); the consumption roll-up follows new and
            # late readings (api/energy/rollup.py), the mileage roll-up new and late positions
            # (api/dispatch/mileage.py); the hours of fixes that are over are packed for tracks
            # (api/dispatch/packed.py).
            async with (
                open_feed(pool, settings) as live,
                running(
                    rollup.maintain(pool, settings.zone, settings.energy_refresh_seconds),
                    mileage.maintain(pool, mileage.Basis.of(settings), settings.mileage_refresh_seconds),
                    packed.maintain(pool, settings.track_settle, settings.track_pack_seconds),
                ),
            ):
                app.state.live = live
                # What startup made lives as long as the process: out of the collector's sight, so that a full
                # collection walks only what requests made since (the first live map is the largest part).
                gc.freeze()
                yield

    app = FastAPI(title="Yiwang", version="0.1.0", lifespan=lifespan)
    app.add_middleware(AuditMiddleware)
    for router in ROUTERS:
        app.include_router(router)
    # The web pages: public static files (not in ROUTERS: they need no permission); their data comes from the routes.
    app.include_router(pages.router)
    pages.mount(app, settings)
    return app
