"""Firing due schedules: each fire exactly once across scheduler replicas, through the capacity gate."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg

from scanfleet import jobs, logs, metrics, tracing
from scanfleet.db import scans, schedules
from scanfleet.db.scans import Scan
from scanfleet.db.schedules import Due
from scanfleet.gate.gate import Gate

log = logging.getLogger(__name__)

BATCH = 200


@dataclass(frozen=True)
class _Fired:
    due: Due
    job: Scan


async def fire_due(pool: asyncpg.Pool, gate: Gate) -> Counter[str]:
    """Fire every due schedule once and set its next fire: after downtime, a schedule that missed
    several fires fires once (the catch-up), then keeps to its timing. Batch after batch until none is due."""
    outcomes: Counter[str] = Counter()
    while True:
        batch = await _fire_batch(pool, gate, datetime.now(UTC))
        outcomes.update(batch)
        if batch.total() < BATCH:
            return +outcomes


async def _fire_batch(pool: asyncpg.Pool, gate: Gate, now: datetime) -> Counter[str]:
    outcomes: Counter[str] = Counter()
    fired: list[_Fired] = []
    # The claim, the job's row and the fire's record are one transaction: a crash leaves all or none.
    async with pool.acquire() as conn, conn.transaction():
        for due in await schedules.claim_due(conn, now, BATCH):
            schedule = due.schedule
            assert schedule.next_fire_at is not None
            metrics.SCHEDULING_LAG.observe(max((now - schedule.next_fire_at).total_seconds(), 0.0))
            job, outcome = await _job_for(conn, due)
            await schedules.record_fire(conn, schedule, outcome, job.id, schedule.next_after(now))
            outcomes[outcome] += 1
            if outcome == "accepted":
                fired.append(_Fired(due, job))
    # Admission after commit (a worker must find the row). A crash in between leaves a queued row that
    # reconciliation admits; a refusal is recorded on the fire and the schedule, not dropped silently.
    for item in fired:
        schedule, job = item.due.schedule, item.job
        # Each fire starts a trace, which its job continues; the job carries the org id to its worker's log lines.
        with tracing.span("fire schedule", None, "producer", **{"scanfleet.schedule_id": str(schedule.id)}):
            context = logs.propagated(org_id=schedule.org_id)
            admission = await gate.admit(
                schedule.org_id, jobs.job_id(job.id), jobs.payload(job.kind, job.id, context), item.due.limits
            )
        if admission.outcome == "rejected":
            await scans.delete_unadmitted(pool, job)
            assert schedule.next_fire_at is not None
            await schedules.mark_rejected(pool, schedule.id, schedule.next_fire_at)
            outcomes["accepted"] -= 1
            outcomes["rejected"] += 1
    for outcome, count in outcomes.items():
        if count:
            metrics.SCHEDULE_FIRES.labels(outcome).inc(count)
    return outcomes


async def _job_for(conn: asyncpg.Connection, due: Due) -> tuple[Scan, str]:
    schedule = due.schedule
    if schedule.kind == "checks":
        return await scans.insert_run(conn, schedule.org_id, schedule.target), "accepted"
    url = schedule.target["url"]
    # The last fire's scan of this URL is still queued or running: this fire is that scan.
    running = await scans.in_flight(conn, schedule.org_id, url)
    if running is not None:
        return running, "reused"
    return await scans.insert(conn, schedule.org_id, url), "accepted"


async def export_gauges(pool: asyncpg.Pool) -> None:
    for state, count in (await schedules.counts_by_state(pool)).items():
        metrics.SCHEDULES.labels(state).set(count)
