"""A worker of a test's own, with its own settings, on a Redis database the session's worker never reads."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

import pytest

from scanfleet.broker import connection
from scanfleet.broker.gate import Gate
from scanfleet.broker.worker import FleetWorker
from scanfleet.config import Settings
from tests.conftest import own_redis
from tests.support.app import running_worker

OWN_DB = 6


@dataclass
class OwnWorker:
    worker: FleetWorker
    gate: Gate
    settings: Settings


OwnWorkerFactory = Callable[..., AbstractAsyncContextManager[OwnWorker]]


@pytest.fixture
def own_worker(settings: Settings) -> OwnWorkerFactory:
    base = own_redis(settings, OWN_DB, __name__)

    @contextlib.asynccontextmanager
    async def start(flush: bool = True, **overrides: Any) -> AsyncIterator[OwnWorker]:
        own = base.model_copy(update=overrides)
        redis = await connection.connect(own)
        try:
            if flush:
                await redis.flushdb()
            async with running_worker(own) as worker:
                yield OwnWorker(worker, Gate(redis), own)
        finally:
            await redis.aclose()

    return start
