"""arq tasks. Each is safe to run twice: the database decides which delivery's result counts.

A task is one delivery (scanfleet.lifecycle.Delivery) and the decisions about it, in order: claim the row,
end a job whose workers keep dying, wait out its target's open circuit, produce the outcome, then retry a
transient failure or finish.
"""

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

from scanfleet import metrics
from scanfleet.artifacts import StoreUnavailable
from scanfleet.artifacts.writer import without_artifacts
from scanfleet.breakers import SharedBreakers
from scanfleet.broker.jobs import RUN_BROWSER_SCAN, RUN_CHECKS, RUN_SCAN
from scanfleet.checks import parse_suite
from scanfleet.config import Settings
from scanfleet.db.errors import unavailable
from scanfleet.http import SafeFetcher
from scanfleet.lifecycle import Delivery, Lifecycle, workers_lost
from scanfleet.logs import annotate, job_context
from scanfleet.model import Engine, Job, Kind, Outcome, Status
from scanfleet.retry import RetryPolicy, is_transient
from scanfleet.worker.browser import BrowserRuntime, browse
from scanfleet.worker.browser import limits_for as browser_limits
from scanfleet.worker.checks import CheckEnv, run_suite
from scanfleet.worker.outage import OutageGuard
from scanfleet.worker.scan import scan_url

log = logging.getLogger(__name__)

STORE = "artifacts"  # the storage breaker's circuit, and what jobs deferred by it wait on


@dataclass
class Deps:
    settings: Settings
    lifecycle: Lifecycle
    fetcher: SafeFetcher
    checks: Callable[[uuid.UUID], CheckEnv]  # the check environment for an organisation's run
    targets: SharedBreakers  # one circuit per target host
    outage: OutageGuard
    retry: RetryPolicy
    storage: SharedBreakers  # the artifact store's one circuit (STORE)
    browser: BrowserRuntime | None = None  # a browser worker's one Chromium; None on http workers


@dataclass(frozen=True)
class Task:
    """What a task does with its job, and the host whose circuit guards it: None where a failing target is the
    result itself (a test run reports the outage its checks found, so deferring it would hide exactly that)."""

    name: str
    kind: Kind
    timeout: float
    produce: Callable[[Job], Awaitable[Outcome]]
    target: Callable[[Job], str | None] = lambda _: None
    engine: Engine = "http"


async def run_scan(ctx: dict[str, Any], scan_id: str, context: dict[str, str] | None = None) -> str:
    deps: Deps = ctx["deps"]
    task = Task(
        RUN_SCAN, "privacy", deps.settings.scan_timeout_seconds,
        lambda scan: scan_url(deps.fetcher, scan.url or "", deps.settings.artifact_document_max_bytes),
        target=lambda scan: urlsplit(scan.url or "").hostname,
    )  # fmt: skip
    with job_context(ctx["job_id"], task.name, context):  # its log lines and span carry its cause's ids
        return await perform(deps, task, uuid.UUID(scan_id))


async def run_browser_scan(ctx: dict[str, Any], scan_id: str, context: dict[str, str] | None = None) -> str:
    deps: Deps = ctx["deps"]
    runtime, limits = deps.browser, browser_limits(deps.settings)
    assert runtime is not None, "browser scans are taken by browser workers only"
    task = Task(
        RUN_BROWSER_SCAN, "privacy", browser_seconds(deps.settings),
        lambda scan: browse(runtime, scan.url or "", limits),
        target=lambda scan: urlsplit(scan.url or "").hostname, engine="browser",
    )  # fmt: skip
    with job_context(ctx["job_id"], task.name, context):
        return await perform(deps, task, uuid.UUID(scan_id))


def browser_seconds(settings: Settings) -> float:
    """A browser scan's time limit: its page time, reading the page afterwards, and starting a browser."""
    return settings.browser_page_seconds + browser_limits(settings).collect_seconds + 30


