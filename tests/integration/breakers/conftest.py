"""Breakers against the session's Valkey: a key prefix per test, and replicas on connections of their own."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from arq.connections import ArqRedis
from redis.asyncio import Redis

from scanfleet.breakers import SharedBreakers
from scanfleet.config import Settings


@pytest.fixture
async def prefix(queue: ArqRedis) -> AsyncIterator[str]:
    name = f"t{uuid.uuid4().hex[:10]}:breaker:"
    yield name
    keys = [key async for key in queue.scan_iter(match=f"{name}*")]
    if keys:
        await queue.delete(*keys)


@pytest.fixture
def kind() -> str:
    """A kind of its own, so the test reads only its own transitions in the process's metrics."""
    return f"k{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def connect(settings: Settings) -> AsyncIterator[Callable[[], Redis]]:
    opened: list[Redis] = []
    url = settings.redis_url
    assert url is not None

    def make() -> Redis:
        opened.append(Redis.from_url(url))
        return opened[-1]

    yield make
    for connection in opened:
        await connection.aclose()


@pytest.fixture
def replicas(connect: Callable[[], Redis], prefix: str, kind: str) -> Callable[..., tuple[SharedBreakers, ...]]:
    """Breakers of one kind as separate replicas would hold them: each on a Redis connection of its own."""

    def make(
        fail_max: int = 3, reset_seconds: float = 60.0, count: int = 2, **options: Any
    ) -> tuple[SharedBreakers, ...]:
        return tuple(SharedBreakers(connect(), kind, fail_max, reset_seconds, prefix, **options) for _ in range(count))

    return make
