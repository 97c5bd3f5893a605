"""Handing an accepted job to the capacity gate, and taking it back."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable

from arq.constants import abort_jobs_ss
from redis.exceptions import RedisError

from scanfleet import jobs, logs, metrics
from scanfleet.api.deps import Resources
from scanfleet.api.errors import ApiError
from scanfleet.db.api_keys import Principal
from scanfleet.gate.gate import Admission

log = logging.getLogger(__name__)


async def admit(
    res: Resources, principal: Principal, scan_id: uuid.UUID, forget: Callable[[], Awaitable[None]],
    kind: str = "privacy",
) -> Admission:  # fmt: skip
    """Admit the scan's job, or undo its acceptance with `forget` and answer 429 (full) or 503 (no Redis)."""
    limits = principal.limits
    job_id = jobs.job_id(scan_id)
    # The job carries the request's ids and its span as parent: its worker's log lines and span join this request's.
    payload = jobs.payload(kind, scan_id, logs.propagated(org_id=principal.org_id))
    try:
        admission = await res.gate.admit(principal.org_id, job_id, payload, limits)
    except RedisError as exc:
        await forget()
        raise ApiError(
            503, "queue_unavailable", "the job queue cannot be reached; try again", {"Retry-After": "5"}
        ) from exc
    metrics.ADMISSIONS.labels(limits.tier, admission.outcome).inc()
    with logs.bind(org_id=principal.org_id, job_id=job_id):
        log.info("%s job %s", kind, admission.outcome)
    if admission.outcome == "rejected":
        await forget()
        retry_after = await res.gate.retry_after_seconds(limits)
        raise ApiError(
            429,
            "queue_full",
            f"the {limits.tier} tier allows {limits.max_running} running and {limits.max_queued} queued jobs;"
            f" {admission.running} are running and {admission.queued} queued",
            {"Retry-After": str(retry_after)},
            details={"limit": "max_queued", "tier": limits.tier, "max_running": limits.max_running,
                     "max_queued": limits.max_queued, "running": admission.running, "queued": admission.queued},
        )  # fmt: skip
    return admission


async def withdraw(res: Resources, job_id: str) -> None:
    """Take a job back from the gate; one a worker already runs is aborted (its slot frees when it stops)."""
    if await res.gate.cancel(job_id) == "running":
        await res.queue.zadd(abort_jobs_ss, {job_id: int(time.time() * 1000)})
