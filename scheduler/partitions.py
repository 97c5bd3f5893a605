"""The partitions round: day partitions made ahead, statistics for the ones filling, and how far ahead they reach."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import asyncpg

from scanfleet import metrics
from scanfleet.config import Settings
from scanfleet.db import partitions, retention

log = logging.getLogger(__name__)


async def make_partitions(pool: asyncpg.Pool, settings: Settings) -> int:
    created = await partitions.ensure_ahead(pool, datetime.now(UTC).date(), settings.partition_premake_days)
    if created:
        metrics.PARTITIONS_CREATED.labels("upkeep").inc(created)
        log.info("created %s partitions", created)
    return created


async def analyze_filling(pool: asyncpg.Pool) -> list[str]:
    analysed = await partitions.analyze_filling(pool)
    if analysed:
        log.info("ANALYZE of %s: filled since their statistics were taken", ", ".join(analysed))
    return analysed


async def export_horizon(pool: asyncpg.Pool) -> dict[str, int]:
    horizon = await retention.horizon_days(pool)
    for table, days in horizon.items():
        metrics.PARTITION_HORIZON_DAYS.labels(table).set(days)
    return horizon
