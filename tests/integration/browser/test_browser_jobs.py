"""Browser scans as jobs: submitted with engine=browser, taken from their own queue by a browser worker, with
their own line in the capacity gate, so a browser flood never holds up an organisation's http scans."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from ipaddress import ip_network
from typing import Any

import asyncpg
import httpx
import pytest
from arq import Worker

from scanfleet.config import Settings
from scanfleet.db import orgs
from tests.conftest import Tenant, make_tenant
from tests.integration.browser.sites import SHOP
from tests.support.app import running_worker
from tests.support.internet import Internet
from tests.support.site import eventually


@pytest.fixture(scope="module")
async def browser_worker(settings: Settings, internet: Internet) -> AsyncIterator[Worker]:
    browsing = settings.model_copy(
        update={
            "worker_engine": "browser", "fetch_resolve": internet.resolve_map,
            "fetch_allow_networks": [ip_network("127.0.0.1/32")], "browser_settle_seconds": 0.5,
            "browser_page_seconds": 15,
        }
    )  # fmt: skip
    async with running_worker(browsing) as worker:
        yield worker


async def _final(api: httpx.AsyncClient, tenant: Tenant, scan_id: str) -> dict[str, Any]:
    async def finished() -> dict[str, Any] | None:
        scan = (await api.get(f"/v1/scans/{scan_id}", headers=tenant.headers)).json()
        return scan if scan["status"] not in ("queued", "running") else None

    return await eventually(finished, timeout=60)  # type: ignore[return-value]


@pytest.mark.usefixtures("browser_worker")
async def test_a_browser_scan_runs_in_the_browser_and_names_its_engine(
    api: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    tenant = await make_tenant(pool)
    submitted = await api.post("/v1/scans", json={"url": SHOP, "engine": "browser"}, headers=tenant.headers)
    assert submitted.status_code == 202, submitted.text
    assert submitted.json()["engine"] == "browser"
    scan = await _final(api, tenant, submitted.json()["id"])
    assert (scan["status"], scan["engine"], scan["final_url"]) == ("succeeded", "browser", SHOP), scan
    evidence = (await api.get(f"/v1/scans/{scan['id']}/evidence?limit=500", headers=tenant.headers)).json()["items"]
    kinds = {row["kind"] for row in evidence}
    assert {"request", "browser_cookie", "storage", "fingerprinting", "coverage"} <= kinds
    # An http scan of the same URL is a scan of its own: reuse and dedup are per engine.
    again = await api.post("/v1/scans", json={"url": SHOP}, headers=tenant.headers)
    assert again.status_code == 202 and again.json()["engine"] == "http" and again.json()["id"] != scan["id"]


async def test_a_browser_flood_is_refused_in_its_own_line_while_http_scans_are_still_accepted(
    api: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    tenant = await make_tenant(pool, "free")  # browser line: 1 running, 2 queued
    await orgs.set_capacity(pool, tenant.org.id, "free", 0, 5)  # nothing runs: the http line only queues
    answers = [
        await api.post(
            "/v1/scans", json={"url": f"https://shop.test/?{n}", "engine": "browser"}, headers=tenant.headers
        )
        for n in range(4)
    ]
    assert [answer.status_code for answer in answers] == [202, 202, 202, 429]
    error = answers[-1].json()["error"]
    assert (error["code"], error["max_running"], error["max_queued"]) == ("queue_full", 1, 2)
    http = await api.post("/v1/scans", json={"url": f"http://127.0.0.1:9/{uuid.uuid4().hex}"}, headers=tenant.headers)
    assert http.status_code == 202, http.text


@pytest.mark.usefixtures("browser_worker")
async def test_readiness_counts_the_live_browser_workers(api: httpx.AsyncClient) -> None:
    async def counted() -> bool:
        return (await api.get("/readyz")).json()["browser_workers"] >= 1

    await eventually(counted)
