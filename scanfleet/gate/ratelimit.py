"""Requests per minute per API key, shared by every API replica through Redis (GCRA, one atomic step)."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from pathlib import Path

from redis.asyncio import Redis

_SCRIPT = (Path(__file__).parent / "lua" / "ratelimit.lua").read_text()
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
    def __init__(self, redis: Redis, prefix: str = "sf:rl:") -> None:
        self._prefix = prefix
        self._script = redis.register_script(_SCRIPT)

    async def hit(self, key_id: uuid.UUID, requests_per_minute: int) -> Decision:
        allowed, remaining, retry_ms, reset_ms = await self._script(
            keys=[f"{self._prefix}{key_id}"], args=[requests_per_minute, PERIOD_MS]
        )
        return Decision(
            allowed=bool(allowed),
            limit=requests_per_minute,
            remaining=int(remaining),
            retry_after_seconds=max(1, math.ceil(int(retry_ms) / 1000)) if not allowed else 0,
            reset_seconds=math.ceil(int(reset_ms) / 1000),
        )
