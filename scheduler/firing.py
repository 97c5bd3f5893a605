"""Firing due schedules: each fire exactly once across scheduler replicas, through the job lifecycle."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg

from scanfleet import logs, metrics, tracing
from scanfleet.checks import suite_engine
from scanfleet.db import schedules
from scanfleet.db.pool import Connection
from scanfleet.db.schedules import Due
from scanfleet.lifecycle import Lifecycle, Refused
from scanfleet.model import Job

log = logging.getLogger(__name__)

BATCH = 200


@dataclass(frozen=True)
class _Fired:
    due: Due
    job: Job


async def fire_due(pool: asyncpg.Pool, lifecycle: Lifecycle) -> Counter[str]:
    """Fire every due schedule once and set its next fire: after downtime, a schedule that missed
    several fires fires once (the catch-up), then keeps to its timing. Batch after batch until none is due."""
    outcomes: Counter[str] = Counter()
    while True:
        batch = await _fire_batch(pool, lifecycle, datetime.now(UTC))
        outcomes.update(batch)
        if batch.total() < BATCH:
            return +outcomes


async def _fire_batch(pool: asyncpg.Pool, lifecycle: Lifecycle, now: datetime) -> Counter[str]:
    outcomes: Counter[str] = Counter()
    fired: list[_Fired] = []
    # The claim, the job's row and the fire's record are one transaction: a crash leaves all or none.
    async with pool.acquire() as conn, conn.transaction():
        for due in await schedules.claim_due(conn, now, BATCH):
            outcome = await _fire_one(conn, lifecycle, due, now, fired)
            outcomes[outcome] += 1
    # Admission after commit (a worker must find the row). A crash in between leaves a queued row that
    # reconciliation admits; a refusal is recorded on the fire and the schedule, not dropped silently.
    for item in fired:
        schedule = item.due.schedule
        assert schedule.next_fire_at is not None
        # Each fire starts a trace, which its job continues; the job carries the org id to its worker's log lines.
        with tracing.span("fire schedule", None, "producer", **{"scanfleet.schedule_id": str(schedule.id)}):
            try:
                await lifecycle.admit(item.job, item.due.limits, logs.propagated(org_id=schedule.org_id))
            except Refused:
                await schedules.mark_rejected(pool, schedule.id, schedule.next_fire_at)
                outcomes["accepted"] -= 1
                outcomes["rejected"] += 1
    for outcome, count in outcomes.items():
        if count:
            metrics.SCHEDULE_FIRES.labels(outcome).inc(count)
    return outcomes


async def _fire_one(conn: Connection, lifecycle: Lifecycle, due: Due, now: datetime, fired: list[_Fired]) -> str:
    """One schedule's fire, in a savepoint of the batch's transaction: a row that cannot fire pauses its own
    schedule instead of failing the batch (and every round after it)."""
    schedule = due.schedule
    assert schedule.next_fire_at is not None
    try:
        async with conn.transaction():
            metrics.SCHEDULING_LAG.observe(max((now - schedule.next_fire_at).total_seconds(), 0.0))
            if schedule.kind == "checks":
                suite = schedule.target
                job = await lifecycle.store.create_run(schedule.org_id, suite, suite_engine(suite), within=conn)
                reused = None
            else:
                # Same lock and dedup as a submission: a fire while the URL's last scan runs is that scan.
                target = schedule.target
                engine = target.get("engine", "http")
                job, reused = await lifecycle.store.create_scan(schedule.org_id, target["url"], engine, 0, within=conn)
            outcome = "reused" if reused else "accepted"
            await schedules.record_fire(conn, schedule, outcome, job.id, schedule.next_after(now))
    except Exception:
        log.exception("schedule %s cannot fire; pausing it", schedule.id)
        await schedules.pause_broken(conn, schedule.id)
        return "error"
    if outcome == "accepted":
        fired.append(_Fired(due, job))
    return outcome


async def export_gauges(pool: asyncpg.Pool) -> None:
    for state, count in (await schedules.counts_by_state(pool)).items():
        metrics.SCHEDULES.labels(state).set(count)
