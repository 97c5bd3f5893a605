"""The API's contract at its edges: authentication, validation errors that name the field, org scoping."""

from __future__ import annotations

import asyncpg
import httpx
import pytest

from scanfleet import ids
from tests.conftest import Tenant, make_tenant


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "unauthenticated"),
        ({"Authorization": "Bearer sf_not-a-key"}, "invalid_api_key"),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, "unauthenticated"),
    ],
    ids=["missing", "unknown", "wrong-scheme"],
)
async def test_without_a_valid_key_is_401(api: httpx.AsyncClient, headers: dict[str, str], code: str) -> None:
    response = await api.post("/v1/scans", json={"url": "http://example.com/"}, headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == code
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_revoked_key_is_401(api: httpx.AsyncClient, pool: asyncpg.Pool, tenant: Tenant) -> None:
    from scanfleet.db import api_keys

    key_id, key = await api_keys.create(pool, tenant.org.id, "short-lived")
    headers = {"Authorization": f"Bearer {key}"}
    assert (await api.get("/v1/scans", headers=headers)).status_code == 200
    # Through this API process: at once (elsewhere, within the key cache's time: tests/integration/api/test_key_cache)
    assert (await api.delete(f"/v1/keys/{key_id}", headers=tenant.headers)).status_code == 200
    assert (await api.get("/v1/scans", headers=headers)).status_code == 401


@pytest.mark.parametrize(
    ("body", "field", "rule"),
    [
        ({}, "url", "missing"),
        ({"url": 42}, "url", "string_type"),
        ({"url": ""}, "url", "string_too_short"),
        ({"url": "ftp://example.com/"}, "url", "url_scheme"),
        ({"url": "https://user:secret@example.com/"}, "url", "url_credentials"),
        ({"url": "https://example.com/" + "a" * 2100}, "url", "url_too_long"),
        ({"url": "http:///nohost"}, "url", "url_host"),
        ({"url": "http://%31%32%37.0.0.2/"}, "url", "url_host"),  # refused, never decoded or resolved
        ({"url": f"http://{'a' * 64}.example/"}, "url", "url_host"),
        ({"url": f"http://{'a.' * 124}example/"}, "url", "url_host"),  # 255 characters: over 253
        ({"url": "http://example.com:99999/"}, "url", "url_port"),
        ({"url": "http://127.0.0.1:99999/"}, "url", "url_port"),
        ({"url": "http://example.com/", "colour": "red"}, "colour", "extra_forbidden"),
    ],
)
async def test_malformed_scan_request_is_422_naming_field_and_rule(
    api: httpx.AsyncClient, tenant: Tenant, body: dict[str, object], field: str, rule: str
) -> None:
    response = await api.post("/v1/scans", json=body, headers=tenant.headers)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert {"field": field, "rule": rule} in [{"field": f["field"], "rule": f["rule"]} for f in error["fields"]]


async def test_a_port_out_of_range_is_refused_wherever_a_url_enters(api: httpx.AsyncClient, tenant: Tenant) -> None:
    bad = "http://127.0.0.1:99999/"
    every_way_in = [
        ("/v1/runs", {"steps": [{"kind": "http", "url": bad}]}, "steps.0.url"),
        ("/v1/webhooks", {"url": bad}, "url"),
        ("/v1/schedules", {"name": "s", "kind": "scan", "url": bad, "interval_seconds": 3600}, "url"),
        ("/v1/schedules", {"name": "r", "kind": "run", "interval_seconds": 3600,
                           "suite": {"steps": [{"kind": "http", "url": bad}]}}, "suite.steps.0.url"),
    ]  # fmt: skip
    for path, body, field in every_way_in:
        refused = await api.post(path, json=body, headers=tenant.headers)
        assert refused.status_code == 422, (path, refused.text)
        assert (field, "url_port") in [(f["field"], f["rule"]) for f in refused.json()["error"]["fields"]], path
    batch = await api.post("/v1/scans/batch", json={"urls": [bad, "http://127.0.0.1:0/"]}, headers=tenant.headers)
    assert [(item["outcome"], item["error"]["rule"]) for item in batch.json()["items"]] == [("invalid", "url_port")] * 2


async def test_body_that_is_not_json_is_422(api: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await api.post(
        "/v1/scans", content=b"url=http://x", headers={**tenant.headers, "content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["error"]["fields"][0]["rule"] == "json_invalid"


async def test_another_orgs_scan_is_404_everywhere(api: httpx.AsyncClient, pool: asyncpg.Pool, tenant: Tenant) -> None:
    other = await make_tenant(pool)
    scan_id = (await api.post("/v1/scans", json={"url": "http://127.0.0.1:9/"}, headers=tenant.headers)).json()["id"]
    for path in (f"/v1/scans/{scan_id}", f"/v1/scans/{scan_id}/evidence", f"/v1/scans/{scan_id}/issues"):
        assert (await api.get(path, headers=tenant.headers)).status_code == 200
        response = await api.get(path, headers=other.headers)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    listed = (await api.get("/v1/scans", headers=other.headers)).json()
    assert scan_id not in [scan["id"] for scan in listed["items"]]


@pytest.mark.parametrize("scan_id", ["nope", "00000000-0000-4000-8000-000000000000", str(ids.new_id())])
async def test_unknown_or_malformed_scan_id_is_404(api: httpx.AsyncClient, tenant: Tenant, scan_id: str) -> None:
    assert (await api.get(f"/v1/scans/{scan_id}", headers=tenant.headers)).status_code == 404


async def test_scan_list_pages_with_a_cursor(api: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    tenant = await make_tenant(pool)
    submitted = [
        (await api.post("/v1/scans", json={"url": f"http://127.0.0.1:9/{n}"}, headers=tenant.headers)).json()["id"]
        for n in range(5)
    ]
    seen: list[str] = []
    params: dict[str, str | int] = {"limit": 2}
    while True:
        page = (await api.get("/v1/scans", headers=tenant.headers, params=params)).json()
        seen += [scan["id"] for scan in page["items"]]
        if page["next_cursor"] is None:
            break
        params = {"limit": 2, "cursor": page["next_cursor"]}
    assert seen == list(reversed(submitted))
    bad = await api.get("/v1/scans", headers=tenant.headers, params={"cursor": "garbage"})
    assert bad.status_code == 422 and bad.json()["error"]["fields"][0]["field"] == "cursor"


async def test_health_readiness_metrics_and_docs(api: httpx.AsyncClient) -> None:
    assert (await api.get("/healthz")).json() == {"status": "ok"}
    ready = await api.get("/readyz")
    body = ready.json()
    assert ready.status_code == 200 and body | {"browser_workers": 0} == {
        "postgres": "ok",
        "redis": "ok",
        "browser_workers": 0,
    }
    assert isinstance(body["browser_workers"], int)  # other tests' browser workers may be live meanwhile
    metrics = (await api.get("/metrics")).text
    assert 'scanfleet_http_requests_total{method="GET",route="/readyz",status="200"}' in metrics
    assert "/v1/scans" in (await api.get("/openapi.json")).json()["paths"]
    assert (await api.get("/docs")).status_code == 200
