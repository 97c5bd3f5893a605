"""A run's evidence rows: one "check_step" per step, one "check_assertion" per assertion judged, one
"check_extract" per variable a step tried to set. Secret values are redacted from all of them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from scanfleet.checks import Step
from scanfleet.checks.steps import Extraction
from scanfleet.model import Evidence, Severity
from scanfleet.worker.checks.assertions import AssertionResult
from scanfleet.worker.checks.attempt import REDACTED, Attempt


@dataclass
class StepRecord:
    index: int
    step: Step
    attempts: int = 0
    last: Attempt | None = None  # None: skipped after an earlier step failed
    results: list[AssertionResult] = field(default_factory=list)
    extracted: list[tuple[Extraction, str | None]] = field(default_factory=list)
    passed: bool = False

    @property
    def skipped(self) -> bool:
        return self.last is None

    @property
    def degraded(self) -> bool:
        return self.passed and any(result.degraded for result in self.results)


def step_evidence(records: list[StepRecord]) -> list[Evidence]:
    secrets = {value for record in records for extraction, value in record.extracted if extraction.secret and value}
    rows: list[Evidence] = []
    for record in records:
        rows.append(_step_row(record))
        location = record.last.location if record.last else None
        rows.extend(
            _assertion_row(record.index, number, result, location) for number, result in enumerate(record.results)
        )
        rows.extend(_extract_row(record.index, extraction, value, location) for extraction, value in record.extracted)
    if not secrets:
        return rows
    forms = _secret_forms(secrets)
    return [_redacted(row, forms) for row in rows]


def _step_row(record: StepRecord) -> Evidence:
    step, last = record.step, record.last
    details: dict[str, Any] = {
        "index": record.index,
        "name": step.label,
        "kind": step.kind,
        "attempts": record.attempts,
        "passed": record.passed,
        "skipped": record.skipped,
        "degraded": record.degraded,
        "timings": last.timings.as_ms() if last else None,
        "request": last.request if last else None,
        "response": last.response if last else None,
        "error": {"code": last.error.code, "message": last.error.message} if last and last.error else None,
    }
    if last:
        details.update(last.extra)
    if record.skipped:
        state, severity = "skipped", Severity.LOW
    elif not record.passed:
        code = f" ({last.error.code})" if last and last.error else ""
        state, severity = f"failed{code}", Severity.HIGH
    elif record.degraded:
        state, severity = "degraded", Severity.MEDIUM
    else:
        state, severity = "passed", Severity.INFO
    return Evidence("check_step", severity, f"{step.label}: {state}", details, last.location if last else None)


def _assertion_row(step: int, number: int, result: AssertionResult, location: str | None) -> Evidence:
    assertion = result.assertion
    details = {
        "step": step,
        "index": number,
        "type": assertion.type,
        "operator": assertion.operator,
        "target": getattr(assertion, "path", None) or getattr(assertion, "name", None),
        "expected": result.expected,
        "actual": result.actual,
        "passed": result.passed,
        "inverted": assertion.invert,
        "degraded": result.degraded,
        "message": result.message,
    }
    severity = Severity.MEDIUM if result.degraded else Severity.INFO if result.passed else Severity.HIGH
    return Evidence("check_assertion", severity, result.message, details, location)


def _extract_row(step: int, extraction: Extraction, value: str | None, location: str | None) -> Evidence:
    found = value is not None
    details = {
        "step": step,
        "name": extraction.name,
        "source": extraction.source,
        "found": found,
        "secret": extraction.secret,
        "value": None if extraction.secret else value,
    }
    title = f"{extraction.name} from {extraction.source}: {'found' if found else 'not found'}"
    return Evidence("check_extract", Severity.INFO if found else Severity.HIGH, title, details, location)


def _secret_forms(secrets: set[str]) -> list[str]:
    """Each secret as it can show in a row's JSON text: as sent, JSON-escaped (in a JSON body that echoes it)
    and percent-encoded (in a URL), each escaped again as the row's JSON escapes it. Longest first: a secret
    that contains another goes first."""
    shown = {form for secret in secrets for form in (secret, json.dumps(secret)[1:-1], quote(secret, safe=""))}
    return sorted({json.dumps(form)[1:-1] for form in shown}, key=len, reverse=True)


def _redacted(row: Evidence, forms: list[str]) -> Evidence:
    """The row with every secret replaced wherever it shows: a body snapshot, a substituted URL or header,
    an assertion's actual value."""
    text = json.dumps([row.title, row.details, row.location])
    if not any(form in text for form in forms):
        return row
    for form in forms:
        text = text.replace(form, REDACTED)
    title, details, location = json.loads(text)
    return Evidence(row.kind, row.severity, title, details, location)
