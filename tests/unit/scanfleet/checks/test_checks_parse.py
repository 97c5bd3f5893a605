"""parse_suite: good suites in, every kind of bad input out with its step, field and rule."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from scanfleet.checks import MAX_STEPS, HttpStep, SuiteError, TcpStep, parse_suite
from scanfleet.checks.assertions_model import TcpConnectedAssertion

EXAMPLE = json.loads((Path(__file__).parent / "example_suite.json").read_text())


def http(**fields: Any) -> dict[str, Any]:
    return {"kind": "http", "url": "https://example.com/", **fields}


def suite(*steps: object, **fields: Any) -> dict[str, Any]:
    return {"steps": list(steps), **fields}


def problems(data: object) -> list[tuple[int | None, str, str]]:
    with pytest.raises(SuiteError) as caught:
        parse_suite(data)
    for item in caught.value.errors:
        assert set(item) == {"step", "field", "rule", "message"} and item["message"]
    return [(item["step"], item["field"], item["rule"]) for item in caught.value.errors]


def test_the_example_suite_is_valid_and_survives_a_round_trip() -> None:
    parsed = parse_suite(EXAMPLE)
    assert [step.kind for step in parsed.steps] == ["http", "http", "http", "http", "tls", "tcp", "tcp", "heartbeat"]
    dumped = parsed.model_dump(mode="json")
    assert parse_suite(json.loads(json.dumps(dumped))) == parsed


def test_defaults() -> None:
    parsed = parse_suite(suite(http(), {"kind": "tcp", "host": "db.example.com", "port": 5432}))
    step = parsed.steps[0]
    assert parsed.name == "run" and parsed.variables == {}
    assert isinstance(step, HttpStep)
    assert (step.method, step.follow_redirects, step.retries, step.timeout_seconds) == ("GET", True, 0, 10.0)
    assert step.label == "GET https://example.com/"
    tcp = parsed.steps[1]
    assert isinstance(tcp, TcpStep) and tcp.assertions == [TcpConnectedAssertion()]


def test_a_url_whose_scheme_comes_from_a_variable_is_checked_at_run_time() -> None:
    parse_suite(suite(http(url="{{base}}/x"), variables={"base": "https://example.com"}))


def test_userinfo_is_allowed_in_a_check_url() -> None:
    parse_suite(suite(http(url="https://user:secret@example.com/")))


def test_a_variable_extracted_earlier_is_defined_later() -> None:
    login = http(extract=[{"name": "token", "source": "json", "path": "$.token"}])
    parse_suite(suite(login, http(headers={"Authorization": "Bearer {{ token }}"})))


def test_too_many_steps_is_one_error() -> None:
    assert problems(suite(*[http()] * (MAX_STEPS + 1))) == [(None, "steps", "too_many_steps")]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ([http()], (None, "", "type_invalid")),
        (suite(), (None, "steps", "no_steps")),
        ({"steps": [http()], "colour": "red"}, (None, "colour", "field_unknown")),
        (suite(http(), variables={"bad-name": "x"}), (None, "variables.bad-name", "variable_name_invalid")),
        (suite({"kind": "ftp", "url": "ftp://x"}), (0, "kind", "unknown_step_kind")),
        (suite({"url": "https://example.com/"}), (0, "kind", "required")),
        (suite("GET /"), (0, "", "type_invalid")),
        (suite(http(url="ftp://example.com/")), (0, "url", "url_scheme")),
        (suite(http(url="https://{{host}}/"), variables={"host": "x"}), None),
        (suite(http(url="gopher://{{host}}/"), variables={"host": "x"}), (0, "url", "url_scheme")),
        (suite(http(url="https:///path")), (0, "url", "url_host")),
        (suite(http(url="http://127.0.0.1:99999/")), (0, "url", "url_port")),
        (suite(http(method="BREW")), (0, "method", "choice_invalid")),
        (suite(http(headers={"Bad Name": "x"})), (0, "headers.Bad Name", "header_invalid")),
        (suite(http(headers={"X-A": "a\r\nInjected: 1"})), (0, "headers.X-A", "header_invalid")),
        (suite(http(timeout_seconds=600)), (0, "timeout_seconds", "out_of_range")),
        (suite(http(retries=9)), (0, "retries", "out_of_range")),
        (suite(http(body={"type": "xml", "value": "<a/>"})), (0, "body.type", "unknown_body_type")),
        (suite(http(body={"type": "form", "value": {"a": 1}})), (0, "body.value.a", "type_invalid")),
        (suite(http(auth={"type": "basic", "username": "a"})), (0, "auth.password", "required")),
        (suite(http(auth={"type": "digest"})), (0, "auth.type", "unknown_auth_type")),
        (suite(http(assertions=[{"type": "colour"}])), (0, "assertions.0.type", "unknown_assertion_type")),
        (suite(http(assertions=[{"operator": "=="}])), (0, "assertions.0.type", "required")),
        (
            suite(http(assertions=[{"type": "cert_days_left", "value": 3}])),
            (0, "assertions.0.type", "assertion_not_allowed"),
        ),
        (
            suite(http(assertions=[{"type": "status"}, {"type": "status", "operator": "about", "value": 200}])),
            (0, "assertions.0.value", "required"),
        ),
        (
            suite(http(assertions=[{"type": "status", "value": 200}, {"type": "status", "operator": "~", "value": 1}])),
            (0, "assertions.1.operator", "operator_invalid"),
        ),
        (
            suite(http(assertions=[{"type": "status", "operator": "range", "value": [299, 200]}])),
            (0, "assertions.0.value", "value_invalid"),
        ),
        (
            suite(http(assertions=[{"type": "status", "operator": "one_of", "value": []}])),
            (0, "assertions.0.value", "value_invalid"),
        ),
        (
            suite(http(assertions=[{"type": "status", "operator": "equals", "value": [200]}])),
            (0, "assertions.0.value", "value_invalid"),
        ),
        (
            suite(http(assertions=[{"type": "json", "path": "$.items[", "operator": "exists"}])),
            (0, "assertions.0.path", "jsonpath_invalid"),
        ),
        (
            suite(http(assertions=[{"type": "json", "path": "items", "operator": "exists"}])),
            (0, "assertions.0.path", "jsonpath_invalid"),
        ),
        (
            suite(http(assertions=[{"type": "json", "path": "$.a", "operator": "matches", "value": 1}])),
            (0, "assertions.0.operator", "operator_invalid"),
        ),
        (
            suite(http(assertions=[{"type": "json", "path": "$.a", "operator": "=="}])),
            (0, "assertions.0.value", "required"),
        ),
        (
            suite(http(assertions=[{"type": "json", "path": "$.a", "operator": "exists", "value": 1}])),
            (0, "assertions.0.value", "value_invalid"),
        ),
        (
            suite(http(assertions=[{"type": "json", "path": "$.a", "operator": "<", "value": [1]}])),
            (0, "assertions.0.value", "value_invalid"),
        ),
        (
            suite(http(assertions=[{"type": "json", "path": "$.a", "operator": "length", "value": -1}])),
            (0, "assertions.0.value", "value_invalid"),
        ),
        (
            suite(http(assertions=[{"type": "body", "operator": "regex", "value": "(unclosed"}])),
            (0, "assertions.0.value", "regex_invalid"),
        ),
        (
            suite(http(assertions=[{"type": "header", "name": "X", "operator": "regex", "value": "[a-"}])),
            (0, "assertions.0.value", "regex_invalid"),
        ),
        (  # Python's re would take these; RE2 cannot run them in linear time, so they are refused
            suite(http(assertions=[{"type": "body", "operator": "regex", "value": r"(a)\1"}])),
            (0, "assertions.0.value", "regex_invalid"),
        ),
        (
            suite(http(extract=[{"name": "t", "source": "regex", "pattern": "(?=a)a"}])),
            (0, "extract.0.pattern", "regex_invalid"),
        ),
        (
            suite(
                {
                    "kind": "tls",
                    "host": "example.com",
                    "assertions": [{"type": "cert_issuer", "operator": "regex", "value": "a{1001}"}],
                }
            ),
            (0, "assertions.0.value", "regex_invalid"),
        ),
        (
            suite(http(assertions=[{"type": "header", "name": "X", "operator": "equals"}])),
            (0, "assertions.0.value", "required"),
        ),
        (suite(http(assertions=[{"type": "response_time"}])), (0, "assertions.0.failed_ms", "value_invalid")),
        (
            suite(http(assertions=[{"type": "response_time", "degraded_ms": 500, "failed_ms": 100}])),
            (0, "assertions.0.degraded_ms", "value_invalid"),
        ),
        (
            suite(http(assertions=[{"type": "status", "value": 200, "invrt": True}])),
            (0, "assertions.0.invrt", "field_unknown"),
        ),
        (
            suite(http(extract=[{"name": "t", "source": "json", "path": "$["}])),
            (0, "extract.0.path", "jsonpath_invalid"),
        ),
        (
            suite(http(extract=[{"name": "t", "source": "regex", "pattern": "*"}])),
            (0, "extract.0.pattern", "regex_invalid"),
        ),
        (
            suite(http(extract=[{"name": "t", "source": "regex", "pattern": "(a)", "group": 2}])),
            (0, "extract.0.group", "regex_group_invalid"),
        ),
        (suite(http(extract=[{"name": "t", "source": "cookie"}])), (0, "extract.0.source", "unknown_extract_source")),
        (
            suite(http(extract=[{"name": "2fa", "source": "header", "header": "X"}])),
            (0, "extract.0.name", "variable_name_invalid"),
        ),
        (suite(http(url="https://example.com/{{token}}")), (0, "url", "variable_undefined")),
        (suite(http(headers={"X-Id": "{{ id }}"})), (0, "headers.X-Id", "variable_undefined")),
        (suite(http(body={"type": "json", "value": {"a": ["{{x}}"]}})), (0, "body.value.a.0", "variable_undefined")),
        (suite(http(auth={"type": "bearer", "token": "{{token}}"})), (0, "auth.token", "variable_undefined")),
        (suite(http(url="https://example.com/{{token}")), (0, "url", "template_invalid")),
        (
            suite(
                http(url="https://example.com/{{token}}"),
                http(extract=[{"name": "token", "source": "header", "header": "X"}]),
            ),
            (0, "url", "variable_undefined"),
        ),
        (suite({"kind": "tls", "host": "https://example.com"}), (0, "host", "host_invalid")),
        (
            suite({"kind": "tls", "host": "example.com", "assertions": [{"type": "status", "value": 200}]}),
            (0, "assertions.0.type", "assertion_not_allowed"),
        ),
        (
            suite(
                {
                    "kind": "tls",
                    "host": "example.com",
                    "assertions": [{"type": "cert_days_left", "operator": "~", "value": 1}],
                }
            ),
            (0, "assertions.0.operator", "operator_invalid"),
        ),
        (suite({"kind": "tcp", "host": "example.com"}), (0, "port", "required")),
        (suite({"kind": "tcp", "host": "example.com", "port": 70000}), (0, "port", "out_of_range")),
        (suite({"kind": "tcp", "host": "example.com", "port": 1, "assertions": []}), (0, "assertions", "too_short")),
        (suite({"kind": "heartbeat", "heartbeat_id": "nope"}), (0, "heartbeat_id", "type_invalid")),
        (
            suite({"kind": "heartbeat", "heartbeat_id": "0190a0e2-7c4b-7000-8000-00000000beef", "assertions": []}),
            (0, "assertions", "field_unknown"),
        ),
    ],
)
def test_bad_input_names_step_field_and_rule(data: object, expected: tuple[int | None, str, str] | None) -> None:
    if expected is None:
        parse_suite(data)
    else:
        assert expected in problems(data)


def test_every_problem_is_reported_at_once() -> None:
    data = suite(
        {"kind": "smtp"},
        http(url="ftp://x/", assertions=[{"type": "json", "path": "$[", "operator": "exists"}]),
        http(assertions=[{"type": "body", "operator": "regex", "value": "("}]),
    )
    assert problems(data) == [
        (0, "kind", "unknown_step_kind"),
        (1, "url", "url_scheme"),
        (1, "assertions.0.path", "jsonpath_invalid"),
        (2, "assertions.0.value", "regex_invalid"),
    ]


def test_the_error_reads_well() -> None:
    with pytest.raises(SuiteError, match=r"steps\.0\.assertions\.0\.path: .*\(jsonpath_invalid\)"):
        parse_suite(suite(http(assertions=[{"type": "json", "path": "$[", "operator": "exists"}])))
