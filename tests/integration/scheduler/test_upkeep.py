"""Upkeep: partitions are made ahead, and scans the queue lost are put back without duplicates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
from arq.connections import ArqRedis

from scanfleet import ids, jobs
from scanfleet.config import Settings
from scanfleet.db import scans
from scanfleet.results import ScanStatus
from scheduler import upkeep
from tests.conftest import Tenant

_ARQ_QUEUE = "arq:queue"


async def test_partitions_are_made_ahead(pool: asyncpg.Pool, settings: Settings) -> None:
    ahead = settings.model_copy(update={"partition_premake_days": 6})
    await upkeep.make_partitions(pool, ahead)
    horizon = datetime.now(UTC).date() + timedelta(days=6)
    for table in ("scans", "evidence", "issues"):
        assert await pool.fetchval("SELECT to_regclass($1) IS NOT NULL", f"{table}_{horizon:%Y%m%d}")
    assert await upkeep.make_partitions(pool, ahead) == 0  # already there: nothing to do


async def test_scan_lost_by_redis_is_requeued_once(
    pool: asyncpg.Pool, queue: ArqRedis, settings: Settings, tenant: Tenant
) -> None:
    # Accepted a minute ago; Redis has since lost the job (restart without persistence, say).
    scan = await scans.insert(pool, tenant.org.id, "http://127.0.0.1:9/", scan_id=ids.new_id(at=_ago(60)))
    job_id = jobs.scan_job_id(scan.id)
    assert await queue.zscore(_ARQ_QUEUE, job_id) is None

    counts = await upkeep.redispatch_stranded(pool, queue, settings)
    assert counts["requeued"] >= 1
    assert await queue.zscore(_ARQ_QUEUE, job_id) is not None
    # The next round finds the job in Redis and leaves it alone.
    await upkeep.redispatch_stranded(pool, queue, settings)
    assert await queue.zcard(_ARQ_QUEUE) == len(await queue.zrange(_ARQ_QUEUE, 0, -1))
    assert (await queue.zrange(_ARQ_QUEUE, 0, -1)).count(job_id.encode()) == 1
    await queue.zrem(_ARQ_QUEUE, job_id)
    await queue.delete(f"arq:job:{job_id}")


async def test_scan_whose_worker_died_on_every_try_ends_failed(
    pool: asyncpg.Pool, queue: ArqRedis, settings: Settings, tenant: Tenant
) -> None:
    scan = await scans.insert(pool, tenant.org.id, "http://127.0.0.1:9/")
    for _ in range(settings.job_max_tries):
        assert await scans.claim(pool, scan.id, lease_seconds=0) is not None  # each try dies at once

    await upkeep.redispatch_stranded(pool, queue, settings)
    ended = await scans.get(pool, tenant.org.id, scan.id)
    assert ended is not None and ended.status is ScanStatus.FAILED
    assert ended.error_code == "attempts_exhausted"
    assert await queue.zscore(_ARQ_QUEUE, jobs.scan_job_id(scan.id)) is None


def _ago(seconds: float) -> datetime:
    return datetime.now(UTC) - timedelta(seconds=seconds)
