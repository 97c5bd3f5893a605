"""The arq side of a job: names, ids and enqueueing. PostgreSQL holds the truth; this is transport."""

from __future__ import annotations

import uuid

from arq.connections import ArqRedis, RedisSettings, create_pool

from scanfleet.config import Settings

RUN_SCAN = "run_scan"


def redis_settings(settings: Settings) -> RedisSettings:
    if not settings.redis_url:
        raise RuntimeError("REDIS_URL is not set (run `scanfleet up` to start an embedded Valkey)")
    return RedisSettings.from_dsn(settings.redis_url)


async def connect(settings: Settings) -> ArqRedis:
    return await create_pool(redis_settings(settings))


def scan_job_id(scan_id: uuid.UUID) -> str:
    # The job id is the scan id: arq refuses a second job with the same id, so re-enqueueing is harmless.
    return f"scan:{scan_id}"


async def enqueue_scan(queue: ArqRedis, scan_id: uuid.UUID) -> bool:
    """True if a job was created, False if arq already holds one for this scan."""
    job = await queue.enqueue_job(RUN_SCAN, str(scan_id), _job_id=scan_job_id(scan_id))
    return job is not None
