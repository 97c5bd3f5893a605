"""HTTP steps against the fixture API: a login flow, every HTTP assertion type, bodies, auth, redirects."""

from __future__ import annotations

import json
import uuid
from typing import Any

from scanfleet.model import Severity
from scanfleet.worker.checks import CheckEnv
from tests.integration.checks.runs import assertions, rows, run, steps
from tests.support.services import PASSWORD, USERNAME, ApiService


def login(service: ApiService, **fields: Any) -> dict[str, Any]:
    return {
        "kind": "http",
        "name": "log in",
        "method": "POST",
        "url": service.url("/login"),
        "body": {"type": "json", "value": {"username": "{{username}}", "password": "{{password}}"}},
        "assertions": [{"type": "status", "value": 200}],
        "extract": [{"name": "token", "source": "json", "path": "$.token", "secret": True}],
        **fields,
    }


CREDENTIALS = {"username": USERNAME, "password": PASSWORD}


async def test_login_then_use_the_token(env: CheckEnv, service: ApiService) -> None:
    me = {
        "kind": "http",
        "url": service.url("/me?seen={{token}}"),
        "auth": {"type": "bearer", "token": "{{token}}"},
        "assertions": [
            {"type": "status", "value": 200},
            {"type": "json", "path": "$.user.name", "operator": "==", "value": USERNAME},
            {"type": "json", "path": "$.user.roles", "operator": "contains", "value": "admin"},
        ],
    }
    result = await run(env, login(service), me, variables=CREDENTIALS)
    assert result.verdict == "passed", [row.title for row in result.evidence]
    first, second = steps(result)
    assert first["response"]["status"] == 200 and second["response"]["status"] == 200
    assert all(row["passed"] for row in assertions(result, 1))
    [extracted] = [row.details for row in rows(result, "check_extract")]
    assert extracted == {"step": 0, "name": "token", "source": "json", "found": True, "secret": True, "value": None}
    # The token shows nowhere: not in the login body, the URL it was put in, the header, the echo of it.
    dumped = json.dumps([(row.title, row.details, row.location) for row in result.evidence])
    assert not any(token in dumped for token in service.tokens)
    assert "[redacted]" in second["request"]["url"] and "[redacted]" in second["response"]["body"]
    assert ["authorization", "[redacted]"] in second["request"]["headers"]


async def test_wrong_credentials_fail_the_step_and_skip_the_rest(env: CheckEnv, service: ApiService) -> None:
    me = {"kind": "http", "url": service.url("/me"), "auth": {"type": "bearer", "token": "{{token}}"}}
    result = await run(env, login(service), me, variables={**CREDENTIALS, "password": "wrong"})
    assert result.verdict == "failed"
    first, second = steps(result)
    assert (first["passed"], first["skipped"], first["response"]["status"]) == (False, False, 401)
    assert (second["passed"], second["skipped"], second["attempts"], second["timings"]) == (False, True, 0, None)
    [status] = assertions(result, 0)
    assert (status["passed"], status["expected"], status["actual"]) == (False, 200, 401)
    [extracted] = rows(result, "check_extract")
    assert not extracted.details["found"] and extracted.severity is Severity.HIGH
    step_rows = rows(result, "check_step")
    assert [row.severity for row in step_rows] == [Severity.HIGH, Severity.LOW]


async def test_continue_on_failure_runs_the_next_step(env: CheckEnv, service: ApiService) -> None:
    failing = {"kind": "http", "url": service.url("/me"), "continue_on_failure": True}
    failing["assertions"] = [{"type": "status", "value": 200}]
    result = await run(env, failing, {"kind": "http", "url": service.url("/items")})
    assert result.verdict == "failed"
    assert [(row["passed"], row["skipped"]) for row in steps(result)] == [(False, False), (True, False)]


async def test_a_variable_that_was_never_set_fails_its_step(env: CheckEnv, service: ApiService) -> None:
    missing = {
        "kind": "http",
        "url": service.url("/items"),
        "continue_on_failure": True,
        "extract": [{"name": "nope", "source": "json", "path": "$.nope"}],
    }
    uses = {"kind": "http", "url": service.url("/echo?v={{nope}}")}
    result = await run(env, missing, uses)
    assert steps(result)[1]["error"] == {
        "code": "variable_missing",
        "message": "{{nope}} has no value: the step that sets it did not",
    }


