"""The heartbeats round: a failed run for every heartbeat that missed its deadline."""

from __future__ import annotations

import logging

import asyncpg

from scanfleet import metrics
from scanfleet.db import heartbeats
from scanfleet.lifecycle import Lifecycle

log = logging.getLogger(__name__)


async def heartbeat_deadlines(pool: asyncpg.Pool, lifecycle: Lifecycle) -> list[str]:
    """A failed run for every heartbeat that missed its deadline: the claim and the runs are one transaction,
    so every missed deadline gives exactly one run across scheduler replicas. Returns the runs made."""
    async with pool.acquire() as conn, conn.transaction():
        runs = [
            await lifecycle.record_finished_run(missed.org_id, missed.suite, missed.outcome, within=conn)
            for missed in await heartbeats.claim_missed(conn)
        ]
    if runs:
        metrics.HEARTBEATS_MISSED.inc(len(runs))
        log.warning("%s heartbeats missed their deadline", len(runs))
    return [str(run.id) for run in runs]
