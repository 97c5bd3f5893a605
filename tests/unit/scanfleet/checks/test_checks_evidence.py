"""Target failures classified by code, and secrets redacted from evidence in every form they take."""

from __future__ import annotations

import json
import ssl
from datetime import UTC, datetime

import httpcore
import httpx
import pytest

from scanfleet.checks import HttpStep, parse_suite
from scanfleet.http import BlockedAddressError, ResolutionError
from scanfleet.http.failures import classify
from scanfleet.worker.checks.attempt import Attempt, Observation
from scanfleet.worker.checks.evidence import StepRecord, step_results
from scanfleet.worker.checks.timing import Timings


def _caused(exc: BaseException, cause: BaseException) -> BaseException:
    exc.__cause__ = cause
    return exc


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (TimeoutError(), "timeout"),
        (httpx.ReadTimeout("slow"), "timeout"),
        (httpcore.ConnectTimeout("slow"), "timeout"),
        (BlockedAddressError("internal", "10.0.0.1"), "blocked_address"),
        (ResolutionError("nowhere.invalid", "unknown"), "dns_error"),
        (_caused(httpcore.ConnectError("handshake"), ssl.SSLCertVerificationError("verify failed")), "tls_error"),
        (_caused(httpx.ConnectError("handshake"), ssl.SSLError("wrong version")), "tls_error"),
        (ConnectionRefusedError(111, "refused"), "connect_error"),
        (httpx.ConnectError("refused"), "connect_error"),
        (httpx.RemoteProtocolError("garbage"), "protocol_error"),
        (httpx.InvalidURL("bad"), "invalid_url"),
        (httpx.TooManyRedirects("loop"), "too_many_redirects"),
        (UnicodeEncodeError("ascii", "é", 0, 1, "ordinal not in range(128)"), "invalid_request"),
    ],
)
def test_classify(exc: BaseException, code: str) -> None:
    error = classify(exc, 2.0)
    assert error.code == code and error.message


SECRET = 'tok"en/+é'


def test_a_secret_is_redacted_as_sent_json_escaped_and_percent_encoded() -> None:
    suite = parse_suite(
        {
            "steps": [
                {
                    "kind": "http",
                    "url": "https://example.com/login",
                    "extract": [{"name": "token", "source": "json", "path": "$.token", "secret": True}],
                }
            ]
        }
    )
    step = suite.steps[0]
    assert isinstance(step, HttpStep)
    body = json.dumps({"token": SECRET})
    attempt = Attempt(
        Observation(observed_at=datetime.now(UTC), text=body),
        Timings(total=0.01),
        location=f"https://example.com/next?t={httpx.QueryParams({'t': SECRET})}",
        request={"headers": [["x-token", SECRET]]},
        response={"body": body},
    )
    record = StepRecord(0, step, attempts=1, last=attempt, extracted=[(step.extract[0], SECRET)], passed=True)
    rows, _ = step_results([record])
    text = json.dumps([(row.title, row.details, row.location) for row in rows], ensure_ascii=False)
    for form in (SECRET, json.dumps(SECRET)[1:-1], "tok%22en%2F%2B%C3%A9"):
        assert form not in text
    step_row = rows[0]
    assert step_row.details["request"]["headers"] == [["x-token", "[redacted]"]]
    assert step_row.details["response"]["body"] == '{"token": "[redacted]"}'
    assert rows[1].details == {
        "step": 0,
        "name": "token",
        "source": "json",
        "found": True,
        "secret": True,
        "value": None,
    }
