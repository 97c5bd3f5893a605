"""The FastAPI application: resources opened in the lifespan, routes, error mapping, request metrics."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from fastapi_offline import FastAPIOffline

from scanfleet import __version__, metrics
from scanfleet.api import errors, openapi
from scanfleet.api.bodylimit import BodyLimit
from scanfleet.api.context import RequestContext
from scanfleet.api.deps import open_resources
from scanfleet.api.methods import AllowedMethods
from scanfleet.api.ratelimit import RateLimitHeaders
from scanfleet.api.routes import (
    admin,
    artifacts,
    health,
    heartbeats,
    insights,
    keys,
    org,
    runs,
    scans,
    schedules,
    usage,
    webhooks,
)
from scanfleet.config import Settings, get_settings


def _route_template(request: Request) -> str:
    # The template ("/v1/scans/{scan_id}") the router matched, never the raw path: ids in labels
    # would explode their cardinality.
    route = request.scope.get("route")
    return getattr(route, "path", "unmatched")


async def _record_metrics(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    started = time.perf_counter()
    response = await call_next(request)
    route = _route_template(request)
    metrics.HTTP_DURATION.labels(route, request.method).observe(time.perf_counter() - started)
    metrics.HTTP_REQUESTS.labels(route, request.method, str(response.status_code)).inc()
    return response


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_resources(settings) as app.state.resources:
            yield

    # Swagger UI and ReDoc from the package's own copies: the docs work offline.
    app = FastAPIOffline(
        title="scanfleet",
        version=__version__,
        description="Privacy scans of websites as queued jobs, for many organisations at once.",
        lifespan=lifespan,
    )
    errors.install(app)
    openapi.install(app)
    app.add_middleware(AllowedMethods, routes=app.routes)
    app.add_middleware(BodyLimit, max_bytes=settings.api_max_body_bytes)
    app.add_middleware(RateLimitHeaders)
    app.middleware("http")(_record_metrics)
    app.add_middleware(RequestContext)  # added last, so outermost: its ids are bound for everything inside
    app.include_router(health.router)
    app.include_router(scans.router)
    app.include_router(runs.router)
    app.include_router(artifacts.router)
    app.include_router(schedules.router)
    app.include_router(heartbeats.router)
    app.include_router(webhooks.router)
    app.include_router(insights.router)
    app.include_router(usage.router)
    app.include_router(org.router)
    app.include_router(keys.router)
    app.include_router(admin.router)
    return app
