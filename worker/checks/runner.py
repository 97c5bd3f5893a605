"""Run a suite: steps in order, each retried before its failure counts, variables flowing forward; the
first failure stops the rest unless its step says to continue."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from scanfleet.checks import BrowserStep, HeartbeatStep, HttpStep, Step, Suite, TcpStep, TlsStep
from scanfleet.model import Attachment, Evidence
from scanfleet.worker.checks import browser_step, heartbeat_step, http_step, tcp_step, tls_step
from scanfleet.worker.checks.assertions import evaluate
from scanfleet.worker.checks.attempt import Attempt
from scanfleet.worker.checks.env import CheckEnv, SuiteRun
from scanfleet.worker.checks.evidence import StepRecord, step_results
from scanfleet.worker.checks.extract import extract

MAX_BACKOFF_SECONDS = 30.0

Verdict = Literal["passed", "degraded", "failed"]

_EXECUTORS: dict[type, Callable[[Any, SuiteRun], Awaitable[Attempt]]] = {
    HttpStep: http_step.execute,
    TlsStep: tls_step.execute,
    TcpStep: tcp_step.execute,
    HeartbeatStep: heartbeat_step.execute,
    BrowserStep: browser_step.execute,
}


@dataclass(frozen=True)
class SuiteResult:
    verdict: Verdict  # degraded: every assertion passed, but a timing crossed its degraded threshold
    evidence: list[Evidence]
    attachments: list[Attachment] = field(default_factory=list)  # screenshots and DOM snapshots, redacted


async def run_suite(suite: Suite, env: CheckEnv) -> SuiteResult:
    """Target failures (timeouts, refusals, the SSRF guard, TLS errors) are results, never exceptions."""
    records: list[StepRecord] = []
    async with contextlib.AsyncExitStack() as resources:  # what steps open for the whole run: a browser context
        run = SuiteRun(env, dict(suite.variables), resources)
        stopped = False
        for index, step in enumerate(suite.steps):
            if stopped:
                records.append(StepRecord(index, step))
                continue
            record = await _run_step(index, step, run)
            records.append(record)
            stopped = not record.passed and not step.continue_on_failure
    return SuiteResult(_verdict(records), *step_results(records))


async def _run_step(index: int, step: Step, run: SuiteRun) -> StepRecord:
    record = StepRecord(index, step)
    extractions = step.extract if isinstance(step, HttpStep) else []
    while True:
        attempt = await _EXECUTORS[type(step)](step, run)
        record.attempts += 1
        record.last = attempt
        record.results = [*attempt.judged, *(evaluate(assertion, attempt.observation) for assertion in step.assertions)]
        record.extracted = [
            *attempt.extracted,
            *((extraction, extract(extraction, attempt.observation)) for extraction in extractions),
        ]
        record.passed = (
            (attempt.error is None or not attempt.error.decisive)
            and all(result.passed for result in record.results)
            and all(value is not None for _, value in record.extracted)
        )
        if record.passed or record.attempts > step.retries:
            break
        await asyncio.sleep(min(step.retry_backoff_seconds * 2 ** (record.attempts - 1), MAX_BACKOFF_SECONDS))
    run.variables.update({extraction.name: value for extraction, value in record.extracted if value is not None})
    return record


def _verdict(records: list[StepRecord]) -> Verdict:
    if any(not record.passed and not record.skipped for record in records):
        return "failed"
    return "degraded" if any(record.degraded for record in records) else "passed"
