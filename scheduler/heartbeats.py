"""The heartbeats round: a failed run for every heartbeat that missed its deadline."""

from __future__ import annotations

import logging

import asyncpg

from scanfleet import metrics
from scanfleet.db import heartbeats

log = logging.getLogger(__name__)


async def heartbeat_deadlines(pool: asyncpg.Pool) -> list[str]:
    """A failed run for every heartbeat that missed its deadline."""
    runs = await heartbeats.record_missed(pool)
    if runs:
        metrics.HEARTBEATS_MISSED.inc(len(runs))
        log.warning("%s heartbeats missed their deadline", len(runs))
    return [str(run) for run in runs]
