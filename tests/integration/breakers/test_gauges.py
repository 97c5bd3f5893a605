"""The scheduler's fleet-wide view: breakers not closed per kind, and the longest since it left closed."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from redis.asyncio import Redis

from scanfleet.breakers import SharedBreakers, shared
from scanfleet.broker.breakers import breaker_gauges
from tests.support.site import eventually


async def test_open_breakers_are_counted_per_kind_with_the_longest_open(
    connect: Callable[[], Redis], prefix: str
) -> None:
    redis = connect()
    targets = SharedBreakers(redis, "target", 1, 60, prefix)
    hooks = SharedBreakers(redis, "webhook", 1, 60, prefix)
    opened = time.time()
    await targets.record("a.example", ok=False)
    await targets.record("b.example", ok=False)
    await targets.record("c.example", ok=True)
    await hooks.record("endpoint-1", ok=False)

    gauges = await breaker_gauges(redis, prefix)
    assert set(gauges) == {"target", "webhook"}
    assert gauges["target"][0] == 2 and gauges["webhook"][0] == 1
    assert 0 <= gauges["target"][1] <= time.time() - opened

    await targets.record("a.example", ok=True)  # a late outcome while open: ignored
    assert (await breaker_gauges(redis, prefix))["target"][0] == 2


async def test_a_failed_trial_does_not_restart_the_longest_open_clock(
    connect: Callable[[], Redis], prefix: str
) -> None:
    redis = connect()
    targets = SharedBreakers(redis, "target", 1, 0.2, prefix, trial_seconds=30)
    await targets.record("a.example", ok=False)
    first = time.time()

    async def trial_taken() -> bool:
        return await targets.open_until("a.example") is None

    await eventually(trial_taken)
    await targets.record("a.example", ok=False)
    [(count, longest)] = (await breaker_gauges(redis, prefix)).values()
    assert count == 1 and longest >= time.time() - first - 0.05  # open since the first opening

    async def closed_by_trial() -> bool:
        if await targets.open_until("a.example") is not None:
            return False
        await targets.record("a.example", ok=True)
        return True

    await eventually(closed_by_trial)
    assert await breaker_gauges(redis, prefix) == {"target": (0, 0.0)}


async def test_a_breaker_forgotten_by_expiry_leaves_the_gauges(
    connect: Callable[[], Redis], prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shared, "IDLE_SECONDS", 0.0)
    redis = connect()
    targets = SharedBreakers(redis, "target", 1, 0.2, prefix, trial_seconds=0.1)  # snapshots kept 0.3 s
    await targets.record("gone.example", ok=False)
    assert (await breaker_gauges(redis, prefix))["target"][0] == 1

    async def pruned() -> bool:
        return (await breaker_gauges(redis, prefix))["target"] == (0, 0.0)

    await eventually(pruned, timeout=5)
    assert [key async for key in redis.scan_iter(match=f"{prefix}*:target*")] == []
