"""Upkeep rounds. Each is idempotent, so any number of scheduler replicas may run them at once."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import asyncpg
from arq.connections import ArqRedis

from scanfleet import jobs, metrics
from scanfleet.config import Settings
from scanfleet.db import partitions, scans

log = logging.getLogger(__name__)

RECONCILE_BATCH = 500


async def make_partitions(pool: asyncpg.Pool, settings: Settings) -> int:
    created = await partitions.ensure_ahead(pool, datetime.now(UTC).date(), settings.partition_premake_days)
    if created:
        metrics.PARTITIONS_CREATED.labels("upkeep").inc(created)
        log.info("created %s partitions", created)
    return created


async def redispatch_stranded(pool: asyncpg.Pool, queue: ArqRedis, settings: Settings) -> dict[str, int]:
    """Put back on the queue every unfinished scan it no longer holds; end those out of tries.

    Redis is transport, not truth: it may restart empty, or expire a job key after a day of backlog.
    Re-enqueueing uses the scan's own job id, so a job Redis still holds is left alone.
    """
    counts = {"requeued": 0, "present": 0, "exhausted": 0}
    queued_before = datetime.now(UTC) - timedelta(seconds=settings.requeue_after_seconds)
    for scan_id in await scans.stranded(pool, queued_before, RECONCILE_BATCH):
        if await scans.fail_exhausted(pool, scan_id, settings.job_max_tries):
            action = "exhausted"
        elif await jobs.enqueue_scan(queue, scan_id):
            action = "requeued"
        else:
            action = "present"
        counts[action] += 1
        metrics.RECONCILED.labels(action).inc()
    if counts["requeued"] or counts["exhausted"]:
        log.info("reconciled stranded scans: %s", counts)
    return counts
