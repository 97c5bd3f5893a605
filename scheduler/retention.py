"""Data upkeep rounds: retention's drops, organisation erase requests, and the partition horizon gauge.
Each is safe on any number of scheduler replicas at once (see scanfleet.db.retention and .erase)."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import UTC, datetime, timedelta

import asyncpg

from scanfleet import metrics
from scanfleet.config import Settings
from scanfleet.db import erase, retention

log = logging.getLogger(__name__)

# One erase request per round, for this long at most, so a stopping scheduler is not held up for long.
ERASE_ROUND_SECONDS = 10.0
# Far longer than one batch: another replica takes a request over only from one that died.
ERASE_LEASE_SECONDS = 60.0


async def drop_expired(pool: asyncpg.Pool, settings: Settings) -> list[retention.DayPartition]:
    """Detach and drop the day partitions past `retention_days`: a day goes once all of it is that old."""
    cutoff = datetime.now(UTC).date() - timedelta(days=settings.retention_days)
    dropped = await retention.drop_before(pool, cutoff)
    for table, count in Counter(part.table for part in dropped).items():
        metrics.PARTITIONS_DROPPED.labels(table).inc(count)
    if dropped:
        log.info("dropped %s partitions of days before %s: %s", len(dropped), cutoff, [p.name for p in dropped])
    return dropped


async def export_horizon(pool: asyncpg.Pool) -> dict[str, int]:
    horizon = await retention.horizon_days(pool)
    for table, days in horizon.items():
        metrics.PARTITION_HORIZON_DAYS.labels(table).set(days)
    return horizon


async def erase_round(pool: asyncpg.Pool, settings: Settings) -> erase.EraseRequest | None:
    """Work on one open erase request; returns it as it was claimed, or None when there was none."""
    req = await erase.claim(pool, ERASE_LEASE_SECONDS)
    if req is None:
        return None
    try:
        erased, done = await erase.erase_some(
            pool, req, settings.erase_batch_rows, ERASE_ROUND_SECONDS, ERASE_LEASE_SECONDS
        )
    finally:
        await erase.release(pool, req.id)
    for table, count in erased.items():
        metrics.ROWS_ERASED.labels(table).inc(count)
    log.info("erase %s of org %s: %s rows this round%s", req.id, req.org_id, erased.total(), ", done" if done else "")
    return req
