"""When Redis is down or hangs, breakers let calls go (never stop the fleet) and say so once."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from scanfleet.breakers import SharedBreakers, shared


@pytest.fixture
async def refused() -> AsyncIterator[Redis]:
    """A Redis on a port nobody listens on: every connection is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = Redis(host="127.0.0.1", port=port)
    yield client
    await client.aclose()


@pytest.fixture
async def hung() -> AsyncIterator[Redis]:
    """A Redis that takes the connection and never answers (a stalled server, a dead network path)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)  # never accepted: the kernel completes the handshake, nothing ever replies
        client = Redis(host="127.0.0.1", port=listener.getsockname()[1])
        yield client
        await client.aclose()


async def test_with_redis_down_calls_go_and_the_outage_is_logged_once(
    refused: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="scanfleet.breakers")
    breakers = SharedBreakers(refused, "target", 1, 60)
    for _ in range(3):
        await breakers.record("a.example", ok=False)
        assert await breakers.open_until("a.example") is None
        assert await breakers.state("a.example") == "closed"
    warnings = [r.getMessage() for r in caplog.records if r.name.startswith("scanfleet.breakers")]
    assert len(warnings) == 1 and "Redis unavailable" in warnings[0]


async def test_a_hung_redis_costs_a_bounded_wait_and_never_blocks_the_event_loop(hung: Redis) -> None:
    breakers = SharedBreakers(hung, "target", 1, 60)
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticker = asyncio.create_task(tick())
    started = time.monotonic()
    try:
        assert await breakers.open_until("a.example") is None
        await breakers.record("a.example", ok=False)
    finally:
        ticker.cancel()
    waited = time.monotonic() - started
    assert waited < 2 * shared.REDIS_TIMEOUT_SECONDS + 1.0  # each call bounded, then the call goes
    assert ticks >= 20  # the loop ran other work all the while


async def test_a_hung_redis_costs_a_read_together_one_bounded_wait_and_its_admissions_none(hung: Redis) -> None:
    targets, storage = SharedBreakers(hung, "target", 1, 60), SharedBreakers(hung, "storage", 1, 60)
    started = time.monotonic()
    target_read, store_read = await targets.read_together("a.example", [(storage, "store")])
    assert (await targets.admit("a.example", target_read)).until is None  # calls go
    assert (await storage.admit("store", store_read)).until is None
    assert time.monotonic() - started < shared.REDIS_TIMEOUT_SECONDS + 0.5  # the read's wait, and no other


async def test_breakers_on_different_redis_clients_are_not_read_together(refused: Redis, hung: Redis) -> None:
    with pytest.raises(ValueError, match="one Redis client"):
        await SharedBreakers(refused, "target", 1, 60).read_together(
            "a", [(SharedBreakers(hung, "storage", 1, 60), "b")]
        )
