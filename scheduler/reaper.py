"""The lease reaper's round: jobs whose worker stopped come back, and set-aside jobs rejoin their line when due."""

from __future__ import annotations

import logging

from scanfleet import metrics
from scanfleet.broker.gate import Gate

log = logging.getLogger(__name__)

BATCH = 500


async def reap(gate: Gate) -> list[str]:
    """Jobs whose worker stopped renewing its lease go back to arq's queue, keeping their slot."""
    requeued = await gate.requeue(await gate.expired_leases(BATCH))
    if requeued:
        metrics.LEASES_REAPED.inc(len(requeued))
        log.warning("requeued %s jobs whose worker stopped: %s", len(requeued), requeued[:10])
    return requeued


async def bring_back_deferred(gate: Gate) -> list[str]:
    """Jobs set aside (a retry's backoff, an open circuit) whose time has come rejoin their org's line."""
    due = await gate.undefer_due(BATCH)
    if due:
        log.info("%s deferred jobs are due again", len(due))
    return due
