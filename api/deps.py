"""Request dependencies: the shared resources, the authenticated and rate-limited caller."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Annotated

import asyncpg
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from redis.asyncio import Redis

from scanfleet import logs, metrics
from scanfleet.api import ratelimit
from scanfleet.api.errors import ApiError
from scanfleet.api.principals import Principals
from scanfleet.artifacts import BlobStore, open_store
from scanfleet.broker import connection
from scanfleet.broker.gate import Gate
from scanfleet.broker.keys import BROWSER_GATE
from scanfleet.broker.ratelimit import Allowances
from scanfleet.broker.worker import REDIS_DOWN
from scanfleet.config import Settings
from scanfleet.db.api_keys import Principal
from scanfleet.db.pool import create_pool, create_read_pool
from scanfleet.db.store import PgJobStore
from scanfleet.lifecycle import Lifecycle
from scanfleet.reports import PdfPrinter


@dataclass
class Resources:
    settings: Settings
    pool: asyncpg.Pool
    redis: Redis
    gate: Gate
    limiter: ratelimit.RateLimiter
    share_limiter: ratelimit.RateLimiter  # per share link, for GET /v1/shared/{token}
    lifecycle: Lifecycle
    printer: PdfPrinter  # reports as PDF; its browser is launched on the first one
    principals: Principals
    artifacts: BlobStore
    read_pool: asyncpg.Pool | None = None

    @property
    def reads(self) -> asyncpg.Pool:
        """For reads that may lag the primary by the replica's delay: the read pool, else the primary's."""
        return self.read_pool or self.pool


@asynccontextmanager
async def open_resources(settings: Settings) -> AsyncIterator[Resources]:
    """The process's pools and Redis client, closed in reverse order on the way out."""
    async with AsyncExitStack() as opened:
        pool = await create_pool(settings)
        opened.push_async_callback(pool.close)
        read_pool = await create_read_pool(settings)
        if read_pool is not None:
            opened.push_async_callback(read_pool.close)
        redis = await connection.connect(settings)
        opened.push_async_callback(redis.aclose)
        gate = Gate(redis)
        lifecycle = Lifecycle(
            PgJobStore(pool), gate, settings.lease_seconds, unreachable=REDIS_DOWN,
            browser_gate=Gate(redis, BROWSER_GATE),
        )  # fmt: skip
        printer = PdfPrinter(settings.browser_executable, settings.report_pdf_concurrency, settings.report_pdf_seconds)
        opened.push_async_callback(printer.close)
        artifacts = await open_store(settings)
        opened.push_async_callback(artifacts.close)
        limiter = ratelimit.RateLimiter(Allowances(redis))
        share_limiter = ratelimit.RateLimiter(Allowances(redis, ratelimit.SHARE_PREFIX))
        principals = Principals(pool, settings.api_key_cache_seconds)
        yield Resources(
            settings, pool, redis, gate, limiter, share_limiter, lifecycle, printer, principals, artifacts, read_pool
        )


async def resources(request: Request) -> Resources:
    # async, though it awaits nothing: FastAPI runs a plain function dependency in a thread, a hand-off per request.
    opened: Resources = request.app.state.resources  # Starlette's state holds Any
    return opened


_bearer = HTTPBearer(auto_error=False, description="An API key from `scanfleet key create`.")


async def principal(
    res: Annotated[Resources, Depends(resources)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    request: Request,
) -> Principal:
    challenge = {"WWW-Authenticate": 'Bearer realm="scanfleet"'}
    if credentials is None:
        raise ApiError(401, "unauthenticated", "send an API key as 'Authorization: Bearer <key>'", challenge)
    # The primary, for a key not verified lately: a revoked key or a changed tier takes effect within the cache's
    # time, never after the replica's lag.
    found = await res.principals.authenticate(credentials.credentials)
    if found is None:
        raise ApiError(401, "invalid_api_key", "the API key is unknown or revoked", challenge)
    logs.annotate(org_id=found.org_id)  # every log line of this request names its organisation
    decision = await res.limiter.hit(found.key_id, found.limits.requests_per_minute)
    ratelimit.remember(request, decision.headers())
    if not decision.allowed:
        metrics.RATE_LIMITED.labels(found.limits.tier).inc()
        raise ApiError(
            429,
            "rate_limited",
            f"the {found.limits.tier} tier allows {decision.limit} requests per minute per key",
            decision.headers(),
            details={"limit": "requests_per_minute", "tier": found.limits.tier},
        )
    return found


async def admin(caller: Annotated[Principal, Depends(principal)]) -> Principal:
    if not caller.is_admin:
        raise ApiError(403, "forbidden", "this needs an admin key (`scanfleet key create --admin`)")
    return caller


ResourcesDep = Annotated[Resources, Depends(resources)]
PrincipalDep = Annotated[Principal, Depends(principal)]
AdminDep = Annotated[Principal, Depends(admin)]
