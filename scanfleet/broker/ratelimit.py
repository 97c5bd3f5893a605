"""Requests per minute per API key, shared by every API replica through Redis (GCRA, one atomic step)."""

from __future__ import annotations

import math
import time
import uuid
from dataclasses import dataclass

from redis.asyncio import Redis

from scanfleet.broker.keys import RATE_LIMIT_PREFIX, rate_limit
from scanfleet.broker.scripts import script

PERIOD_MS = 60_000


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    retry_after_seconds: int  # 0 when allowed
    reset_seconds: int  # until the full allowance is back

    def headers(self) -> dict[str, str]:
        """The IETF RateLimit header fields, plus Retry-After when refused."""
        headers = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_seconds),
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.retry_after_seconds)
        return headers


class RateLimiter:
    def __init__(self, redis: Redis, prefix: str = RATE_LIMIT_PREFIX) -> None:
        self._prefix = prefix
        self._script = script(redis, "ratelimit")

    async def hit(self, key_id: uuid.UUID, requests_per_minute: int) -> Decision:
        allowed, remaining, retry_ms, reset_ms = await self._script(
            keys=[rate_limit(key_id, self._prefix)], args=[requests_per_minute, PERIOD_MS, int(time.time() * 1000)]
        )
        return Decision(
            allowed=bool(allowed),
            limit=requests_per_minute,
            remaining=int(remaining),
            retry_after_seconds=max(1, math.ceil(int(retry_ms) / 1000)) if not allowed else 0,
            reset_seconds=math.ceil(int(reset_ms) / 1000),
        )
