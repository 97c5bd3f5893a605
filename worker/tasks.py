"""arq tasks. Each is safe to run twice: the database decides which delivery's result counts."""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import asyncpg

from scanfleet import metrics
from scanfleet.breakers import SharedBreakers
from scanfleet.checks import parse_suite
from scanfleet.config import Settings
from scanfleet.db import results, scans
from scanfleet.db.errors import unavailable
from scanfleet.db.scans import Scan
from scanfleet.gate.gate import Gate
from scanfleet.http import SafeFetcher
from scanfleet.jobs import RUN_CHECKS, RUN_SCAN
from scanfleet.logs import annotate, job_context
from scanfleet.results import Outcome, ScanStatus, workers_lost
from scanfleet.retry import RetryPolicy, is_transient
from scanfleet.worker.checks import CheckEnv, run_suite
from scanfleet.worker.gated import Deferred, run_gated
from scanfleet.worker.platform import Platform
from scanfleet.worker.scan import scan_url

log = logging.getLogger(__name__)


@dataclass
class Deps:
    settings: Settings
    pool: asyncpg.Pool
    fetcher: SafeFetcher
    gate: Gate
    checks: Callable[[uuid.UUID], CheckEnv]  # the check environment for an organisation's run
    targets: SharedBreakers  # one circuit per target host
    platform: Platform
    retry: RetryPolicy


@dataclass(frozen=True)
class Job:
    task: str
    id: uuid.UUID
    produce: Callable[[Scan], Awaitable[Outcome]]
    # The host whose circuit guards this job; None where a failing target is the result itself (a test
    # run reports the outage its checks found, so deferring it would hide exactly what it is for).
    target: Callable[[Scan], str | None] = lambda _: None


async def run_scan(ctx: dict[str, Any], scan_id: str, context: dict[str, str] | None = None) -> str:
    deps: Deps = ctx["deps"]
    job = Job(
        RUN_SCAN, uuid.UUID(scan_id), lambda scan: scan_url(deps.fetcher, scan.url or ""),
        target=lambda scan: urlsplit(scan.url or "").hostname,
    )  # fmt: skip
    return await _gated_job(ctx, job, deps.settings.scan_timeout_seconds, context)


async def run_checks(ctx: dict[str, Any], run_id: str, context: dict[str, str] | None = None) -> str:
    deps: Deps = ctx["deps"]

    limit = deps.settings.run_timeout_seconds

    async def check(run: Scan) -> Outcome:
        suite = parse_suite(run.spec)
        try:
            async with asyncio.timeout(limit):
                result = await run_suite(suite, deps.checks(run.org_id))
        except TimeoutError:
            return Outcome(ScanStatus.FAILED, error_code="timeout", error_message=f"the run took over {limit:g}s")
        # The run itself succeeded; what it found about the customer's service is its verdict.
        return Outcome(ScanStatus.SUCCEEDED, evidence=result.evidence, verdict=result.verdict)

    return await _gated_job(ctx, Job(RUN_CHECKS, uuid.UUID(run_id), check), limit, context)


async def _gated_job(ctx: dict[str, Any], job: Job, timeout: float, context: dict[str, str] | None) -> str:
    deps: Deps = ctx["deps"]
    claimed: list[Scan] = []  # what this delivery claimed, for a hand-back if the worker stops

    async def hand_back() -> None:
        if claimed:
            await scans.hand_back(deps.pool, claimed[0])
        metrics.JOBS_HANDED_BACK.labels(job.task).inc()

    # Its log lines and span carry the ids of the request or fire that caused it.
    with job_context(ctx["job_id"], job.task, context):
        return await run_gated(
            deps.gate,
            ctx["job_id"],
            deps.settings.lease_seconds,
            lambda: _run(deps, job, timeout, claimed),
            # Cancelled by a DELETE, the job is final already.
            lambda: scans.is_final(deps.pool, job.id),
            hand_back,
        )


