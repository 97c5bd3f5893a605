"""Every assertion operator on fixed observations: passing, failing, and inverted."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from pydantic import TypeAdapter

from scanfleet.checks import HeartbeatState
from scanfleet.checks.assertions_model import Assertion, HeartbeatOnTimeAssertion
from scanfleet.http import TlsInfo
from scanfleet.worker.checks.assertions import evaluate
from scanfleet.worker.checks.attempt import Observation
from scanfleet.worker.checks.operators import json_equal, names_cover

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
DOCUMENT = {
    "count": 2,
    "ratio": 0.5,
    "name": "alpha",
    "flag": True,
    "nothing": None,
    "empty": [],
    "blank": "",
    "items": [{"id": 1, "tags": ["a"]}, {"id": 2, "tags": []}],
    "owner": {"name": "Ada"},
}
CERTIFICATE = TlsInfo(
    protocol="TLSv1.3",
    cipher="TLS_AES_128_GCM_SHA256",
    subject={"commonName": "api.example.com"},
    issuer={"organizationName": "Let's Encrypt", "commonName": "R11"},
    subject_alt_names=["api.example.com", "*.cdn.example.com", "192.0.2.7"],
    not_before=NOW - timedelta(days=60),
    not_after=NOW + timedelta(days=30, hours=5),
)


def observation(**overrides: Any) -> Observation:
    fields: dict[str, Any] = {
        "observed_at": NOW,
        "elapsed_ms": 250.0,
        "host": "api.example.com",
        "status": 201,
        "headers": httpx.Headers([("Content-Type", "application/json"), ("Cache-Control", "no-store, private")]),
        "text": json.dumps(DOCUMENT),
        "certificate": CERTIFICATE,
        "connected": True,
        "heartbeat": HeartbeatState(NOW - timedelta(seconds=90), period_seconds=60, grace_seconds=60),
    }
    return Observation(**{**fields, **overrides})


_ASSERTION: TypeAdapter[Assertion] = TypeAdapter(Assertion)

# (assertion, does it hold on observation()?)
CASES: list[tuple[dict[str, Any], bool]] = [
    ({"type": "status", "operator": "equals", "value": 201}, True),
    ({"type": "status", "operator": "equals", "value": 200}, False),
    ({"type": "status", "operator": "one_of", "value": [200, 201]}, True),
    ({"type": "status", "operator": "one_of", "value": [200, 204]}, False),
    ({"type": "status", "operator": "range", "value": [200, 201]}, True),
    ({"type": "status", "operator": "range", "value": [300, 399]}, False),
    ({"type": "response_time", "failed_ms": 300}, True),
    ({"type": "response_time", "failed_ms": 200}, False),
    ({"type": "body", "operator": "contains", "value": "alpha"}, True),
    ({"type": "body", "operator": "contains", "value": "omega"}, False),
    ({"type": "body", "operator": "not_contains", "value": "omega"}, True),
    ({"type": "body", "operator": "not_contains", "value": "alpha"}, False),
    ({"type": "body", "operator": "regex", "value": r'"id": \d'}, True),
    ({"type": "body", "operator": "regex", "value": r'"id": "\d'}, False),
    ({"type": "json", "path": "$.count", "operator": "==", "value": 2}, True),
    ({"type": "json", "path": "$.count", "operator": "==", "value": 2.0}, True),
    ({"type": "json", "path": "$.count", "operator": "==", "value": "2"}, False),
    ({"type": "json", "path": "$.flag", "operator": "==", "value": 1}, False),
    ({"type": "json", "path": "$.owner", "operator": "==", "value": {"name": "Ada"}}, True),
    ({"type": "json", "path": "$.count", "operator": "!=", "value": 3}, True),
    ({"type": "json", "path": "$.count", "operator": "!=", "value": 2}, False),
    ({"type": "json", "path": "$.ratio", "operator": "<", "value": 1}, True),
    ({"type": "json", "path": "$.ratio", "operator": "<", "value": 0.5}, False),
    ({"type": "json", "path": "$.name", "operator": "<", "value": "beta"}, True),
    ({"type": "json", "path": "$.name", "operator": "<", "value": 5}, False),
    ({"type": "json", "path": "$.ratio", "operator": "<=", "value": 0.5}, True),
    ({"type": "json", "path": "$.ratio", "operator": "<=", "value": 0.4}, False),
    ({"type": "json", "path": "$.count", "operator": ">", "value": 1}, True),
    ({"type": "json", "path": "$.count", "operator": ">", "value": 2}, False),
    ({"type": "json", "path": "$.count", "operator": ">=", "value": 2}, True),
    ({"type": "json", "path": "$.count", "operator": ">=", "value": 3}, False),
    ({"type": "json", "path": "$.name", "operator": "contains", "value": "lph"}, True),
    ({"type": "json", "path": "$.name", "operator": "contains", "value": "z"}, False),
    ({"type": "json", "path": "$.items[*].id", "operator": "contains", "value": 2}, True),
    ({"type": "json", "path": "$.items[*].id", "operator": "contains", "value": 3}, False),
    ({"type": "json", "path": "$.owner", "operator": "contains", "value": "name"}, True),
    ({"type": "json", "path": "$.owner", "operator": "contains", "value": "age"}, False),
    ({"type": "json", "path": "$.items[0].id", "operator": "exists"}, True),
    ({"type": "json", "path": "$.items[5].id", "operator": "exists"}, False),
    ({"type": "json", "path": "$..missing", "operator": "exists"}, False),
    ({"type": "json", "path": "$.nothing", "operator": "is_null"}, True),
    ({"type": "json", "path": "$.count", "operator": "is_null"}, False),
    ({"type": "json", "path": "$.absent", "operator": "is_null"}, False),
    ({"type": "json", "path": "$.empty", "operator": "is_empty"}, True),
    ({"type": "json", "path": "$.blank", "operator": "is_empty"}, True),
    ({"type": "json", "path": "$.items", "operator": "is_empty"}, False),
    ({"type": "json", "path": "$.items[?@.tags[0]]", "operator": "length", "value": 1}, True),
    ({"type": "json", "path": "$.items", "operator": "length", "value": 2}, True),
    ({"type": "json", "path": "$.name", "operator": "length", "value": 4}, False),
    ({"type": "header", "name": "content-type", "operator": "exists"}, True),
    ({"type": "header", "name": "X-Missing", "operator": "exists"}, False),
    ({"type": "header", "name": "Content-Type", "operator": "equals", "value": "application/json"}, True),
    ({"type": "header", "name": "Content-Type", "operator": "equals", "value": "text/html"}, False),
    ({"type": "header", "name": "X-Missing", "operator": "equals", "value": "x"}, False),
    ({"type": "header", "name": "Cache-Control", "operator": "contains", "value": "no-store"}, True),
    ({"type": "header", "name": "Cache-Control", "operator": "contains", "value": "public"}, False),
    ({"type": "header", "name": "Cache-Control", "operator": "regex", "value": "^no-"}, True),
    ({"type": "header", "name": "Cache-Control", "operator": "regex", "value": "^public"}, False),
    ({"type": "cert_days_left", "operator": ">=", "value": 30}, True),
    ({"type": "cert_days_left", "operator": ">=", "value": 31}, False),
    ({"type": "cert_days_left", "operator": "<", "value": 14}, False),
    ({"type": "cert_days_left", "operator": "==", "value": 30}, True),
    ({"type": "cert_issuer", "operator": "equals", "value": "Let's Encrypt"}, True),
    ({"type": "cert_issuer", "operator": "equals", "value": "DigiCert"}, False),
    ({"type": "cert_issuer", "operator": "contains", "value": "Encrypt"}, True),
    ({"type": "cert_issuer", "operator": "regex", "value": "^Digi"}, False),
    ({"type": "cert_hostname"}, True),
    ({"type": "cert_hostname", "hostname": "img.cdn.example.com"}, True),
    ({"type": "cert_hostname", "hostname": "a.img.cdn.example.com"}, False),
    ({"type": "cert_hostname", "hostname": "www.example.com"}, False),
    ({"type": "cert_hostname", "hostname": "192.0.2.7"}, True),
    ({"type": "tcp_connected"}, True),
]


@pytest.mark.parametrize(("spec", "holds"), CASES, ids=[json.dumps(spec) for spec, _ in CASES])
def test_operator_and_its_inversion(spec: dict[str, Any], holds: bool) -> None:
    plain = evaluate(_ASSERTION.validate_python(spec), observation())
    assert plain.passed is holds, plain.message
    assert f": {'passed' if holds else 'failed'}, actual " in plain.message
    inverted = evaluate(_ASSERTION.validate_python({**spec, "invert": True}), observation())
    assert inverted.passed is not holds, inverted.message
    assert " not " in inverted.message


def test_the_actual_value_is_reported() -> None:
    result = evaluate(
        _ASSERTION.validate_python({"type": "json", "path": "$.items", "operator": "length", "value": 3}), observation()
    )
    assert (result.passed, result.actual, result.expected) == (False, 2, 3)
    assert result.message == "$.items length 3: failed, actual 2"
    header = evaluate(
        _ASSERTION.validate_python({"type": "header", "name": "Cache-Control", "operator": "exists"}), observation()
    )
    assert header.actual == "no-store, private"
    days = evaluate(_ASSERTION.validate_python({"type": "cert_days_left", "value": 14}), observation())
    assert days.actual == 30


def test_response_time_between_the_thresholds_passes_degraded() -> None:
    spec = {"type": "response_time", "degraded_ms": 200, "failed_ms": 1000}
    result = evaluate(_ASSERTION.validate_python(spec), observation())
    assert (result.passed, result.degraded, result.actual) == (True, True, 250.0)
    fast = evaluate(_ASSERTION.validate_python(spec), observation(elapsed_ms=150.0))
    assert (fast.passed, fast.degraded) == (True, False)
    slow = evaluate(_ASSERTION.validate_python(spec), observation(elapsed_ms=1500.0))
    assert (slow.passed, slow.degraded) == (False, False)
    inverted = evaluate(_ASSERTION.validate_python({**spec, "invert": True}), observation())
    assert (inverted.passed, inverted.degraded) == (False, False)


@pytest.mark.parametrize(
    "spec",
    [
        {"type": "status", "value": 200},
        {"type": "response_time", "failed_ms": 100},
        {"type": "body", "operator": "contains", "value": "x"},
        {"type": "json", "path": "$.a", "operator": "exists"},
        {"type": "header", "name": "X", "operator": "exists"},
    ],
)
def test_without_a_response_an_assertion_fails_even_inverted(spec: dict[str, Any]) -> None:
    nothing = Observation(observed_at=NOW)
    for invert in (False, True):
        result = evaluate(_ASSERTION.validate_python({**spec, "invert": invert}), nothing)
        assert not result.passed and "no answer" in result.message


def test_json_assertions_fail_on_a_body_that_is_not_json_even_inverted() -> None:
    for invert in (False, True):
        spec = {"type": "json", "path": "$.a", "operator": "exists", "invert": invert}
        result = evaluate(_ASSERTION.validate_python(spec), observation(text="<html>"))
        assert not result.passed and "not JSON" in result.message


def test_certificate_assertions_fail_without_a_certificate() -> None:
    for spec in ({"type": "cert_days_left", "value": 1}, {"type": "cert_issuer", "operator": "contains", "value": "a"}):
        result = evaluate(_ASSERTION.validate_python({**spec, "invert": True}), observation(certificate=None))
        assert not result.passed and "no certificate" in result.message


def test_tcp_connected_when_refused_and_when_never_tried() -> None:
    closed = _ASSERTION.validate_python({"type": "tcp_connected", "invert": True})
    assert evaluate(closed, observation(connected=False)).passed
    assert not evaluate(closed, observation(connected=None)).passed  # refused by the guard: not "closed"


def test_heartbeat_on_time_late_and_never_pinged() -> None:
    on_time = evaluate(HeartbeatOnTimeAssertion(), observation())
    assert on_time.passed and on_time.actual == {
        "last_ping_at": (NOW - timedelta(seconds=90)).isoformat(),
        "age_seconds": 90.0,
    }
    assert on_time.expected == {"period_seconds": 60, "grace_seconds": 60}
    late = HeartbeatState(NOW - timedelta(seconds=121), period_seconds=60, grace_seconds=60)
    assert not evaluate(HeartbeatOnTimeAssertion(), observation(heartbeat=late)).passed
    never = evaluate(HeartbeatOnTimeAssertion(), observation(heartbeat=HeartbeatState(None, 60, 60)))
    assert not never.passed and "never pinged" in never.message


@pytest.mark.parametrize(
    ("left", "right", "equal"),
    [
        (1, 1.0, True),
        (True, 1, False),
        (0, False, False),
        ([1, {"a": None}], [1.0, {"a": None}], True),
        ({"a": 1}, {"b": 1}, False),
        ("1", 1, False),
    ],
)
def test_json_equality(left: Any, right: Any, equal: bool) -> None:
    assert json_equal(left, right) is equal


def test_names_cover() -> None:
    names = ["example.com", "*.example.net", "2001:db8::1"]
    assert names_cover(names, "EXAMPLE.com.")
    assert names_cover(names, "a.example.net") and not names_cover(names, "example.net")
    assert names_cover(names, "[2001:db8:0::1]") and not names_cover(names, "2001:db8::2")
