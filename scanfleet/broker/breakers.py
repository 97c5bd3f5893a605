"""Circuit breakers' shared state: each breaker's snapshot, replaced only by compare-and-set.

Keys (P = the prefix; breaker_gauges.lua computes the same):
  P.."state:"..kind..":"..name  string  the breaker's snapshot; none = closed with no failures; expires when
                                        untouched for a day past its timeouts (a dead host nobody asks for)
  P.."open:"..kind              zset    breakers not closed, by when they left closed
  P.."expiring:"..kind          zset    breakers with a snapshot, by when it expires
  P.."kinds"                    set     kinds seen
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from redis.asyncio import Redis

from scanfleet.broker.decode import text
from scanfleet.broker.keys import BREAKER_PREFIX, BreakerKeys
from scanfleet.broker.scripts import script


class BreakerStore:
    """The snapshots of one kind of breaker."""

    def __init__(self, redis: Redis, kind: str, prefix: str = BREAKER_PREFIX) -> None:
        self.redis = redis
        self.keys = BreakerKeys(kind, prefix)

    async def read(self, name: str) -> str:
        """The breaker's snapshot; '' when it has none (closed, no failures)."""
        return text(await self.redis.get(self.keys.state(name)))

    async def replace(
        self, name: str, expected: str, new: str, since: float | None, ttl_seconds: float
    ) -> tuple[bool, str]:
        """Write `new` if the snapshot is still `expected`; (won, the snapshot now stored). `since`: when the
        breaker left closed (None: it is closed)."""
        won, current = await script(self.redis, "breaker_commit")(
            keys=[self.keys.state(name), *self.keys.indexes],
            args=[
                expected, new, name, self.keys.kind, int(ttl_seconds * 1000), "" if since is None else repr(since),
                repr(time.time() + ttl_seconds),
            ],
        )  # fmt: skip
        return bool(won), text(current)


async def read_snapshots(redis: Redis, breakers: Sequence[tuple[BreakerStore, str]]) -> list[str]:
    """The snapshots of several breakers, of any kinds, in one round trip (one MGET); '' for one that has none."""
    return [text(value) for value in await redis.mget([store.keys.state(name) for store, name in breakers])]


async def breaker_gauges(redis: Redis, prefix: str = BREAKER_PREFIX) -> dict[str, tuple[int, float]]:
    """Per kind seen: (breakers not closed, seconds the longest of them has been so). One script call, O(kinds)."""
    now = time.time()
    flat = await script(redis, "breaker_gauges")(keys=[BreakerKeys("", prefix).kinds], args=[prefix, repr(now)])
    gauges: dict[str, tuple[int, float]] = {}
    for at in range(0, len(flat), 3):
        kind, count, since = flat[at : at + 3]
        gauges[text(kind)] = (int(count), max(0.0, now - float(since)) if since else 0.0)
    return gauges