async def _run(deps: Deps, job: Job, timeout: float, claimed: list[Scan]) -> str | Deferred:
    try:
        # The job's own lease outlives its time limit: past it, the scheduler knows the worker is gone.
        scan = await scans.claim(deps.pool, job.id, lease_seconds=timeout + 30)
    except Exception as exc:
        if not unavailable(exc):
            raise
        await deps.platform.failed()
        return _deferred(job, await deps.platform.retry_at(), "platform")
    if scan is None:
        metrics.JOBS.labels(job.task, "duplicate").inc()
        return "duplicate"
    claimed.append(scan)
    annotate(org_id=scan.org_id)  # also for a job that came without context (re-admitted by reconciliation)
    if scan.attempts - scan.retries > deps.settings.job_max_tries:
        return await _record(deps, job, scan, workers_lost(deps.settings.job_max_tries), 0.0)
    host = job.target(scan)
    if host:
        until = await deps.targets.open_until(host)
        if until is not None:
            waited = (datetime.now(UTC) - scan.created_at).total_seconds()
            if waited > deps.settings.breaker_give_up_seconds:
                return await _record(deps, job, scan, _unavailable(host, waited), 0.0)
            await deps.platform.write(lambda: scans.hand_back(deps.pool, scan))
            return _deferred(job, until + random.random(), "breaker", _circuit(host))  # noqa: S311 - spread the herd
    if scan.attempts == 1 and scan.retries == 0:
        wait = (datetime.now(UTC) - scan.created_at).total_seconds()
        metrics.JOB_WAIT.labels(job.task).observe(max(wait, 0.0))
    started = time.perf_counter()
    outcome = await job.produce(scan)
    transient = is_transient(outcome)
    # A 4xx is a live host's answer. If this closed the circuit, the host's waiting jobs need not wait on.
    answered = transient or outcome.http_status is not None
    if host and answered and await deps.targets.record(host, ok=not transient) == "closed":
        await deps.gate.wake_waiting(_circuit(host))
    delay = deps.retry.delay(scan.kind, scan.retries) if transient else None
    if delay is not None:
        code, message = outcome.error_code or "", outcome.error_message or ""
        await deps.platform.write(lambda: scans.retry_later(deps.pool, scan, code, message))
        metrics.JOB_RETRIES.labels(job.task, code).inc()
        log.info("%s %s: %s, retry %d in %.1fs", job.task, scan.id, code, scan.retries + 1, delay)
        return _deferred(job, time.time() + delay, "retry")
    return await _record(deps, job, scan, outcome, time.perf_counter() - started)


async def _record(deps: Deps, job: Job, scan: Scan, outcome: Outcome, seconds: float) -> str:
    written = await deps.platform.write(lambda: results.record_outcome(deps.pool, scan, outcome))
    metrics.JOB_DURATION.labels(job.task).observe(seconds)
    if not written:
        metrics.JOBS.labels(job.task, "duplicate").inc()
        return "duplicate"
    metrics.JOBS.labels(job.task, outcome.verdict or outcome.status.value).inc()
    metrics.EVIDENCE_ROWS.inc(len(outcome.evidence))
    if outcome.error_code:
        metrics.JOB_ERRORS.labels(job.task, outcome.error_code).inc()
    log.info("%s %s %s (%s evidence rows)", job.task, scan.id, outcome.verdict or outcome.status.value,
             len(outcome.evidence))  # fmt: skip
    return outcome.verdict or outcome.status.value


def _unavailable(host: str, waited: float) -> Outcome:
    # A host that keeps failing its trials must not hold an org's queued jobs (and their place in line) forever.
    return Outcome(
        ScanStatus.FAILED,
        error_code="target_unavailable",
        error_message=f"{host} failed every recent attempt; its circuit was still open {waited:.0f}s after submission",
    )


def _deferred(job: Job, until: float, reason: str, waiting_on: str = "") -> Deferred:
    metrics.JOBS_DEFERRED.labels(job.task, reason).inc()
    return Deferred(until, reason, waiting_on)


def _circuit(host: str) -> str:
    return f"target:{host}"
