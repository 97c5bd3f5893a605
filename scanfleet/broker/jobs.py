"""arq's side of a job: its task names and the body arq's worker reads. PostgreSQL holds the truth."""

from __future__ import annotations

import time
import uuid

from arq.jobs import serialize_job

from scanfleet.model import Engine, Kind

RUN_SCAN = "run_scan"
RUN_BROWSER_SCAN = "run_browser_scan"  # on the browser queue, taken by browser-capable workers only
RUN_CHECKS = "run_checks"
TASKS = (RUN_SCAN, RUN_BROWSER_SCAN, RUN_CHECKS)


def task_of(kind: Kind, engine: Engine) -> str:
    if kind == "checks":
        return RUN_CHECKS
    return RUN_BROWSER_SCAN if engine == "browser" else RUN_SCAN


def payload(kind: Kind, job: uuid.UUID, context: dict[str, str] | None = None, engine: Engine = "http") -> bytes:
    """The job body arq's worker reads, made here so the gate can hand it to arq when a slot frees.

    `context` is what the job carries from its cause (request_id, org_id, traceparent: see scanfleet.logs);
    without one the body is the plain call every worker version accepts."""
    kwargs = {"context": context} if context else {}
    return serialize_job(task_of(kind, engine), (str(job),), kwargs, None, int(time.time() * 1000))
