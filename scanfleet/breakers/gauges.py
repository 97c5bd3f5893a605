"""Fleet-wide breaker gauges for the scheduler's exporter: one script call, O(kinds)."""

from __future__ import annotations

import time
from pathlib import Path

from redis.asyncio import Redis

from scanfleet.breakers.shared import DEFAULT_PREFIX, _text

_GAUGES = (Path(__file__).parent / "lua" / "gauges.lua").read_text()


async def breaker_gauges(redis: Redis, prefix: str = DEFAULT_PREFIX) -> dict[str, tuple[int, float]]:
    """Per kind seen: (breakers not closed, seconds the longest of them has been so)."""
    now = time.time()
    flat = await redis.register_script(_GAUGES)(keys=[], args=[prefix, repr(now)])
    gauges: dict[str, tuple[int, float]] = {}
    for at in range(0, len(flat), 3):
        kind, count, since = flat[at : at + 3]
        gauges[_text(kind)] = (int(count), max(0.0, now - float(since)) if since else 0.0)
    return gauges