async def run_checks(ctx: dict[str, Any], run_id: str, context: dict[str, str] | None = None) -> str:
    deps: Deps = ctx["deps"]
    limit = deps.settings.run_timeout_seconds
    # A browser worker takes runs from the browser line only: those with browser steps.
    engine: Engine = "browser" if deps.browser is not None else "http"

    async def check(run: Job) -> Outcome:
        suite = parse_suite(run.spec)
        try:
            async with asyncio.timeout(limit):
                result = await run_suite(suite, deps.checks(run.org_id))
        except TimeoutError:
            return Outcome.failed("timeout", f"the run took over {limit:g}s")
        # The run itself succeeded; what it found about the customer's service is its verdict.
        return Outcome(
            Status.SUCCEEDED, evidence=result.evidence, verdict=result.verdict, attachments=result.attachments
        )

    with job_context(ctx["job_id"], RUN_CHECKS, context):
        return await perform(deps, Task(RUN_CHECKS, "checks", limit, check, engine=engine), uuid.UUID(run_id))


async def perform(deps: Deps, task: Task, job_id: uuid.UUID) -> str:
    """One delivery of the job, start to end; returns how it ended (arq logs it)."""
    async with deps.lifecycle.delivery(job_id, task.kind, task.engine) as delivery:
        return await _decide(deps, task, delivery)


async def _decide(deps: Deps, task: Task, delivery: Delivery) -> str:
    try:
        # The row's lease outlives the job's time limit: past it, the scheduler knows the worker is gone.
        job = await delivery.claim(lease_seconds=task.timeout + 30)
    except Exception as exc:
        if not unavailable(exc):
            raise
        await deps.outage.failed()
        await delivery.defer_unclaimed(await deps.outage.retry_at())
        return _deferred(task, "platform")
    if job is None:
        await delivery.duplicate()
        metrics.JOBS.labels(task.name, "duplicate").inc()
        return "duplicate"
    annotate(org_id=job.org_id)  # also for a job that came without context (re-admitted by reconciliation)
    if job.crashes > deps.settings.job_max_tries:
        return await _finish(deps, task, delivery, workers_lost(deps.settings.job_max_tries), 0.0)
    host = task.target(job)
    # A scan's result has artifacts: while their store is down, running it would only have to be deferred after.
    # So has a run with browser steps, and running it again would submit its steps' forms again.
    stored = task.kind == "privacy" or task.engine == "browser"
    target_read, store_read = await _read_circuits(deps, host, stored)
    seen = None  # the target's circuit as read before the fetch: recording its outcome starts from it
    if host:
        admitted = await deps.targets.admit(host, target_read)
        seen = admitted.seen
        if admitted.until is not None:
            waited = _waited(job)
            if waited > deps.settings.breaker_give_up_seconds:
                return await _finish(deps, task, delivery, _unavailable(host, waited), 0.0)
            await delivery.defer(admitted.until + random.random(), _circuit(host))  # noqa: S311 - spread the herd
            return _deferred(task, "breaker")
    store_seen = None  # the store's circuit as read now: recording the result's write starts from it
    store_given_up = False  # waited too long for the store: the result is written without its artifacts
    if stored:
        store = await deps.storage.admit(STORE, store_read)
        store_given_up = store.until is not None and _given_up(deps, job)
        if store.until is not None and not store_given_up:
            await delivery.defer(store.until + random.random(), STORE)  # noqa: S311 - spread the herd
            return _deferred(task, "storage")
        store_seen = store.seen
    if job.attempts == 1 and job.retries == 0:
        metrics.JOB_WAIT.labels(task.name).observe(max((datetime.now(UTC) - job.created_at).total_seconds(), 0.0))
    started = time.perf_counter()
    outcome = await task.produce(job)
    if store_given_up:
        outcome = without_artifacts(outcome, "store_unavailable")
    transient = is_transient(outcome)
    # A 4xx is a live host's answer. If this closed the circuit, the host's waiting jobs need not wait on.
    answered = transient or outcome.http_status is not None
    if host and answered and await deps.targets.record(host, ok=not transient, seen=seen) == "closed":
        await deps.lifecycle.wake(_circuit(host))
    delay = deps.retry.delay(job.kind, job.retries) if transient else None
    if delay is not None:
        await delivery.retry(outcome, delay)
        metrics.JOB_RETRIES.labels(task.name, outcome.error_code or "").inc()
        log.info("%s %s: %s, retry %d in %.1fs", task.name, job.id, outcome.error_code, job.retries + 1, delay)
        return _deferred(task, "retry")
    return await _finish(deps, task, delivery, outcome, time.perf_counter() - started, store_seen)


