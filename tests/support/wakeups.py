"""Whether a worker waits on the gate's wake-up tokens: a client of that Redis database blocked in BLPOP."""

from __future__ import annotations

from redis.asyncio import Redis

from scanfleet.config import Settings


async def waiting_for_wakeups(redis: Redis, settings: Settings) -> bool:
    assert settings.redis_url is not None
    database = settings.redis_url.rsplit("/", 1)[1] if settings.redis_url.count("/") > 2 else "0"
    clients = await redis.client_list()
    return any(client["cmd"] == "blpop" and client["db"] == (database or "0") for client in clients)
