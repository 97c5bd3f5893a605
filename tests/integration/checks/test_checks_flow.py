"""Retries, timeouts, response-time thresholds, verdicts, timings: the run as a whole."""

from __future__ import annotations

import uuid
from typing import Any

from scanfleet.model import Severity
from scanfleet.worker.checks import CheckEnv
from tests.integration.checks.runs import assertions, rows, run, steps
from tests.support.services import ApiService, GarbageServer, closed_port

OK = [{"type": "status", "value": 200}]


def flaky(service: ApiService, fails: int, retries: int) -> dict[str, Any]:
    return {
        "kind": "http",
        "url": service.url(f"/flaky?key={uuid.uuid4()}&fails={fails}"),
        "retries": retries,
        "retry_backoff_seconds": 0.01,
        "assertions": OK,
    }


async def test_retries_absorb_a_blip(env: CheckEnv, service: ApiService) -> None:
    result = await run(env, flaky(service, fails=2, retries=2))
    assert result.verdict == "passed"
    [step] = steps(result)
    assert (step["attempts"], step["passed"], step["response"]["status"]) == (3, True, 200)
    assert len(assertions(result)) == 1  # the last attempt's


async def test_a_failure_that_outlasts_the_retries_counts(env: CheckEnv, service: ApiService) -> None:
    result = await run(env, flaky(service, fails=3, retries=1))
    assert result.verdict == "failed"
    [step] = steps(result)
    assert (step["attempts"], step["passed"], step["response"]["status"]) == (2, False, 503)


async def test_no_retries_by_default(env: CheckEnv, service: ApiService) -> None:
    step = flaky(service, fails=1, retries=0)
    del step["retries"]
    result = await run(env, step)
    assert steps(result)[0]["attempts"] == 1 and result.verdict == "failed"


async def test_a_step_that_outlasts_its_timeout(env: CheckEnv, service: ApiService) -> None:
    slow = {"kind": "http", "url": service.url("/slow?ms=400"), "timeout_seconds": 0.1, "assertions": OK}
    result = await run(env, slow)
    [step] = steps(result)
    assert result.verdict == "failed" and step["error"]["code"] == "timeout"
    assert step["response"] is None and 0.1 <= step["timings"]["total"] / 1000 < 0.4
    [status] = assertions(result)
    assert not status["passed"] and status["actual"] is None


async def test_response_time_degraded_and_failed(env: CheckEnv, service: ApiService) -> None:
    # One slow request, judged by two thresholds: the delay is the point of this test.
    slow = {
        "kind": "http",
        "url": service.url("/slow?ms=150"),
        "assertions": [{"type": "response_time", "degraded_ms": 50, "failed_ms": 5000}],
    }
    degraded = await run(env, slow)
    assert degraded.verdict == "degraded"
    [step_row] = rows(degraded, "check_step")
    [time_row] = rows(degraded, "check_assertion")
    assert step_row.severity is Severity.MEDIUM and step_row.details["degraded"] and step_row.details["passed"]
    assert time_row.severity is Severity.MEDIUM and time_row.details["actual"] >= 150
    assert "degraded" in step_row.title

    slow["assertions"] = [{"type": "response_time", "degraded_ms": 10, "failed_ms": 50}]
    failed = await run(env, slow)
    assert failed.verdict == "failed"
    assert rows(failed, "check_assertion")[0].severity is Severity.HIGH


async def test_verdicts(env: CheckEnv, service: ApiService) -> None:
    fast = {"kind": "http", "url": service.url("/items"), "assertions": OK}
    degraded = {**fast, "assertions": [{"type": "response_time", "degraded_ms": 0.001, "failed_ms": 5000}]}
    failing = {**fast, "assertions": [{"type": "status", "value": 500}], "continue_on_failure": True}
    assert (await run(env, fast, fast)).verdict == "passed"
    assert (await run(env, fast, degraded)).verdict == "degraded"
    assert (await run(env, failing, degraded)).verdict == "failed"
    severities = [row.severity for row in rows(await run(env, fast), "check_step")]
    assert severities == [Severity.INFO]


async def test_step_evidence_has_every_key(env: CheckEnv, service: ApiService) -> None:
    result = await run(env, {"kind": "http", "name": "items", "url": service.url("/items"), "assertions": OK})
    [row] = rows(result, "check_step")
    step = row.details
    assert set(step) == {
        "index", "name", "kind", "attempts", "passed", "skipped", "degraded", "timings",
        "request", "response", "error", "redirects",
    }  # fmt: skip
    assert (step["index"], step["name"], step["kind"], step["error"]) == (0, "items", "http", None)
    assert set(step["timings"]) == {"dns", "connect", "tls", "first_byte", "total"}
    assert step["timings"]["total"] >= step["timings"]["first_byte"] > 0
    assert set(step["request"]) == {"method", "url", "headers"} and step["request"]["method"] == "GET"
    assert set(step["response"]) == {"status", "http_version", "headers", "body", "truncated", "bytes"}
    assert ["content-type", "application/json"] in step["response"]["headers"]
    assert row.location == service.url("/items") and row.title == "items: passed"
    [check] = assertions(result)
    assert set(check) == {
        "step", "index", "type", "operator", "target", "expected", "actual",
        "passed", "inverted", "degraded", "message",
    }  # fmt: skip


async def test_a_refused_connection_is_a_result(env: CheckEnv) -> None:
    result = await run(env, {"kind": "http", "url": f"http://127.0.0.1:{closed_port()}/", "assertions": OK})
    [step] = steps(result)
    assert result.verdict == "failed" and step["error"]["code"] == "connect_error"
    assert "failed (connect_error)" in rows(result, "check_step")[0].title


async def test_an_unknown_name_is_a_dns_error(env: CheckEnv) -> None:
    result = await run(env, {"kind": "http", "url": "http://nothing-here.invalid/", "timeout_seconds": 2})
    assert steps(result)[0]["error"]["code"] == "dns_error"


async def test_an_answer_that_is_not_http_is_a_protocol_error(env: CheckEnv) -> None:
    with GarbageServer() as garbage:
        result = await run(env, {"kind": "http", "url": f"http://127.0.0.1:{garbage.port}/"})
    assert steps(result)[0]["error"]["code"] == "protocol_error"


async def test_a_url_from_a_variable_is_checked_when_it_is_known(env: CheckEnv) -> None:
    result = await run(env, {"kind": "http", "url": "{{base}}/x"}, variables={"base": "file:///etc"})
    assert steps(result)[0]["error"] == {"code": "invalid_url", "message": "only http and https URLs are allowed"}


async def test_a_substituted_value_that_breaks_the_url_is_a_result(env: CheckEnv) -> None:
    result = await run(env, {"kind": "http", "url": "http://{{host}}/"}, variables={"host": "[::1"})
    assert steps(result)[0]["error"]["code"] == "invalid_url"
