"""A worker of a test's own, with its own settings, on a Redis database the session's worker never reads."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

import pytest

from scanfleet import jobs
from scanfleet.config import Settings
from scanfleet.gate.gate import Gate

OWN_DB = 6


@dataclass
class OwnWorker:
    worker: Any  # worker.app.DrainingWorker
    gate: Gate
    settings: Settings
    running: asyncio.Task[None]


OwnWorkerFactory = Callable[..., AbstractAsyncContextManager[OwnWorker]]


@pytest.fixture
def own_worker(settings: Settings) -> OwnWorkerFactory:
    from worker.app import build_worker

    assert settings.redis_url is not None
    base = settings.model_copy(update={"redis_url": f"{settings.redis_url.rsplit('/', 1)[0]}/{OWN_DB}"})

    @contextlib.asynccontextmanager
    async def start(flush: bool = True, **overrides: Any) -> AsyncIterator[OwnWorker]:
        own = base.model_copy(update=overrides)
        redis = await jobs.connect(own)
        if flush:
            await redis.flushdb()
        worker = build_worker(own, handle_signals=False)
        running = asyncio.create_task(worker.async_run())
        try:
            yield OwnWorker(worker, Gate(redis), own, running)
        finally:
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running
            await worker.close()
            await redis.aclose()

    return start
