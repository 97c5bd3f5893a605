"""A run's evidence rows: one "check_step" per step, one "check_assertion" per assertion judged, one
"check_extract" per variable a step tried to set; and the files its steps produced (screenshots, DOM snapshots),
each referenced from its step's row. Secret values are redacted from all of them."""

from __future__ import annotations

import dataclasses
import hashlib
import html
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, quote_plus

from scanfleet.checks import Step
from scanfleet.checks.actions import Extract
from scanfleet.checks.steps import Extraction
from scanfleet.model import Attachment, Evidence, Severity
from scanfleet.worker.checks.assertions import AssertionResult
from scanfleet.worker.checks.attempt import REDACTED, Attempt


@dataclass
class StepRecord:
    index: int
    step: Step
    attempts: int = 0
    last: Attempt | None = None  # None: skipped after an earlier step failed
    results: list[AssertionResult] = field(default_factory=list)
    extracted: list[tuple[Extraction | Extract, str | None]] = field(default_factory=list)
    passed: bool = False

    @property
    def skipped(self) -> bool:
        return self.last is None

    @property
    def degraded(self) -> bool:
        return self.passed and any(result.degraded for result in self.results)


def step_results(records: list[StepRecord]) -> tuple[list[Evidence], list[Attachment]]:
    """The rows, and the attachments in the order the rows' `attachments` indexes count them."""
    secrets = {value for record in records for extraction, value in record.extracted if extraction.secret and value}
    secrets.update(secret for record in records if record.last for secret in record.last.secrets if secret)
    shown = shown_forms(secrets)
    attachments: list[Attachment] = []
    rows: list[Evidence] = []
    for record in records:
        files = [_redacted_file(attachment, shown) for attachment in (record.last.attachments if record.last else [])]
        rows.append(_step_row(record, _references(files, len(attachments))))
        attachments.extend(files)
        location = record.last.location if record.last else None
        rows.extend(
            _assertion_row(record.index, number, result, location) for number, result in enumerate(record.results)
        )
        rows.extend(_extract_row(record.index, extraction, value, location) for extraction, value in record.extracted)
    if not secrets:
        return rows, attachments
    forms = _row_forms(shown)
    return [_redacted(row, forms) for row in rows], attachments


def _references(files: list[Attachment], first: int) -> list[dict[str, Any]]:
    """How a step's row names its files: by their place among the run's attachments, and their content."""
    return [
        {
            "index": first + number,
            "kind": attachment.kind,
            "content_type": attachment.content_type,
            "sha256": hashlib.sha256(attachment.data).hexdigest(),
            "bytes": len(attachment.data),
        }
        for number, attachment in enumerate(files)
    ]


def _step_row(record: StepRecord, attachments: list[dict[str, Any]]) -> Evidence:
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
    if attachments:
        details["attachments"] = attachments
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
        "target": next(
            (value for name in ("target", "path", "name") if (value := getattr(assertion, name, None))), None
        ),
        "expected": result.expected,
        "actual": result.actual,
        "passed": result.passed,
        "inverted": assertion.invert,
        "degraded": result.degraded,
        "message": result.message,
    }
    severity = Severity.MEDIUM if result.degraded else Severity.INFO if result.passed else Severity.HIGH
    return Evidence("check_assertion", severity, result.message, details, location)


def _extract_row(step: int, extraction: Extraction | Extract, value: str | None, location: str | None) -> Evidence:
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


def shown_forms(secrets: set[str]) -> list[str]:
    """Each secret as it can show in what a target sent back: as sent, JSON-escaped (in a JSON body that echoes
    it), percent-encoded as a path or as a form's query (`+` for spaces) in a URL, and HTML-escaped the ways a
    page or its serialised DOM escape it: all of `& < > " '`, only `& < >` (text), `& "` or `& " < >`
    (attributes, by the serialiser's age), with a no-break space as `&nbsp;`. Longest first: a secret that
    contains another goes first."""
    forms = (form for secret in secrets for form in _forms(secret))
    return sorted(set(forms), key=len, reverse=True)


def _forms(secret: str) -> tuple[str, ...]:
    ampersand = secret.replace("&", "&amp;").replace("\xa0", "&nbsp;")
    text = ampersand.replace("<", "&lt;").replace(">", "&gt;")
    attribute = ampersand.replace('"', "&quot;")
    return (
        secret, json.dumps(secret)[1:-1], quote(secret, safe=""), quote_plus(secret), html.escape(secret), text,
        attribute, text.replace('"', "&quot;"),
    )  # fmt: skip


def redact(text: str, forms: list[str]) -> str:
    """`text` with every form (longest first, as `shown_forms` orders them) replaced."""
    for form in forms:
        text = text.replace(form, REDACTED)
    return text


def _row_forms(shown: list[str]) -> list[str]:
    """The shown forms as they are in a row's JSON text, escaped again as the row's JSON escapes them."""
    return sorted({json.dumps(form)[1:-1] for form in shown}, key=len, reverse=True)


def _redacted_file(attachment: Attachment, forms: list[str]) -> Attachment:
    """A text file (a DOM snapshot) with every secret replaced; images are masked when they are taken."""
    if not forms or not attachment.content_type.startswith("text/"):
        return attachment
    text = redact(attachment.data.decode("utf-8", errors="replace"), forms)
    return dataclasses.replace(attachment, data=text.encode())


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
