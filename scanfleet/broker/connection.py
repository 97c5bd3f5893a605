"""The Redis client arq and the platform share: from REDIS_URL, or the master the sentinels name."""

from __future__ import annotations

from arq.connections import ArqRedis, RedisSettings, create_pool
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError, TimeoutError

from scanfleet.config import Settings


def redis_settings(settings: Settings) -> RedisSettings:
    if not settings.redis_url:
        raise RuntimeError("REDIS_URL is not set (run `scanfleet up` to start an embedded Valkey)")
    redis = RedisSettings.from_dsn(settings.redis_url)
    if settings.redis_sentinels:
        # The sentinels name the master (and a new one after a failover); REDIS_URL then gives only the
        # database and password.
        redis.host = [_address(sentinel) for sentinel in settings.redis_sentinels]
        redis.sentinel = True
        redis.sentinel_master = settings.redis_sentinel_master
    # A Redis restart closes every pooled connection: retry on a fresh one, with backoff, instead of
    # failing the request or job that happened to use it first.
    redis.retry_on_error = [ConnectionError, TimeoutError]
    redis.retry = Retry(ExponentialBackoff(cap=2.0, base=0.05), retries=5)
    return redis


def _address(sentinel: str) -> tuple[str, int]:
    host, _, port = sentinel.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"a Redis sentinel is host:port, not {sentinel!r}")
    return host.strip("[]"), int(port)


async def connect(settings: Settings) -> ArqRedis:
    config = redis_settings(settings)
    if not config.sentinel:
        return await create_pool(config)
    redis = sentinel_client(config)
    await redis.ping()
    return redis


def sentinel_client(config: RedisSettings) -> ArqRedis:
    """The master's client, found through the sentinels; it connects lazily.

    Built here because arq's create_pool (0.28) leaves the retry policy out of a Sentinel-managed client: a
    command whose connection the failover cut would fail instead of going again to the new master.
    """
    # redis-py's Sentinel is unannotated.
    sentinels = Sentinel(config.host, socket_connect_timeout=config.conn_timeout)  # type: ignore[no-untyped-call]
    return sentinels.master_for(  # type: ignore[no-any-return]
        config.sentinel_master, redis_class=ArqRedis, db=config.database, username=config.username,
        password=config.password, ssl=config.ssl, socket_connect_timeout=config.conn_timeout, retry=config.retry,
        retry_on_error=config.retry_on_error,
    )  # fmt: skip
