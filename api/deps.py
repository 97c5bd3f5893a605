"""Request dependencies: the shared resources and the authenticated caller."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import asyncpg
from arq.connections import ArqRedis
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.errors import ApiError
from scanfleet.config import Settings
from scanfleet.db import api_keys
from scanfleet.db.api_keys import Principal


@dataclass
class Resources:
    settings: Settings
    pool: asyncpg.Pool
    queue: ArqRedis


def resources(request: Request) -> Resources:
    return request.app.state.resources


_bearer = HTTPBearer(auto_error=False, description="An API key from `scanfleet key create`.")


async def principal(
    res: Annotated[Resources, Depends(resources)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    challenge = {"WWW-Authenticate": 'Bearer realm="scanfleet"'}
    if credentials is None:
        raise ApiError(401, "unauthenticated", "send an API key as 'Authorization: Bearer <key>'", challenge)
    found = await api_keys.authenticate(res.pool, credentials.credentials)
    if found is None:
        raise ApiError(401, "invalid_api_key", "the API key is unknown or revoked", challenge)
    return found


ResourcesDep = Annotated[Resources, Depends(resources)]
PrincipalDep = Annotated[Principal, Depends(principal)]