# Each assertion type and operator twice on GET /items: as it holds, and as it does not.
ITEM_CHECKS: list[tuple[dict[str, Any], dict[str, Any]]] = [
    ({"type": "status", "operator": "equals", "value": 200}, {"type": "status", "operator": "equals", "value": 201}),
    (
        {"type": "status", "operator": "one_of", "value": [200, 203]},
        {"type": "status", "operator": "one_of", "value": [201, 204]},
    ),
    (
        {"type": "status", "operator": "range", "value": [200, 299]},
        {"type": "status", "operator": "range", "value": [300, 399]},
    ),
    ({"type": "response_time", "degraded_ms": 2000, "failed_ms": 4000}, {"type": "response_time", "failed_ms": 0.001}),
    (
        {"type": "body", "operator": "contains", "value": "alpha"},
        {"type": "body", "operator": "contains", "value": "omega"},
    ),
    (
        {"type": "body", "operator": "not_contains", "value": "error"},
        {"type": "body", "operator": "not_contains", "value": "alpha"},
    ),
    (
        {"type": "body", "operator": "regex", "value": r'"id": \d+'},
        {"type": "body", "operator": "regex", "value": r'"id": "\d+"'},
    ),
    (
        {"type": "json", "path": "$.count", "operator": "==", "value": 2},
        {"type": "json", "path": "$.count", "operator": "==", "value": 3},
    ),
    (
        {"type": "json", "path": "$.version", "operator": "!=", "value": "1.0"},
        {"type": "json", "path": "$.version", "operator": "!=", "value": "2.1"},
    ),
    (
        {"type": "json", "path": "$.items[0].price", "operator": "<", "value": 10},
        {"type": "json", "path": "$.items[0].price", "operator": "<", "value": 9},
    ),
    (
        {"type": "json", "path": "$.items[0].price", "operator": "<=", "value": 9.5},
        {"type": "json", "path": "$.items[0].price", "operator": "<=", "value": 9},
    ),
    (
        {"type": "json", "path": "$.count", "operator": ">", "value": 1},
        {"type": "json", "path": "$.count", "operator": ">", "value": 2},
    ),
    (
        {"type": "json", "path": "$.items[1].price", "operator": ">=", "value": 20},
        {"type": "json", "path": "$.items[1].price", "operator": ">=", "value": 21},
    ),
    (
        {"type": "json", "path": "$.items[*].name", "operator": "contains", "value": "beta"},
        {"type": "json", "path": "$.items[*].name", "operator": "contains", "value": "gamma"},
    ),
    (
        {"type": "json", "path": "$.owner.active", "operator": "exists"},
        {"type": "json", "path": "$.owner.age", "operator": "exists"},
    ),
    (
        {"type": "json", "path": "$.next", "operator": "is_null"},
        {"type": "json", "path": "$.count", "operator": "is_null"},
    ),
    (
        {"type": "json", "path": "$.empty", "operator": "is_empty"},
        {"type": "json", "path": "$.items", "operator": "is_empty"},
    ),
    (
        {"type": "json", "path": "$.items", "operator": "length", "value": 2},
        {"type": "json", "path": "$.items", "operator": "length", "value": 3},
    ),
    (
        {"type": "header", "name": "content-type", "operator": "exists"},
        {"type": "header", "name": "X-Missing", "operator": "exists"},
    ),
    (
        {"type": "header", "name": "Content-Type", "operator": "equals", "value": "application/json"},
        {"type": "header", "name": "Content-Type", "operator": "equals", "value": "text/html"},
    ),
    (
        {"type": "header", "name": "Content-Type", "operator": "contains", "value": "json"},
        {"type": "header", "name": "Content-Type", "operator": "contains", "value": "xml"},
    ),
    (
        {"type": "header", "name": "Content-Type", "operator": "regex", "value": "^application/"},
        {"type": "header", "name": "Content-Type", "operator": "regex", "value": "^text/"},
    ),
]
ITEMS_PASSING = [passing for passing, _ in ITEM_CHECKS]
ITEMS_FAILING = [failing for _, failing in ITEM_CHECKS]


