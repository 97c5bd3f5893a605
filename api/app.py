"""The FastAPI application: resources opened in the lifespan, routes, error mapping, request metrics."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from scanfleet import __version__, metrics
from scanfleet.api import docs, errors, openapi
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
    reports,
    runs,
    scans,
    schedules,
    usage,
    webhooks,
)
from scanfleet.config import Settings, get_settings


class RequestMetrics:
    """Pure ASGI (no task or stream of its own per request): each answer's route template, method, status and time."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # unless the app answers: an exception propagating from here becomes a 500 outside

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            # The template ("/v1/scans/{scan_id}") the router matched, never the raw path: ids in labels
            # would explode their cardinality.
            route = getattr(scope.get("route"), "path", "unmatched")
            method = scope["method"]
            metrics.HTTP_DURATION.labels(route, method).observe(time.perf_counter() - started)
            metrics.HTTP_REQUESTS.labels(route, method, str(status)).inc()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_resources(settings) as app.state.resources:
            yield

    # Swagger UI and ReDoc from the package's own copies: the docs work offline.
    app = FastAPIOffline(
        redoc_url=None,  # docs.install serves it, with a policy of its own
        static_url=docs.STATIC,
        title="scanfleet",
        version=__version__,
        description="Privacy scans of websites as queued jobs, for many organisations at once.",
        lifespan=lifespan,
    )
    docs.install(app)
    errors.install(app)
    openapi.install(app)
    app.add_middleware(AllowedMethods, routes=app.routes)
    app.add_middleware(BodyLimit, max_bytes=settings.api_max_body_bytes)
    app.add_middleware(RateLimitHeaders)
    app.add_middleware(RequestMetrics)
    app.add_middleware(RequestContext)  # added last, so outermost: its ids are bound for everything inside
    app.include_router(health.router)
    app.include_router(scans.router)
    app.include_router(runs.router)
    app.include_router(reports.router)
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
