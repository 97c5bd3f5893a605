"""arq tasks. Each is safe to run twice: the database decides which delivery's result counts."""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg

from scanfleet import metrics
from scanfleet.config import Settings
from scanfleet.db import results, scans
from scanfleet.gate.gate import Gate
from scanfleet.http import SafeFetcher
from scanfleet.jobs import RUN_SCAN
from worker.gated import run_gated
from worker.scan import scan_url

log = logging.getLogger(__name__)


@dataclass
class Deps:
    settings: Settings
    pool: asyncpg.Pool
    fetcher: SafeFetcher
    gate: Gate


async def run_scan(ctx: dict[str, Any], scan_id: str) -> str:
    deps: Deps = ctx["deps"]
    scan = uuid.UUID(scan_id)
    return await run_gated(
        deps.gate,
        ctx["job_id"],
        deps.settings.lease_seconds,
        lambda: _scan(deps, scan),
        # Cancelled by DELETE /v1/scans/{id}, the scan is final already.
        lambda: scans.is_final(deps.pool, scan),
    )


async def _scan(deps: Deps, scan_id: uuid.UUID) -> str:
    # The scan's own lease outlives its time limit: past it, the scheduler knows the worker is gone.
    scan = await scans.claim(deps.pool, scan_id, lease_seconds=deps.settings.scan_timeout_seconds + 30)
    if scan is None:
        metrics.JOBS.labels(RUN_SCAN, "duplicate").inc()
        return "duplicate"
    if scan.attempts == 1:
        wait = (datetime.now(UTC) - scan.created_at).total_seconds()
        metrics.JOB_WAIT.labels(RUN_SCAN).observe(max(wait, 0.0))
    started = time.perf_counter()
    outcome = await scan_url(deps.fetcher, scan.url)
    written = await results.record_outcome(deps.pool, scan, outcome)
    metrics.JOB_DURATION.labels(RUN_SCAN).observe(time.perf_counter() - started)
    if not written:
        metrics.JOBS.labels(RUN_SCAN, "duplicate").inc()
        return "duplicate"
    metrics.JOBS.labels(RUN_SCAN, outcome.status.value).inc()
    metrics.EVIDENCE_ROWS.inc(len(outcome.evidence))
    if outcome.error_code:
        metrics.JOB_ERRORS.labels(RUN_SCAN, outcome.error_code).inc()
    log.info("scan %s %s (%s evidence rows)", scan.id, outcome.status.value, len(outcome.evidence))
    return outcome.status.value
