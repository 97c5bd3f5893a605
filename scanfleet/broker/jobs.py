"""arq's side of a job: its task names and the body arq's worker reads. PostgreSQL holds the truth."""

from __future__ import annotations

import time
import uuid

from arq.jobs import serialize_job

from scanfleet.model import Kind

RUN_SCAN = "run_scan"
RUN_CHECKS = "run_checks"
TASKS: dict[Kind, str] = {"privacy": RUN_SCAN, "checks": RUN_CHECKS}  # by the job's kind


def payload(kind: Kind, job: uuid.UUID, context: dict[str, str] | None = None) -> bytes:
    """The job body arq's worker reads, made here so the gate can hand it to arq when a slot frees.

    `context` is what the job carries from its cause (request_id, org_id, traceparent: see scanfleet.logs);
    without one the body is the plain call every worker version accepts."""
    kwargs = {"context": context} if context else {}
    return serialize_job(TASKS[kind], (str(job),), kwargs, None, int(time.time() * 1000))