async def test_every_http_assertion_passing_failing_and_inverted(env: CheckEnv, service: ApiService) -> None:
    def items(checks: list[dict[str, Any]], invert: bool = False) -> dict[str, Any]:
        return {
            "kind": "http",
            "url": service.url("/items"),
            "continue_on_failure": True,
            "assertions": [{**check, "invert": invert} for check in checks],
        }

    result = await run(env, items(ITEMS_PASSING), items(ITEMS_FAILING), items(ITEMS_FAILING, invert=True))
    assert [row["passed"] for row in assertions(result, 0)] == [True] * len(ITEMS_PASSING)
    assert [row["passed"] for row in assertions(result, 1)] == [False] * len(ITEMS_FAILING)
    assert [row["passed"] for row in assertions(result, 2)] == [True] * len(ITEMS_FAILING)
    assert [row["passed"] for row in steps(result)] == [True, False, True]
    failed = assertions(result, 1)
    assert (failed[7]["target"], failed[7]["expected"], failed[7]["actual"]) == ("$.count", 3, 2)
    assert (failed[18]["target"], failed[18]["actual"]) == ("X-Missing", None)
    assert all(row["inverted"] for row in assertions(result, 2))


async def test_header_extraction_and_regex_extraction_feed_later_steps(env: CheckEnv, service: ApiService) -> None:
    version = {
        "kind": "http",
        "url": service.url("/headers"),
        "extract": [{"name": "version", "source": "header", "header": "X-Api-Version"}],
    }
    order = {
        "kind": "http",
        "url": service.url("/html"),
        "extract": [{"name": "order", "source": "regex", "pattern": r"order #(\d+)"}],
    }
    echo = {
        "kind": "http",
        "method": "POST",
        "url": service.url("/echo?order={{order}}"),
        "headers": {"X-Version": "{{version}}"},
        "body": {"type": "json", "value": {"order": "{{order}}", "version": "v{{version}}"}},
        "assertions": [
            {"type": "json", "path": "$.json", "operator": "==", "value": {"order": "4521", "version": "v2.1.0"}},
            {"type": "json", "path": "$.headers['x-version']", "operator": "==", "value": "2.1.0"},
        ],
    }
    result = await run(env, version, order, echo)
    assert result.verdict == "passed", [row.title for row in result.evidence]
    assert [row.details["value"] for row in rows(result, "check_extract")] == ["2.1.0", "4521"]
    assert steps(result)[2]["request"]["url"].endswith("/echo?order=4521")


async def test_form_and_raw_bodies(env: CheckEnv, service: ApiService) -> None:
    form = {
        "kind": "http",
        "method": "POST",
        "url": service.url("/echo"),
        "body": {"type": "form", "value": {"q": "red shoes", "page": "2"}},
        "assertions": [
            {"type": "json", "path": "$.form", "operator": "==", "value": {"q": "red shoes", "page": "2"}},
            {"type": "json", "path": "$.content_type", "operator": "==", "value": "application/x-www-form-urlencoded"},
        ],
    }
    raw = {
        "kind": "http",
        "method": "PUT",
        "url": service.url("/echo"),
        "body": {"type": "raw", "value": '{"not": {"parsed": 1}}', "content_type": "text/csv"},
        "assertions": [
            {"type": "json", "path": "$.method", "operator": "==", "value": "PUT"},
            {"type": "json", "path": "$.body", "operator": "==", "value": '{"not": {"parsed": 1}}'},
            {"type": "json", "path": "$.content_type", "operator": "==", "value": "text/csv"},
        ],
    }
    result = await run(env, form, raw)
    assert result.verdict == "passed", [row.title for row in result.evidence]


async def test_basic_auth_by_field_and_by_url(env: CheckEnv, service: ApiService) -> None:
    ok = [{"type": "status", "value": 200}, {"type": "body", "operator": "contains", "value": "welcome"}]
    by_field = {
        "kind": "http",
        "url": service.url("/basic"),
        "auth": {"type": "basic", "username": USERNAME, "password": PASSWORD},
        "assertions": ok,
    }
    by_url = {
        "kind": "http",
        "url": f"http://{USERNAME}:{PASSWORD}@127.0.0.1:{service.port}/basic",
        "assertions": ok,
        "continue_on_failure": True,
    }
    anonymous = {"kind": "http", "url": service.url("/basic"), "assertions": [{"type": "status", "value": 200}]}
    result = await run(env, by_field, by_url, anonymous)
    assert [row["passed"] for row in steps(result)] == [True, True, False]
    assert PASSWORD not in json.dumps([row.details for row in result.evidence])
    assert steps(result)[1]["request"]["url"] == service.url("/basic")


