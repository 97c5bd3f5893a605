"""Assertions judged against what an attempt observed. Each type's check says whether the assertion, as
written, holds and what it saw; inversion and the verdict are applied here once, for all of them."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from scanfleet.checks.actions import PageAssertion, TimingThreshold
from scanfleet.checks.assertions_model import (
    Assertion,
    BodyAssertion,
    CertDaysLeftAssertion,
    CertHostnameAssertion,
    CertIssuerAssertion,
    HeaderAssertion,
    HeartbeatOnTimeAssertion,
    JsonAssertion,
    ResponseTimeAssertion,
    StatusAssertion,
    TcpConnectedAssertion,
)
from scanfleet.checks.expressions import compile_path, compile_regex
from scanfleet.worker.checks.attempt import Observation
from scanfleet.worker.checks.operators import compare, json_holds, names_cover, text_matches
from scanfleet.worker.privacy.tls import days_left

ACTUAL_CHARS = 200  # of a text actual value in a message; the evidence keeps it whole (bounded by the body)

# What a result judges: a step's assertion, a browser step's page assertion or one of its timing thresholds.
Judged = Assertion | PageAssertion | TimingThreshold


@dataclass(frozen=True)
class AssertionResult:
    assertion: Judged
    passed: bool
    actual: Any
    expected: Any
    message: str
    degraded: bool = False


@dataclass(frozen=True)
class Finding:
    holds: bool | None  # None: nothing to judge (no response, a body that is not JSON); fails even inverted
    actual: Any = None
    note: str = ""


_NO_RESPONSE = Finding(None, note="nothing to check: the step got no answer")


def evaluate(assertion: Assertion, observation: Observation) -> AssertionResult:
    finding = _CHECKS[type(assertion)](assertion, observation)
    slow = (
        isinstance(assertion, ResponseTimeAssertion)
        and assertion.degraded_ms is not None
        and finding.actual is not None
        and finding.actual > assertion.degraded_ms
    )
    return judge(assertion, finding, _expected(assertion, observation), slow)


def judge(assertion: Judged, finding: Finding, expected: Any, slow: bool = False) -> AssertionResult:
    """The result of `assertion` given what was found: inverted if it says so; `slow` (past a degraded
    threshold) makes a pass a degraded one."""
    passed = finding.holds is not None and finding.holds != assertion.invert
    degraded = passed and not assertion.invert and slow
    message = _message(assertion, expected, finding, passed, degraded)
    return AssertionResult(assertion, passed, finding.actual, expected, message, degraded)


def _status(assertion: StatusAssertion, observation: Observation) -> Finding:
    status, value = observation.status, assertion.value
    if status is None:
        return _NO_RESPONSE
    if assertion.operator == "equals":
        return Finding(status == value, status)
    if assertion.operator == "one_of":
        return Finding(status in value, status)  # type: ignore[operator]
    low, high = value  # type: ignore[misc]
    return Finding(low <= status <= high, status)


def _response_time(assertion: ResponseTimeAssertion, observation: Observation) -> Finding:
    if observation.elapsed_ms is None:
        return _NO_RESPONSE
    limit = math.inf if assertion.failed_ms is None else assertion.failed_ms
    return Finding(observation.elapsed_ms <= limit, round(observation.elapsed_ms, 1))


def _body(assertion: BodyAssertion, observation: Observation) -> Finding:
    if observation.text is None:
        return _NO_RESPONSE
    if assertion.operator == "regex":
        match = compile_regex(assertion.value).search(observation.text)
        return Finding(match is not None, match.group(0) if match else None)
    # The whole body is in the step's snapshot; here, whether the text was there is the actual value.
    present = assertion.value in observation.text
    return Finding(present == (assertion.operator == "contains"), present)


def _json(assertion: JsonAssertion, observation: Observation) -> Finding:
    if observation.text is None:
        return _NO_RESPONSE
    is_json, document = observation.json
    if not is_json:
        return Finding(None, note="the body is not JSON")
    query = compile_path(assertion.path)
    values = query.findall(document)
    if query.singular_query():
        if not values:  # a missing value is not null, not empty, equal to nothing: every operator is false
            return Finding(False, None, f"{assertion.path} matches nothing")
        actual = values[0]
    else:
        actual = values  # every match; `exists` means at least one
    if assertion.operator == "exists":
        return Finding(bool(values), actual)
    holds = json_holds(assertion.operator, actual, assertion.value)
    if assertion.operator == "length" and isinstance(actual, str | list | dict):
        actual = len(actual)
    return Finding(holds, actual)


def _header(assertion: HeaderAssertion, observation: Observation) -> Finding:
    headers = observation.headers
    if headers is None:
        return _NO_RESPONSE
    value = ", ".join(headers.get_list(assertion.name)) if assertion.name in headers else None
    if assertion.operator == "exists":
        return Finding(value is not None, value)
    if value is None:
        return Finding(False, None, "no such header")
    return Finding(text_matches(assertion.operator, value, assertion.value or ""), value)


def _cert_days_left(assertion: CertDaysLeftAssertion, observation: Observation) -> Finding:
    certificate = observation.certificate
    if certificate is None or certificate.not_after is None:
        return Finding(None, note="no certificate")
    days = days_left(certificate.not_after, observation.observed_at)
    return Finding(compare(assertion.operator, days, assertion.value), days)


def _cert_issuer(assertion: CertIssuerAssertion, observation: Observation) -> Finding:
    if observation.certificate is None:
        return Finding(None, note="no certificate")
    issuer = observation.certificate.issuer
    name = issuer.get("organizationName") or issuer.get("commonName") or ""
    return Finding(text_matches(assertion.operator, name, assertion.value), name)


def _cert_hostname(assertion: CertHostnameAssertion, observation: Observation) -> Finding:
    if observation.certificate is None:
        return Finding(None, note="no certificate")
    names = observation.certificate.subject_alt_names
    return Finding(names_cover(names, assertion.hostname or observation.host or ""), names)


def _tcp_connected(_assertion: TcpConnectedAssertion, observation: Observation) -> Finding:
    if observation.connected is None:
        return Finding(None, note="the connection was never tried")
    return Finding(observation.connected, observation.connected)


def _heartbeat(_assertion: HeartbeatOnTimeAssertion, observation: Observation) -> Finding:
    state = observation.heartbeat
    if state is None:
        return Finding(None, note="no such heartbeat")
    last = state.last_ping_at
    actual = {
        "last_ping_at": last.isoformat() if last else None,
        "age_seconds": round((observation.observed_at - last).total_seconds(), 3) if last else None,
    }
    return Finding(state.on_time(observation.observed_at), actual, "" if last else "never pinged")


_CHECKS: dict[type, Callable[[Any, Observation], Finding]] = {
    StatusAssertion: _status,
    ResponseTimeAssertion: _response_time,
    BodyAssertion: _body,
    JsonAssertion: _json,
    HeaderAssertion: _header,
    CertDaysLeftAssertion: _cert_days_left,
    CertIssuerAssertion: _cert_issuer,
    CertHostnameAssertion: _cert_hostname,
    TcpConnectedAssertion: _tcp_connected,
    HeartbeatOnTimeAssertion: _heartbeat,
}

# Fields that say what is checked, or how: the rest is what the assertion expects.
_NOT_EXPECTED = {"type", "operator", "invert", "path", "name"}


def _expected(assertion: Assertion, observation: Observation) -> Any:
    if isinstance(assertion, CertHostnameAssertion):
        return assertion.hostname or observation.host
    if isinstance(assertion, TcpConnectedAssertion):
        return True
    if isinstance(assertion, HeartbeatOnTimeAssertion):
        state = observation.heartbeat
        return {"period_seconds": state.period_seconds, "grace_seconds": state.grace_seconds} if state else None
    fields = assertion.model_dump(mode="json", exclude=_NOT_EXPECTED)
    if "value" in fields:
        return fields["value"]
    return {name: value for name, value in fields.items() if value is not None} or None


def _subject(assertion: Judged) -> str:
    if isinstance(assertion, TimingThreshold):
        return assertion.metric
    if isinstance(assertion, PageAssertion):
        target = assertion.target
        return assertion.type.removeprefix("assert_") + (f" {target}" if target else "")
    if isinstance(assertion, JsonAssertion):
        return assertion.path
    if isinstance(assertion, HeaderAssertion):
        return f"header {assertion.name}"
    return assertion.type.replace("_", " ")


def _message(assertion: Judged, expected: Any, finding: Finding, passed: bool, degraded: bool) -> str:
    verdict = "degraded" if degraded else "passed" if passed else "failed"
    wanted = "" if expected is None else f" {_short(expected)}"
    inverted = "not " if assertion.invert else ""
    note = f" ({finding.note})" if finding.note and not passed else ""
    checked = f"{_subject(assertion)} {inverted}{assertion.operator}{wanted}"
    return f"{checked}: {verdict}, actual {_short(finding.actual)}{note}"


def _short(value: Any) -> str:
    text = json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= ACTUAL_CHARS else text[: ACTUAL_CHARS - 1] + "…"
