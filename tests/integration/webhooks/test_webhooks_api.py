"""/v1/webhooks over HTTP: register (secret once), list, delete, the delivery log; scoped to the org."""

from __future__ import annotations

from collections.abc import Callable

import asyncpg
import httpx

from scanfleet.db import webhooks
from scanfleet.scheduler.webhooks import Deliverer
from tests.conftest import Tenant, make_tenant
from tests.integration.webhooks.conftest import Receiver, complete


async def test_register_list_and_delete_an_endpoint(api: httpx.AsyncClient, pool: asyncpg.Pool, tenant: Tenant) -> None:
    created = await api.post(
        "/v1/webhooks", json={"url": "https://hooks.example.com/scanfleet", "events": ["run.completed"]},
        headers=tenant.headers,
    )  # fmt: skip
    assert created.status_code == 201
    endpoint = created.json()
    assert endpoint["secret"].startswith("whsec_") and endpoint["events"] == ["run.completed"]

    listed = (await api.get("/v1/webhooks", headers=tenant.headers)).json()
    assert listed["next_cursor"] is None
    assert [item["id"] for item in listed["items"]] == [endpoint["id"]] and "secret" not in listed["items"][0]

    other = await make_tenant(pool)
    assert (await api.get("/v1/webhooks", headers=other.headers)).json() == {"items": [], "next_cursor": None}
    assert (await api.delete(f"/v1/webhooks/{endpoint['id']}", headers=other.headers)).status_code == 404
    assert (await api.get(f"/v1/webhooks/{endpoint['id']}/deliveries", headers=other.headers)).status_code == 404
    assert (await api.delete(f"/v1/webhooks/{endpoint['id']}", headers=tenant.headers)).status_code == 204
    assert (await api.delete(f"/v1/webhooks/{endpoint['id']}", headers=tenant.headers)).status_code == 404


async def test_urls_are_checked_and_endpoints_capped(api: httpx.AsyncClient, tenant: Tenant) -> None:
    for url, rule in [("ftp://example.com/", "url_scheme"), ("https://u:p@example.com/", "url_credentials")]:
        refused = await api.post("/v1/webhooks", json={"url": url}, headers=tenant.headers)
        assert refused.status_code == 422
        assert refused.json()["error"]["fields"][0] | {"message": ""} == {"field": "url", "rule": rule, "message": ""}
    unknown = await api.post("/v1/webhooks", json={"url": "https://a.example/", "events": ["scan.started"]},
                             headers=tenant.headers)  # fmt: skip
    assert unknown.status_code == 422 and unknown.json()["error"]["fields"][0]["field"] == "events.0"

    for n in range(webhooks.MAX_ENDPOINTS):
        ok = await api.post("/v1/webhooks", json={"url": f"https://a.example/{n}"}, headers=tenant.headers)
        assert ok.status_code == 201 and ok.json()["events"] == ["scan.completed", "run.completed"]
    over = await api.post("/v1/webhooks", json={"url": "https://a.example/over"}, headers=tenant.headers)
    assert over.status_code == 409 and over.json()["error"]["code"] == "too_many_endpoints"


async def test_the_delivery_log_pages_newest_first(
    api: httpx.AsyncClient, tenant: Tenant, pool: asyncpg.Pool,
    receiver: Callable[..., Receiver], deliverer: Callable[..., Deliverer],
) -> None:  # fmt: skip
    hook = receiver(500)
    created = await api.post("/v1/webhooks", json={"url": hook.url}, headers=tenant.headers)
    endpoint_id = created.json()["id"]
    scan = await complete(pool, tenant.org.id)
    delivering = deliverer()
    await delivering.round()
    await delivering.round()

    path = f"/v1/webhooks/{endpoint_id}/deliveries"
    first = (await api.get(path, params={"limit": 1}, headers=tenant.headers)).json()
    [latest] = first["items"]
    assert (latest["attempt"], latest["status_code"], latest["error"]) == (2, 200, None)
    assert latest["event_type"] == "scan.completed" and latest["scan_id"] == str(scan.id)
    rest = (await api.get(path, params={"cursor": first["next_cursor"]}, headers=tenant.headers)).json()
    assert [(item["attempt"], item["status_code"]) for item in rest["items"]] == [(1, 500)]
    assert rest["next_cursor"] is None
    bad = await api.get(path, params={"cursor": "abc"}, headers=tenant.headers)
    assert bad.status_code == 422 and bad.json()["error"]["fields"][0]["field"] == "cursor"
