"""The API at its edges: input PostgreSQL cannot store, cursors out of range, links that ignore the Host header,
RateLimit headers on every authenticated answer, methods a path takes, one list envelope, schedule previews."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from scanfleet.config import Settings
from scanfleet.db import orgs
from tests.conftest import Tenant, make_tenant

NUL = "a\x00b"


def http_suite(**step: Any) -> dict[str, Any]:
    return {"name": "nul", "steps": [{"kind": "http", "url": "https://example.com/", **step}]}


def fields_of(response: httpx.Response) -> list[tuple[str, str]]:
    return [(field["field"], field["rule"]) for field in response.json()["error"]["fields"]]


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("POST", "/v1/schedules", {"name": NUL, "kind": "scan", "url": "https://a.example/", "interval_seconds": 3600},
         "name"),
        ("POST", "/v1/heartbeats", {"name": NUL, "period_seconds": 60}, "name"),
        ("POST", "/v1/webhooks", {"url": "https://example.com/hook", "description": NUL}, "description"),
        ("POST", "/v1/runs", {**http_suite(), "variables": {"base": NUL}}, "variables.base"),
        ("POST", "/v1/runs", {**http_suite(), "name": NUL}, "name"),
        ("POST", "/v1/runs", http_suite(headers={"X-Token": NUL}), "steps.0.headers.X-Token"),
        ("POST", "/v1/runs", http_suite(body={"type": "json", "value": {"k": [NUL]}}), "steps.0.body.value.k.0"),
        ("POST", "/v1/runs", http_suite(body={"type": "form", "value": {NUL: "v"}}), "steps.0.body.value.a\\u0000b"),
    ],
    ids=["schedule-name", "heartbeat-name", "webhook-description", "variable", "suite-name", "header", "json-body",
         "form-key"],
)  # fmt: skip
async def test_nul_in_a_body_is_422_naming_the_field(
    api: httpx.AsyncClient, tenant: Tenant, method: str, path: str, body: dict[str, Any], field: str
) -> None:
    response = await api.request(method, path, json=body, headers=tenant.headers)
    assert response.status_code == 422, response.text
    assert (field, "nul_character") in fields_of(response)


async def scan_id_of(api: httpx.AsyncClient, tenant: Tenant) -> str:
    accepted = await api.post("/v1/scans", json={"url": "http://127.0.0.1:9/"}, headers=tenant.headers)
    scan_id: str = accepted.json()["id"]
    return scan_id


@pytest.mark.parametrize(
    ("path", "field", "rule"),
    [
        ("/v1/scans/{scan}/evidence?kind=%00", "kind", "nul_character"),
        ("/v1/scans/{scan}/issues?code=a%00b", "code", "nul_character"),
        ("/v1/domains/%00/scans", "domain", "nul_character"),
        ("/v1/scans/{scan}/evidence?cursor=2147483648", "cursor", "less_than_equal"),
        ("/v1/scans/{scan}/issues?cursor=99999999999", "cursor", "less_than_equal"),
        ("/v1/scans/{scan}/evidence?cursor=%C2%B2", "cursor", "int_parsing"),
        ("/v1/runs/{scan}/results?cursor=4294967296", "cursor", "less_than_equal"),
        ("/v1/scans?cursor=%C2%B2", "cursor", "uuid_parsing"),
        ("/v1/domains/example.com/scans?cursor=2026-01-01_x", "cursor", "string_pattern_mismatch"),
    ],
)
async def test_bad_parameters_are_422_naming_the_parameter(
    api: httpx.AsyncClient, tenant: Tenant, path: str, field: str, rule: str
) -> None:
    response = await api.get(path.format(scan=await scan_id_of(api, tenant)), headers=tenant.headers)
    assert response.status_code == 422, response.text
    assert (field, rule) in fields_of(response)


async def test_delivery_cursor_past_a_bigint_is_422(api: httpx.AsyncClient, tenant: Tenant) -> None:
    hook = await api.post("/v1/webhooks", json={"url": "https://example.com/hook"}, headers=tenant.headers)
    path = f"/v1/webhooks/{hook.json()['id']}/deliveries"
    response = await api.get(path, params={"cursor": str(2**63)}, headers=tenant.headers)
    assert response.status_code == 422 and ("cursor", "less_than_equal") in fields_of(response)
    assert (await api.get(path, params={"cursor": str(2**63 - 1)}, headers=tenant.headers)).status_code == 200


async def test_interval_past_a_year_is_422(api: httpx.AsyncClient, tenant: Tenant) -> None:
    body = {"name": "s", "kind": "scan", "url": "https://example.com/", "interval_seconds": 10**11}
    response = await api.post("/v1/schedules", json=body, headers=tenant.headers)
    assert response.status_code == 422 and ("interval_seconds", "less_than_equal") in fields_of(response)


@pytest.mark.parametrize("number", ["1e400", "-1e400", "NaN", "Infinity"])
async def test_a_number_json_cannot_hold_is_422(api: httpx.AsyncClient, tenant: Tenant, number: str) -> None:
    assertion = f'{{"type": "json", "path": "$.n", "operator": "==", "value": {number}}}'
    suite = f'{{"steps": [{{"kind": "http", "url": "https://example.com/", "assertions": [{assertion}]}}]}}'
    headers = {**tenant.headers, "content-type": "application/json"}
    response = await api.post("/v1/runs", content=suite, headers=headers)
    assert response.status_code == 422, response.text
    assert ("steps.0.assertions.0.value", "number_not_finite") in fields_of(response)


async def test_a_body_that_is_not_json_names_the_body(api: httpx.AsyncClient, tenant: Tenant) -> None:
    headers = {**tenant.headers, "content-type": "application/json"}
    response = await api.post("/v1/scans", content=b"url=http://x", headers=headers)
    assert response.status_code == 422 and fields_of(response) == [("body", "json_invalid")]


async def test_links_are_built_on_the_public_url_not_the_host_header(
    api: httpx.AsyncClient, tenant: Tenant, settings: Settings
) -> None:
    evil = {**tenant.headers, "Host": "evil.example", "X-Forwarded-Host": "evil.example"}
    submitted = await api.post("/v1/scans", json={"url": "http://127.0.0.1:9/host"}, headers=evil)
    scan = submitted.json()
    assert scan["status_url"] == f"{settings.api_base_url}/v1/scans/{scan['id']}"
    assert submitted.headers["location"] == scan["status_url"]
    beat = await api.post("/v1/heartbeats", json={"name": "b", "period_seconds": 60}, headers=evil)
    assert beat.json()["ping_url"] == f"{settings.api_base_url}/v1/heartbeats/{beat.json()['token']}"
    erase = await api.delete("/v1/org/data", headers=evil)
    assert erase.json()["status_url"].startswith(f"{settings.api_base_url}/v1/org/erasures/")


def has_rate_limit_headers(response: httpx.Response) -> bool:
    return all(name in response.headers for name in ("ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"))


async def test_every_authenticated_answer_carries_rate_limit_headers(
    api: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    tenant = await make_tenant(pool, "free")
    await orgs.set_capacity(pool, tenant.org.id, "free", 0, 1)
    accepted = await api.post("/v1/scans", json={"url": "http://127.0.0.1:9/a"}, headers=tenant.headers)
    invalid = await api.post("/v1/scans", json={"url": "ftp://example.com/"}, headers=tenant.headers)
    full = await api.post("/v1/scans", json={"url": "http://127.0.0.1:9/b"}, headers=tenant.headers)
    read = await api.get(f"/v1/scans/{accepted.json()['id']}", headers=tenant.headers)
    missing = await api.get(f"/v1/scans/{uuid.uuid4()}", headers=tenant.headers)
    answers = [accepted, invalid, full, read, missing]
    assert [answer.status_code for answer in answers] == [202, 422, 429, 200, 404]
    assert all(has_rate_limit_headers(answer) for answer in answers)
    assert [answer.headers["ratelimit-remaining"] for answer in answers] == ["59", "58", "57", "56", "55"]
    assert full.json()["error"]["code"] == "queue_full"


@pytest.mark.parametrize(
    ("path", "allow"),
    [
        ("/v1/scans", "GET, OPTIONS, POST"),
        (f"/v1/scans/{uuid.uuid4()}", "DELETE, GET, OPTIONS"),
        (f"/v1/schedules/{uuid.uuid4()}", "DELETE, GET, OPTIONS, PATCH"),
        ("/v1/heartbeats/some-token-of-sixteen", "DELETE, GET, OPTIONS, POST"),
    ],
)
async def test_options_and_405_name_every_method_of_the_path(api: httpx.AsyncClient, path: str, allow: str) -> None:
    options = await api.options(path)
    assert options.status_code == 204 and options.headers["allow"] == allow
    refused = await api.put(path)
    assert refused.status_code == 405 and refused.headers["allow"] == allow
    assert refused.json()["error"]["code"] == "method_not_allowed"
    assert (await api.options("/v1/nothing-here")).status_code == 404


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/heartbeats", {"name": "b", "period_seconds": 60}),
        ("/v1/schedules", {"name": "s", "kind": "scan", "url": "https://example.com/", "interval_seconds": 3600}),
        ("/v1/webhooks", {"url": "https://example.com/hook"}),
    ],
)
async def test_lists_are_pages_in_one_envelope(
    api: httpx.AsyncClient, tenant: Tenant, path: str, body: dict[str, Any]
) -> None:
    made = [(await api.post(path, json=body, headers=tenant.headers)).json()["id"] for _ in range(3)]
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 2}
    while True:
        page = (await api.get(path, params=params, headers=tenant.headers)).json()
        assert set(page) == {"items", "next_cursor"}
        seen += [item["id"] for item in page["items"]]
        if page["next_cursor"] is None:
            break
        params = {"limit": 2, "cursor": page["next_cursor"]}
    assert seen == made  # oldest first


async def test_upcoming_fires_of_an_interval_schedule_start_at_its_next_fire(
    api: httpx.AsyncClient, pool: asyncpg.Pool, tenant: Tenant
) -> None:
    body = {"name": "hourly", "kind": "scan", "url": "https://example.com/", "interval_seconds": 3600}
    created = (await api.post("/v1/schedules", json=body, headers=tenant.headers)).json()
    # It fired 50 minutes ago: the next fire is 10 minutes away, not an hour from this read.
    next_fire = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=10)
    await pool.execute("UPDATE schedules SET next_fire_at = $2 WHERE id = $1", uuid.UUID(created["id"]), next_fire)
    shown = (await api.get(f"/v1/schedules/{created['id']}", headers=tenant.headers)).json()
    upcoming = [datetime.fromisoformat(when) for when in shown["upcoming"]]
    assert upcoming == [next_fire + timedelta(hours=n) for n in range(5)]
    assert datetime.fromisoformat(shown["next_fire_at"]) == upcoming[0]


async def test_docs_load_nothing_from_another_host(api: httpx.AsyncClient) -> None:
    for page in ("/docs", "/redoc"):
        html = (await api.get(page)).text
        assert "https://" not in html and "http://" not in html and "//cdn" not in html
        for asset in ("swagger-ui-bundle.js", "swagger-ui.css") if page == "/docs" else ("redoc.standalone.js",):
            path = html[html.index("/", html.index(asset) - 40) : html.index(asset) + len(asset)]
            path = path[path.index("/static") :] if "/static" in path else path
            served = await api.get(path)
            assert served.status_code == 200 and len(served.content) > 10_000, path


async def test_the_schema_documents_every_error_with_the_error_body(api: httpx.AsyncClient) -> None:
    document = (await api.get("/openapi.json")).json()
    error = {"$ref": "#/components/schemas/ErrorBody"}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            codes = set(operation["responses"])
            if path.startswith("/v1/"):
                assert {"422", "503"} <= codes or "503" in codes, (method, path)
            if operation.get("security"):
                assert {"401", "429"} <= codes, (method, path)
            if "{" in path:
                assert "404" in codes, (method, path)
            for code, answer in operation["responses"].items():
                if code.startswith(("4", "5")) and path != "/readyz":
                    assert answer["content"]["application/json"]["schema"] == error, (method, path, code)
    assert "HTTPValidationError" not in document["components"]["schemas"]
    evidence = document["paths"]["/v1/scans/{scan_id}/evidence"]["get"]["parameters"]
    cursor = next(p for p in evidence if p["name"] == "cursor")["schema"]["anyOf"][0]
    assert (cursor["minimum"], cursor["maximum"]) == (0, 2**31 - 1)
    url = document["components"]["schemas"]["ScanRequest"]["properties"]["url"]
    assert url["maxLength"] == 2048 and url["pattern"].startswith("^")
    assert document["paths"]["/v1/runs"]["post"]["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Suite"
    }


@pytest.mark.parametrize("path", ["/v1/scans/{id}", "/v1/artifacts/{id}", "/v1/scans/{id}/report"])
async def test_a_uuid7_whose_time_is_out_of_range_is_404(api: httpx.AsyncClient, tenant: Tenant, path: str) -> None:
    response = await api.get(path.format(id="ffffffff-ffff-7fff-bfff-ffffffffffff"), headers=tenant.headers)
    assert response.status_code == 404, response.text
    assert response.json()["error"]["code"] == "not_found"
