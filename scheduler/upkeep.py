"""Upkeep rounds. Each is idempotent, so any number of scheduler replicas may run them at once."""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import asyncpg

from scanfleet import jobs, metrics
from scanfleet.config import Settings
from scanfleet.db import heartbeats, idempotency, orgs, partitions, scans
from scanfleet.gate.gate import Gate

log = logging.getLogger(__name__)

BATCH = 500


async def make_partitions(pool: asyncpg.Pool, settings: Settings) -> int:
    created = await partitions.ensure_ahead(pool, datetime.now(UTC).date(), settings.partition_premake_days)
    if created:
        metrics.PARTITIONS_CREATED.labels("upkeep").inc(created)
        log.info("created %s partitions", created)
    return created


async def heartbeat_deadlines(pool: asyncpg.Pool) -> list[str]:
    """A failed run for every heartbeat that missed its deadline."""
    runs = await heartbeats.record_missed(pool)
    if runs:
        metrics.HEARTBEATS_MISSED.inc(len(runs))
        log.warning("%s heartbeats missed their deadline", len(runs))
    return [str(run) for run in runs]


async def purge(pool: asyncpg.Pool, settings: Settings) -> None:
    """Soft-deleted scans after their grace period, and idempotency keys past their keeping time."""
    scans_purged = await scans.purge_deleted(pool, settings.purge_deleted_after_seconds)
    keys_purged = await idempotency.purge(pool, settings.idempotency_keep_seconds)
    if scans_purged or keys_purged:
        log.info("purged %s deleted scans and %s idempotency keys", scans_purged, keys_purged)


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


async def reconcile(pool: asyncpg.Pool, gate: Gate, settings: Settings) -> Counter[str]:
    """Bring the gate in line with PostgreSQL, the truth. Only looks at what is older than
    requeue_after, so work in flight between the API, the gate and a worker is left alone."""
    counts: Counter[str] = Counter()
    cutoff = datetime.now(UTC) - timedelta(seconds=settings.requeue_after_seconds)
    await _readmit_lost(pool, gate, settings, cutoff, counts)
    await _release_ended(pool, gate, cutoff, counts, settings.requeue_after_seconds)
    for action, count in counts.items():
        metrics.RECONCILED.labels(action).inc(count)
    if counts:
        log.info("reconciled the gate: %s", dict(counts))
    return counts


async def _readmit_lost(
    pool: asyncpg.Pool, gate: Gate, settings: Settings, cutoff: datetime, counts: Counter[str]
) -> None:
    """Unfinished scans the gate does not hold (Redis lost them, or an API died between its two steps)."""
    known: dict[uuid.UUID, orgs.Org | None] = {}  # a Redis loss strands many scans of few orgs
    page = await scans.unfinished(pool, cutoff, None, BATCH)
    while page:
        states = await gate.states([jobs.job_id(scan.id) for scan in page])
        for scan, state in zip(page, states, strict=True):
            if state is not None:
                continue
            if await scans.fail_exhausted(pool, scan.id, settings.job_max_tries):
                counts["exhausted"] += 1
                continue
            if scan.org_id not in known:
                known[scan.org_id] = await orgs.get(pool, scan.org_id)
            org = known[scan.org_id]
            if org is None:
                continue
            # Accepted long ago: never refused now, whatever the org's queue holds.
            await gate.admit(org.id, jobs.job_id(scan.id), jobs.payload(scan.kind, scan.id), org.limits, force=True)
            counts["readmitted"] += 1
        page = await scans.unfinished(pool, cutoff, page[-1], BATCH)


async def _release_ended(
    pool: asyncpg.Pool, gate: Gate, cutoff: datetime, counts: Counter[str], stall_seconds: float
) -> None:
    """Slots held for scans that ended or are gone; dispatched jobs that arq lost or a worker took and dropped.
    Walks every held job a page at a time: the released ones leave the set, so the next page starts past the
    ones kept."""
    admitted_before_ms, kept = int(cutoff.timestamp() * 1000), 0
    while held := await gate.held(admitted_before_ms, limit=BATCH, offset=kept):
        current = await scans.statuses(pool, [jobs.id_of(job_id) for job_id in held])
        alive = []
        for job_id in held:
            status = current.get(jobs.id_of(job_id))
            if status is None or status.final:
                await gate.finish(job_id)
                counts["released"] += 1
            else:
                alive.append(job_id)
        counts["requeued"] += len(await gate.requeue(alive, stall_seconds))
        kept += len(alive)
