"""The FastAPI application: resources opened in the lifespan, routes, error mapping, middleware."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from scanfleet import __version__
from scanfleet.api import docs, errors, openapi
from scanfleet.api.bodylimit import BodyLimit
from scanfleet.api.context import RequestContext
from scanfleet.api.deps import open_resources
from scanfleet.api.methods import AllowedMethods
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
        # FastAPI's own telemetry serves an exporter's processes (the request context takes its span as the
        # request's). Without one it has nothing to do, yet would look up the global providers on every request.
        telemetry=None if settings.otel_endpoint else {"tracing": False, "metrics": False, "logs": False},
    )
    health.install(app)  # before the routers: matched before FastAPI walks them (only the docs routes come first)
    docs.install(app)
    errors.install(app)
    openapi.install(app)
    # The one middleware: what every request passes through, its ids bound for everything inside.
    app.add_middleware(
        RequestContext, body_limit=BodyLimit(settings.api_max_body_bytes), methods=AllowedMethods(app.routes)
    )
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
