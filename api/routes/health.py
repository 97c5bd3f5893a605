"""Liveness, readiness and metrics: routes on the app itself, ahead of every other.

Probes and scrapes come every few seconds from every orchestrator and Prometheus: matched first, they skip the
walk through the included routers (a fifth of a `/healthz` request's cost when they were one of them)."""

from __future__ import annotations

import asyncio
from enum import Enum

from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel, Field

from scanfleet import metrics
from scanfleet.api.deps import ResourcesDep
from scanfleet.broker.keys import BROWSER_WORKERS
from scanfleet.broker.stats import live_workers

_UP = b'{"status":"ok"}'


async def healthz() -> Response:
    return Response(_UP, media_type="application/json")  # the same bytes every time: made once


class Readiness(BaseModel):
    postgres: str = Field(description="ok, or down: and the error")
    redis: str = Field(description="ok, or down: and the error")
    browser_workers: int = Field(
        description="browser-capable workers live now; browser scans wait in their queue while there are none"
    )


async def readyz(res: ResourcesDep) -> JSONResponse:
    async def check(probe: object) -> str:
        try:
            async with asyncio.timeout(2):
                await probe  # type: ignore[misc]
        except Exception as exc:
            return f"down: {type(exc).__name__}"
        return "ok"

    postgres, redis = await asyncio.gather(check(res.pool.fetchval("SELECT 1")), check(res.redis.ping()))
    ready = postgres == redis == "ok"
    # Not part of readiness: browser workers may be scaled to none while their queue is empty.
    browser = await live_workers(res.redis, BROWSER_WORKERS) if redis == "ok" else 0
    body = {"postgres": postgres, "redis": redis, "browser_workers": browser}
    return JSONResponse(body, status_code=200 if ready else 503)


async def prometheus_metrics() -> Response:
    return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)


def install(app: FastAPI) -> None:
    tags: list[str | Enum] = ["operations"]
    app.add_api_route("/healthz", healthz, summary="The process is up", response_model=dict[str, str], tags=tags)
    app.add_api_route(
        "/readyz", readyz, summary="PostgreSQL and Redis answer", response_model=Readiness, tags=tags,
        responses={503: {"model": Readiness, "description": "one of them does not answer"}},
    )  # fmt: skip
    app.add_api_route(
        "/metrics", prometheus_metrics, summary="Prometheus metrics of the API's processes", include_in_schema=False
    )
