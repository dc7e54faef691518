"""The FastAPI application factory and its lifespan: the resources every request shares, the routers of every
capability, and the one mapping of the API's refusals to responses."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import APIRouter, FastAPI
from starlette.types import ASGIApp

from api import basemap, compression, errors, health, pages
from api.access.audit import AuditMiddleware
from api.access.routes import audit, auth, users
from api.access.tokens import AccessTokens, check_secret
from api.background import running
from api.basemap import routes as basemap_routes
from api.calendar.routes import calendar
from api.dead_letters import routes as dead_letters
from api.energy import quota_watch
from api.energy.routes import corrections, costs, energy, entries, factors, gaps, quotas, sources
from api.exports import routes as exports
from api.fleet.routes import fuel, reports, tracks, trip_requests
from api.headers import SecurityHeaders
from api.live import routes as positions
from api.live.follower import open_feed
from api.metrics import Metrics, MetricsMiddleware, measure_database, watch_loop
from api.pages import docs
from api.reads import ReadSourceHeaders, open_replica
from api.registry.routes import (
    departments,
    drivers,
    files,
    institutions,
    meters,
    organisations,
    vehicle_quotas,
    vehicles,
)
from api.resources import Resources
from api.supervision.notifications import seal_rules, sealer_of
from api.supervision.routes import alerts, areas, notification_deliveries, notification_rules
from api.survey.routes import survey
from db.pool import open_pool
from yiwang.probe import serve
from yiwang.settings import Settings

# Every router of the app, one per path prefix: tests/api/test_scope.py checks that each route in them declares its
# permission.
ROUTERS: tuple[APIRouter, ...] = tuple(
    module.router
    for module in (
        health,
        auth,
        users,
        organisations,
        vehicle_quotas,
        institutions,
        departments,
        meters,
        vehicles,
        drivers,
        files,
        positions,
        tracks,
        trip_requests,
        alerts,
        areas,
        notification_rules,
        notification_deliveries,
        calendar,
        reports,
        fuel,
        energy,
        gaps,
        corrections,
        entries,
        sources,
        costs,
        factors,
        quotas,
        exports,
        survey,
        audit,
        dead_letters,
    )
)


class App(FastAPI):
    """FastAPI with the security headers around everything, Starlette's error middleware included: a 500 carries
    them too (middleware added with add_middleware runs inside that one)."""

    def build_middleware_stack(self) -> ASGIApp:
        return SecurityHeaders(super().build_middleware_stack())


def create_app(settings: Settings) -> FastAPI:
    """Build the app; the pool and the live map open when the app starts and close when it stops.

    Raises:
        TokenSecretError: settings.api_token_secret is missing or shorter than 32 characters.
        ValueError: a key of settings.secret_key is not a key.
    """
    tokens = AccessTokens(check_secret(settings.api_token_secret), timedelta(minutes=settings.api_access_token_minutes))
    metrics = Metrics()
    sealer = sealer_of(settings)  # a key that is not one refuses the start

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The live map follows what collectors commit (api/live); quotas near are raised as alerts
        # (api/energy/quota_watch.py). The roll-ups and the packing of track hours are the worker's (`yiwang worker`,
        # worker/): an API process keeps no state but its live map, so several may serve behind a load balancer.
        # The offline tile package (None without one) is held open while the app runs, the /tiles route's to read.
        async with (
            basemap.held(settings) as package,
            open_pool(
                settings.database_url_of("api"), min_size=1, max_size=settings.db_pool_max, name="yiwang-api"
            ) as pool,
            # Reports and exports read from the replica when one is set (api/reads.py); it may be down at the start.
            open_replica(settings, metrics) as replica,
            open_feed(pool, settings) as live,
            running(
                measure_database(pool, metrics, settings.metrics_database_seconds),
                watch_loop(metrics),
                quota_watch.maintain(pool, settings, metrics.quota_alerts),
            ),
            # On a port of its own (loopback by default), as every other process's: the public port has no /metrics,
            # so no caller of the API learns its routes' traffic or the database's size (docs/operating.md).
            serve(metrics, settings.metrics_host, settings.api_metrics_port, "api"),
        ):
            app.state.resources = Resources(settings, pool, tokens, live, replica)
            app.state.tile_package = package
            app.state.metrics = metrics
            await seal_rules(pool, sealer)
            # What startup made lives as long as the process: out of the collector's sight, so that a full
            # collection walks only what requests made since (the first live map is the largest part).
            gc.freeze()
            yield

    # No body larger than the limit is read whole (413): JSON is parsed on the event loop, before the route
    # checks the user, so one anonymous upload of megabytes would hold every request. The imports take more
    # (their routes' max_body_size). /docs and /redoc are served from the vendored files (api/pages/docs.py),
    # not FastAPI's CDN pages.
    app = App(
        title="Yiwang",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        max_body_size=settings.api_max_body_bytes,
    )
    app.add_middleware(AuditMiddleware)
    app.add_middleware(ReadSourceHeaders)  # where a report's figures were read, and as of when
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    compression.install(app, settings)  # outside the audit: it records the route's answer
    errors.install(app)
    errors.declare_body_limit(ROUTERS)
    for router in ROUTERS:
        app.include_router(router)
    # The web pages: public static files (not in ROUTERS: they need no permission); their data comes from the routes.
    app.include_router(pages.router)
    app.include_router(docs.router)
    # The offline tile package, when set: read now, so that a missing or wrong file stops the API at its start; the
    # lifespan holds it open and closes it.
    about = basemap.check_package(settings)
    app.state.basemap = about
    if about is not None:
        app.include_router(basemap_routes.router_of(about, settings.pages_tile_cache_seconds))
    pages.mount(app, settings)
    return app