async def _read_circuits(deps: Deps, host: str | None, stored: bool) -> tuple[str | None, str | None]:
    """The target's circuit and the store's, when the run passes both, read in one round trip (None: `admit`
    reads its own). Each is still decided in turn: deciding may claim a half-open trial, and the store's is not
    claimed for a run the target's circuit puts off."""
    if not (host and stored):
        return None, None
    target, store = await deps.targets.read_together(host, [(deps.storage, STORE)])
    return target, store


async def _finish(
    deps: Deps, task: Task, delivery: Delivery, outcome: Outcome, seconds: float, store_seen: str | None = None
) -> str:
    try:
        written = await delivery.finish(outcome)
    except StoreUnavailable as exc:
        await deps.storage.record(STORE, ok=False)
        if delivery.job is not None and _given_up(deps, delivery.job):
            log.warning("%s %s: the artifact store is unavailable (%s); finished without artifacts",
                        task.name, delivery.id, exc)  # fmt: skip
            return await _finish(deps, task, delivery, without_artifacts(outcome, "store_unavailable"), seconds)
        # Nothing was written: the job runs again once the store is back, and its result is made anew then.
        log.warning("%s %s: the artifact store is unavailable (%s); deferred", task.name, delivery.id, exc)
        until = await deps.storage.open_until(STORE) or time.time() + deps.storage.reset_seconds
        await delivery.defer(until + random.random(), STORE)  # noqa: S311 - spread the herd
        return _deferred(task, "storage")
    if outcome.attachments and await deps.storage.record(STORE, ok=True, seen=store_seen) == "closed":
        await deps.lifecycle.wake(STORE)  # the store is back: the jobs it deferred need not wait out their time
    metrics.JOB_DURATION.labels(task.name).observe(seconds)
    if written is None:
        metrics.JOBS.labels(task.name, "duplicate").inc()
        return "duplicate"
    ended = written.verdict or written.status.value
    metrics.JOBS.labels(task.name, ended).inc()
    metrics.EVIDENCE_ROWS.inc(len(written.evidence))
    if written.error_code:
        metrics.JOB_ERRORS.labels(task.name, written.error_code).inc()
    log.info("%s %s %s (%s evidence rows)", task.name, delivery.id, ended, len(written.evidence))
    return ended


def _waited(job: Job) -> float:
    return (datetime.now(UTC) - job.created_at).total_seconds()


def _given_up(deps: Deps, job: Job) -> bool:
    """The store has been waited for long enough: a job must not wait on an outage (or a store that refuses the
    platform's credentials) forever, and its result is worth more than its artifacts."""
    return _waited(job) > deps.settings.breaker_give_up_seconds


def _unavailable(host: str, waited: float) -> Outcome:
    # A host that keeps failing its trials must not hold an org's queued jobs (and their place in line) forever.
    message = f"{host} failed every recent attempt; its circuit was still open {waited:.0f}s after submission"
    return Outcome.failed("target_unavailable", message)


def _deferred(task: Task, reason: str) -> str:
    metrics.JOBS_DEFERRED.labels(task.name, reason).inc()
    return f"deferred ({reason})"


def _circuit(host: str) -> str:
    return f"target:{host}"
