"""Request dependencies: the shared resources, the authenticated and rate-limited caller."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import asyncpg
from arq.connections import ArqRedis
from fastapi import Depends, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.errors import ApiError
from scanfleet import metrics
from scanfleet.config import Settings
from scanfleet.db import api_keys
from scanfleet.db.api_keys import Principal
from scanfleet.gate.gate import Gate
from scanfleet.gate.ratelimit import RateLimiter


@dataclass
class Resources:
    settings: Settings
    pool: asyncpg.Pool
    queue: ArqRedis
    gate: Gate
    limiter: RateLimiter


def resources(request: Request) -> Resources:
    return request.app.state.resources


_bearer = HTTPBearer(auto_error=False, description="An API key from `scanfleet key create`.")


async def principal(
    res: Annotated[Resources, Depends(resources)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    response: Response,
) -> Principal:
    challenge = {"WWW-Authenticate": 'Bearer realm="scanfleet"'}
    if credentials is None:
        raise ApiError(401, "unauthenticated", "send an API key as 'Authorization: Bearer <key>'", challenge)
    found = await api_keys.authenticate(res.pool, credentials.credentials)
    if found is None:
        raise ApiError(401, "invalid_api_key", "the API key is unknown or revoked", challenge)
    decision = await res.limiter.hit(found.key_id, found.limits.requests_per_minute)
    if not decision.allowed:
        metrics.RATE_LIMITED.labels(found.limits.tier).inc()
        raise ApiError(
            429,
            "rate_limited",
            f"the {found.limits.tier} tier allows {decision.limit} requests per minute per key",
            decision.headers(),
            details={"limit": "requests_per_minute", "tier": found.limits.tier},
        )
    response.headers.update(decision.headers())
    return found


async def admin(caller: Annotated[Principal, Depends(principal)]) -> Principal:
    if not caller.is_admin:
        raise ApiError(403, "forbidden", "this needs an admin key (`scanfleet key create --admin`)")
    return caller


ResourcesDep = Annotated[Resources, Depends(resources)]
PrincipalDep = Annotated[Principal, Depends(principal)]
AdminDep = Annotated[Principal, Depends(admin)]
