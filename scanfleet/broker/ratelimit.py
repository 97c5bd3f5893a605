"""The rate limit's atomic step: a generic cell rate algorithm over one key per API key, on Redis's own clock, so
every API replica shares one allowance (see scanfleet.api.ratelimit for the policy and its headers)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from redis.asyncio import Redis

from scanfleet.broker.keys import RATE_LIMIT_PREFIX, rate_limit
from scanfleet.broker.scripts import script


@dataclass(frozen=True)
class Taken:
    taken: int  # requests taken from the allowance; 0: refused
    remaining: int
    retry_after_ms: int  # 0 when allowed
    reset_ms: int  # until the full allowance is back


class Allowances:
    def __init__(self, redis: Redis, prefix: str = RATE_LIMIT_PREFIX) -> None:
        self._prefix = prefix
        self._script = script(redis, "ratelimit")

    async def take(self, key_id: uuid.UUID, limit: int, period_ms: int, count: int = 1) -> Taken:
        """Up to `count` requests from the key's allowance of `limit` per `period_ms` (bursts up to `limit`):
        as many as it has left, or none."""
        taken, remaining, retry_ms, reset_ms = await self._script(
            keys=[rate_limit(key_id, self._prefix)], args=[limit, period_ms, count]
        )
        return Taken(int(taken), int(remaining), int(retry_ms), int(reset_ms))
