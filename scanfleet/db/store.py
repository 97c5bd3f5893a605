"""The lifecycle's job store on PostgreSQL: scanfleet.db.scans and the result write behind one interface."""

from __future__ import annotations

import uuid
from datetime import datetime
from functools import partial
from typing import Any

import asyncpg

from scanfleet.db import orgs, results, scans
from scanfleet.db.errors import unavailable_to_all
from scanfleet.db.pool import Connection
from scanfleet.group_commit import GroupCommit
from scanfleet.model import Engine, Job, Outcome, Status
from scanfleet.tiers import Limits

# Batches of submissions in flight at once from one process; each takes what arrived while the one before it ran.
# One measured better than two under `bench.api_stack`: POST's p99 at 50 connections 65 ms against 97-104, and
# 2,041 req/s at 500 against 1,722-1,799. A batch never waits for a lock (submit_many); one in flight longer than
# SUBMIT_STALL_SECONDS (a stuck connection) lets the next start. A batch whose connection was lost has each of its
# submissions made again alone, with its scan id: committed before the loss, its row is found as its own.
SUBMITTING = 1
SUBMIT_BATCH = 100
SUBMIT_STALL_SECONDS = 0.5


class PgJobStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self._submit = GroupCommit(
            partial(scans.submit_many, pool), partial(scans.submit, pool), shared=unavailable_to_all,
            in_flight=SUBMITTING, max_batch=SUBMIT_BATCH, stall_seconds=SUBMIT_STALL_SECONDS,
        )  # fmt: skip

    async def create_scan(
        self, org_id: uuid.UUID, url: str, engine: Engine, reuse_seconds: float, within: Connection | None = None
    ) -> tuple[Job, str | None]:
        """`within`: the caller's transaction (a schedule's fire); otherwise one of its own, which submissions made
        meanwhile may share (group commit)."""
        if within is None:
            return await self._submit(scans.Submission(org_id, url, engine, reuse_seconds))
        return await scans.find_or_insert(within, org_id, url, engine, reuse_seconds)

    async def create_run(
        self, org_id: uuid.UUID, suite: dict[str, Any], engine: Engine = "http", within: Connection | None = None
    ) -> Job:
        if within is None:
            return await scans.submit_run(self.pool, org_id, suite, engine)
        return await scans.insert_run(within, org_id, suite, engine)

    async def forget(self, job: Job) -> None:
        await scans.delete_unadmitted(self.pool, job)

    async def claim(self, job_id: uuid.UUID, lease_seconds: float) -> Job | None:
        return await scans.claim(self.pool, job_id, lease_seconds)

    async def retry_later(self, job: Job, error_code: str, error_message: str) -> bool:
        return await scans.retry_later(self.pool, job, error_code, error_message)

    async def hand_back(self, job: Job) -> None:
        await scans.hand_back(self.pool, job)

    async def record(self, job: Job, outcome: Outcome, within: Connection | None = None) -> bool:
        if within is None:
            return await results.record_outcome(self.pool, job, outcome)
        return await results.write_outcome(within, job, outcome)

    async def is_final(self, job_id: uuid.UUID) -> bool:
        return await scans.is_final(self.pool, job_id)

    async def cancel(self, org_id: uuid.UUID, job_id: uuid.UUID) -> Job | None:
        return await scans.cancel(self.pool, org_id, job_id)

    async def unfinished(self, created_before: datetime, after: Job | None, limit: int) -> list[Job]:
        return await scans.unfinished(self.pool, created_before, after, limit)

    async def statuses(self, job_ids: list[uuid.UUID]) -> dict[uuid.UUID, Status]:
        return await scans.statuses(self.pool, job_ids)

    async def limits_of(self, org_id: uuid.UUID) -> Limits | None:
        org = await orgs.get(self.pool, org_id)
        return org.limits if org else None
