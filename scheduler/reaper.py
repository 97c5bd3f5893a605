"""The lease reaper's round: jobs whose worker stopped come back, and set-aside jobs rejoin their line when due."""

from __future__ import annotations

import logging

from scanfleet import metrics
from scanfleet.broker.gate import Gate

log = logging.getLogger(__name__)

BATCH = 500


async def reap(*gates: Gate) -> list[str]:
    """Jobs whose worker stopped renewing its lease go back to their queue, keeping their slot."""
    requeued = [job for gate in gates for job in await gate.requeue(await gate.expired_leases(BATCH))]
    if requeued:
        metrics.LEASES_REAPED.inc(len(requeued))
        log.warning("requeued %s jobs whose worker stopped: %s", len(requeued), requeued[:10])
    return requeued


async def bring_back_deferred(*gates: Gate) -> list[str]:
    """Jobs set aside (a retry's backoff, an open circuit) whose time has come rejoin their org's line."""
    due = [job for gate in gates for job in await gate.undefer_due(BATCH)]
    if due:
        log.info("%s deferred jobs are due again", len(due))
    return due
