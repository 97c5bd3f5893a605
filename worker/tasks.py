"""arq tasks. Each is safe to run twice: the database decides which delivery's result counts."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg

from scanfleet import metrics
from scanfleet.checks import parse_suite
from scanfleet.config import Settings
from scanfleet.db import results, scans
from scanfleet.db.scans import Scan
from scanfleet.gate.gate import Gate
from scanfleet.http import SafeFetcher
from scanfleet.jobs import RUN_CHECKS, RUN_SCAN
from scanfleet.results import Outcome, ScanStatus
from worker.checks import CheckEnv, run_suite
from worker.gated import run_gated
from worker.scan import scan_url

log = logging.getLogger(__name__)


@dataclass
class Deps:
    settings: Settings
    pool: asyncpg.Pool
    fetcher: SafeFetcher
    gate: Gate
    checks: Callable[[uuid.UUID], CheckEnv]  # the check environment for an organisation's run


async def run_scan(ctx: dict[str, Any], scan_id: str) -> str:
    deps: Deps = ctx["deps"]
    return await _gated_job(
        ctx, RUN_SCAN, uuid.UUID(scan_id), deps.settings.scan_timeout_seconds,
        lambda scan: scan_url(deps.fetcher, scan.url or ""),
    )  # fmt: skip


async def run_checks(ctx: dict[str, Any], run_id: str) -> str:
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

    return await _gated_job(ctx, RUN_CHECKS, uuid.UUID(run_id), limit, check)


async def _gated_job(
    ctx: dict[str, Any], task: str, job: uuid.UUID, timeout: float, produce: Callable[[Scan], Awaitable[Outcome]]
) -> str:
    deps: Deps = ctx["deps"]
    return await run_gated(
        deps.gate,
        ctx["job_id"],
        deps.settings.lease_seconds,
        lambda: _run(deps, task, job, timeout, produce),
        # Cancelled by a DELETE, the job is final already.
        lambda: scans.is_final(deps.pool, job),
    )


async def _run(
    deps: Deps, task: str, job: uuid.UUID, timeout: float, produce: Callable[[Scan], Awaitable[Outcome]]
) -> str:
    # The job's own lease outlives its time limit: past it, the scheduler knows the worker is gone.
    claimed = await scans.claim(deps.pool, job, lease_seconds=timeout + 30)
    if claimed is None:
        metrics.JOBS.labels(task, "duplicate").inc()
        return "duplicate"
    if claimed.attempts == 1:
        wait = (datetime.now(UTC) - claimed.created_at).total_seconds()
        metrics.JOB_WAIT.labels(task).observe(max(wait, 0.0))
    started = time.perf_counter()
    outcome = await produce(claimed)
    written = await results.record_outcome(deps.pool, claimed, outcome)
    metrics.JOB_DURATION.labels(task).observe(time.perf_counter() - started)
    if not written:
        metrics.JOBS.labels(task, "duplicate").inc()
        return "duplicate"
    metrics.JOBS.labels(task, outcome.verdict or outcome.status.value).inc()
    metrics.EVIDENCE_ROWS.inc(len(outcome.evidence))
    if outcome.error_code:
        metrics.JOB_ERRORS.labels(task, outcome.error_code).inc()
    log.info("%s %s %s (%s evidence rows)", task, claimed.id, outcome.verdict or outcome.status.value,
             len(outcome.evidence))  # fmt: skip
    return outcome.verdict or outcome.status.value
