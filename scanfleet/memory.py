"""An in-memory job store with the semantics of scanfleet.db.store.PgJobStore, for fast tests of the decisions
the worker and the scheduler make over the lifecycle (in the manner of Procrastinate's InMemoryConnector).

It keeps what PostgreSQL would: the rows, and the outcome each finished job recorded.
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from scanfleet.model import Engine, Job, Kind, Outcome, Status
from scanfleet.tiers import Limits


def _now() -> datetime:
    return datetime.now(UTC)


class MemoryJobStore:
    def __init__(self, limits: dict[uuid.UUID, Limits] | None = None) -> None:
        self.limits = limits or {}  # the organisations that exist, and their limits
        self.jobs: dict[uuid.UUID, Job] = {}
        self.outcomes: dict[uuid.UUID, Outcome] = {}
        # Set to an exception to make the next record() raise it (a database that refuses a value).
        self.refuse_next_record: BaseException | None = None

    def add(
        self, org_id: uuid.UUID, kind: Kind = "privacy", url: str | None = "https://example.test/", **values: Any
    ) -> Job:
        job = Job(
            id=uuid.uuid4(), created_at=_now(), org_id=org_id, kind=kind, engine="http",
            url=url if kind == "privacy" else None,
            spec=None, status=Status.QUEUED, attempts=0, retries=0, started_at=None, finished_at=None,
            lease_until=None, final_url=None, http_status=None, error_code=None, error_message=None,
            last_error_code=None, last_error_message=None, summary=None, verdict=None, deleted_at=None,
        )  # fmt: skip
        job = dataclasses.replace(job, **values)
        self.jobs[job.id] = job
        return job

    def _set(self, job_id: uuid.UUID, **values: Any) -> Job:
        job = self.jobs[job_id] = dataclasses.replace(self.jobs[job_id], **values)
        return job

    async def create_scan(
        self, org_id: uuid.UUID, url: str, engine: Engine, reuse_seconds: float, within: Any = None
    ) -> tuple[Job, str | None]:
        mine = [
            j for j in self.jobs.values()
            if j.org_id == org_id and j.url == url and j.engine == engine and j.deleted_at is None
        ]  # fmt: skip
        for job in mine:
            if not job.status.final:
                return job, "in_flight"
        since = _now() - timedelta(seconds=reuse_seconds)
        for job in mine:
            if reuse_seconds > 0 and job.status is Status.SUCCEEDED and job.created_at >= since:
                return job, "recent"
        return self.add(org_id, "privacy", url, engine=engine), None

    async def create_run(
        self, org_id: uuid.UUID, suite: dict[str, Any], engine: Engine = "http", within: Any = None
    ) -> Job:
        return self.add(org_id, "checks", None, spec=suite, engine=engine)

    async def forget(self, job: Job) -> None:
        if self.jobs.get(job.id) is not None and self.jobs[job.id].status is Status.QUEUED:
            del self.jobs[job.id]

    async def claim(self, job_id: uuid.UUID, lease_seconds: float) -> Job | None:
        job = self.jobs.get(job_id)
        if job is None or job.status.final:
            return None
        return self._set(
            job_id, status=Status.RUNNING, started_at=_now(), attempts=job.attempts + 1,
            lease_until=_now() + timedelta(seconds=lease_seconds),
        )  # fmt: skip

    async def retry_later(self, job: Job, error_code: str, error_message: str) -> bool:
        current = self.jobs.get(job.id)
        if current is None or current.status is not Status.RUNNING:
            return False
        self._set(
            job.id, status=Status.QUEUED, lease_until=None, retries=current.retries + 1, last_error_code=error_code,
            last_error_message=error_message,
        )  # fmt: skip
        return True

    async def hand_back(self, job: Job) -> None:
        current = self.jobs.get(job.id)
        if current is not None and current.status is Status.RUNNING:
            self._set(job.id, status=Status.QUEUED, lease_until=None, attempts=max(current.attempts - 1, 0))

    async def record(self, job: Job, outcome: Outcome, within: Any = None) -> bool:
        if self.refuse_next_record is not None:
            refused, self.refuse_next_record = self.refuse_next_record, None
            raise refused
        current = self.jobs.get(job.id)
        if current is None or current.status.final:
            return False
        self._set(
            job.id, status=outcome.status, finished_at=_now(), lease_until=None, final_url=outcome.final_url,
            http_status=outcome.http_status, error_code=outcome.error_code, error_message=outcome.error_message,
            summary=outcome.summary(), verdict=outcome.verdict,
        )  # fmt: skip
        self.outcomes[job.id] = outcome
        return True

    async def is_final(self, job_id: uuid.UUID) -> bool:
        job = self.jobs.get(job_id)
        return job is None or job.status.final

    async def cancel(self, org_id: uuid.UUID, job_id: uuid.UUID) -> Job | None:
        job = self.jobs.get(job_id)
        if job is None or job.org_id != org_id or job.status.final:
            return None
        return self._set(job_id, status=Status.CANCELLED, finished_at=_now(), lease_until=None, error_code="cancelled")

    async def unfinished(self, created_before: datetime, after: Job | None, limit: int) -> list[Job]:
        now = _now()
        waiting = sorted(
            (j for j in self.jobs.values() if j.created_at < created_before and (
                j.status is Status.QUEUED
                or (j.status is Status.RUNNING and j.lease_until is not None and j.lease_until < now))),
            key=lambda j: (j.created_at, j.id),
        )  # fmt: skip
        if after is not None:
            waiting = [j for j in waiting if (j.created_at, j.id) > (after.created_at, after.id)]
        return waiting[:limit]

    async def statuses(self, job_ids: list[uuid.UUID]) -> dict[uuid.UUID, Status]:
        return {job_id: self.jobs[job_id].status for job_id in job_ids if job_id in self.jobs}

    async def limits_of(self, org_id: uuid.UUID) -> Limits | None:
        return self.limits.get(org_id)
