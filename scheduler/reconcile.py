"""Reconciliation: bring the gate in line with PostgreSQL, the truth.

Only looks at what is older than requeue_after, so work in flight between the API, the gate and a worker is
left alone. One job that cannot be reconciled is logged and skipped; it never fails the round for the others.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from scanfleet import metrics
from scanfleet.broker.gate import Gate
from scanfleet.broker.keys import id_of, job_id
from scanfleet.config import Settings
from scanfleet.db.errors import unavailable
from scanfleet.lifecycle import JobStore, Lifecycle
from scanfleet.model import Engine, Job
from scanfleet.tiers import Limits

log = logging.getLogger(__name__)

BATCH = 500


async def reconcile(lifecycle: Lifecycle, gates: Mapping[Engine, Gate], settings: Settings) -> Counter[str]:
    """`gates`: each engine's line; a job is looked for in its own engine's."""
    counts: Counter[str] = Counter()
    cutoff = datetime.now(UTC) - timedelta(seconds=settings.requeue_after_seconds)
    await _readmit_lost(lifecycle, gates, settings, cutoff, counts)
    for gate in gates.values():
        await _release_ended(lifecycle.store, gate, cutoff, counts, settings.requeue_after_seconds)
    for action, count in counts.items():
        metrics.RECONCILED.labels(action).inc(count)
    if counts:
        log.info("reconciled the gate: %s", dict(counts))
    return counts


async def _readmit_lost(
    lifecycle: Lifecycle, gates: Mapping[Engine, Gate], settings: Settings, cutoff: datetime, counts: Counter[str]
) -> None:
    """Unfinished jobs the gate does not hold (Redis lost them, or an API died between its two steps)."""
    store = lifecycle.store
    known: dict[uuid.UUID, Limits | None] = {}  # a Redis loss strands many jobs of few orgs
    page = await store.unfinished(cutoff, None, BATCH)
    while page:
        states = await _states(gates, page)
        for job in page:
            if job.id not in states or states[job.id] is not None:  # another engine's line, or held
                continue
            if job.org_id not in known:
                known[job.org_id] = await store.limits_of(job.org_id)
            limits = known[job.org_id]
            if limits is None:  # the organisation is gone
                continue
            try:
                counts[await lifecycle.readmit(job, limits, settings.job_max_tries)] += 1
            except Exception as exc:
                if unavailable(exc):
                    raise
                log.exception("could not reconcile job %s; skipping it this round", job.id)
                counts["skipped"] += 1
        page = await store.unfinished(cutoff, page[-1], BATCH)


async def _states(gates: Mapping[Engine, Gate], page: list[Job]) -> dict[uuid.UUID, str | None]:
    """Each job's state in its own engine's gate (None where that gate does not hold it); jobs of an engine not
    in `gates` are left out."""
    states: dict[uuid.UUID, str | None] = {}
    for engine, gate in gates.items():
        mine = [job for job in page if job.engine == engine]
        found = await gate.states([job_id(job.id) for job in mine]) if mine else []
        states |= {job.id: state for job, state in zip(mine, found, strict=True)}
    return states


async def _release_ended(
    store: JobStore, gate: Gate, cutoff: datetime, counts: Counter[str], stall_seconds: float
) -> None:
    """Slots held for jobs that ended or are gone; dispatched jobs that arq lost or a worker took and dropped.
    Walks every held job a page at a time: the released ones leave the set, so the next page starts past the
    ones kept."""
    admitted_before_ms, kept = int(cutoff.timestamp() * 1000), 0
    while held := await gate.held(admitted_before_ms, limit=BATCH, offset=kept):
        current = await store.statuses([id_of(held_id) for held_id in held])
        alive = []
        for held_id in held:
            status = current.get(id_of(held_id))
            if status is None or status.final:
                await gate.finish(held_id)
                counts["released"] += 1
            else:
                alive.append(held_id)
        counts["requeued"] += len(await gate.requeue(alive, stall_seconds))
        kept += len(alive)