async def test_redirects_followed_or_not(env: CheckEnv, service: ApiService) -> None:
    url = service.url("/redirect?to=/items&status=302")
    followed = {
        "kind": "http",
        "url": url,
        "assertions": [{"type": "json", "path": "$.count", "operator": "==", "value": 2}],
    }
    not_followed = {
        "kind": "http",
        "url": url,
        "follow_redirects": False,
        "assertions": [
            {"type": "status", "value": 302},
            {"type": "header", "name": "Location", "operator": "equals", "value": "/items"},
        ],
    }
    result = await run(env, followed, not_followed)
    assert result.verdict == "passed", [row.title for row in result.evidence]
    first, second = steps(result)
    assert first["redirects"] == [{"url": url, "status": 302, "location": "/items"}]
    assert first["response"]["status"] == 200 and second["redirects"] == []


async def test_redirect_methods(env: CheckEnv, service: ApiService) -> None:
    def post(status: int, method: str, body: str) -> dict[str, Any]:
        return {
            "kind": "http",
            "method": "POST",
            "url": service.url(f"/redirect?to=/echo&status={status}"),
            "body": {"type": "raw", "value": "payload"},
            "assertions": [
                {"type": "json", "path": "$.method", "operator": "==", "value": method},
                {"type": "json", "path": "$.body", "operator": "==", "value": body},
            ],
        }

    result = await run(env, post(303, "GET", ""), post(307, "POST", "payload"))
    assert result.verdict == "passed", [row.title for row in result.evidence]


async def test_a_redirect_loop_is_a_result(env: CheckEnv, service: ApiService) -> None:
    loop = {"kind": "http", "url": service.url("/loop")}
    result = await run(env, loop)
    [step] = steps(result)
    assert step["error"]["code"] == "too_many_redirects" and len(step["redirects"]) == 10


async def test_a_port_out_of_range_from_a_redirect_or_a_variable_is_an_invalid_url(
    env: CheckEnv, service: ApiService
) -> None:
    redirected = {
        "kind": "http",
        "url": service.url("/redirect?to=http://127.0.0.1:99999/"),
        "continue_on_failure": True,
    }
    substituted = {"kind": "http", "url": "{{base}}/items"}
    result = await run(env, redirected, substituted, variables={"base": "http://127.0.0.1:70000"})
    assert [step["error"]["code"] for step in steps(result)] == ["invalid_url", "invalid_url"]


async def test_cookies_flow_between_the_steps_of_one_run_only(env: CheckEnv, service: ApiService) -> None:
    session = {"kind": "http", "url": service.url("/session"), "assertions": [{"type": "status", "value": 200}]}
    logged_in = await run(env, login(service), session, variables=CREDENTIALS)
    assert logged_in.verdict == "passed"
    assert ["cookie", "[redacted]"] not in steps(logged_in)[1]["request"]["headers"]  # added after the snapshot
    assert not list(env.client.cookies.jar)  # the shared client refused the cookie; the run's own jar kept it
    alone = await run(env, session)  # the same client: the previous run's cookie must not reach this one
    assert alone.verdict == "failed" and steps(alone)[0]["response"]["status"] == 401


async def test_body_snapshot_and_byte_cap(env: CheckEnv, service: ApiService) -> None:
    env.max_body_bytes = 3000
    big = {
        "kind": "http",
        "url": service.url("/big?bytes=5000"),
        "assertions": [{"type": "body", "operator": "regex", "value": "^a+$"}],  # all of it, and `bytes` below
    }
    result = await run(env, big)
    assert result.verdict == "passed"
    response = steps(result)[0]["response"]
    assert (len(response["body"]), response["truncated"], response["bytes"]) == (2048, True, 3000)


async def test_json_assertion_on_a_body_that_is_not_json(env: CheckEnv, service: ApiService) -> None:
    page = {
        "kind": "http",
        "url": service.url("/html"),
        "assertions": [{"type": "json", "path": "$.a", "operator": "exists", "invert": True}],
    }
    result = await run(env, page)
    [row] = assertions(result)
    assert not row["passed"] and "the body is not JSON" in row["message"]


async def test_headers_given_are_sent(env: CheckEnv, service: ApiService) -> None:
    trace_id = str(uuid.uuid4())
    echo = {
        "kind": "http",
        "url": service.url("/echo"),
        "headers": {"X-Trace": trace_id, "Accept": "application/json"},
        "assertions": [{"type": "json", "path": "$.headers['x-trace']", "operator": "==", "value": trace_id}],
    }
    result = await run(env, echo)
    assert result.verdict == "passed"
    assert ["x-trace", trace_id] in steps(result)[0]["request"]["headers"]
