"""The retention round: day partitions past the retention period leave whole, and soft-deleted jobs and old
idempotency keys are purged. Safe on any number of scheduler replicas at once (see scanfleet.db.retention)."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import UTC, datetime, timedelta

import asyncpg

from scanfleet import metrics
from scanfleet.config import Settings
from scanfleet.db import idempotency, retention, scans

log = logging.getLogger(__name__)


async def drop_expired(pool: asyncpg.Pool, settings: Settings) -> list[retention.DayPartition]:
    """Detach and drop the day partitions past `retention_days`: a day goes once all of it is that old."""
    cutoff = datetime.now(UTC).date() - timedelta(days=settings.retention_days)
    dropped = await retention.drop_before(pool, cutoff)
    for table, count in Counter(part.table for part in dropped).items():
        metrics.PARTITIONS_DROPPED.labels(table).inc(count)
    if dropped:
        log.info("dropped %s partitions of days before %s: %s", len(dropped), cutoff, [p.name for p in dropped])
    return dropped


async def purge(pool: asyncpg.Pool, settings: Settings) -> None:
    """Soft-deleted scans after their grace period, and idempotency keys past their keeping time."""
    scans_purged = await scans.purge_deleted(pool, settings.purge_deleted_after_seconds)
    keys_purged = await idempotency.purge(pool, settings.idempotency_keep_seconds)
    if scans_purged or keys_purged:
        log.info("purged %s deleted scans and %s idempotency keys", scans_purged, keys_purged)
