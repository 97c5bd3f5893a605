"""Browser scans as jobs: submitted with engine=browser, taken from their own queue by a browser worker, with
their own line in the capacity gate, so a browser flood never holds up an organisation's http scans."""

from __future__ import annotations

import os
import signal
import uuid
from collections.abc import AsyncIterator
from ipaddress import ip_network
from typing import Any

import asyncpg
import httpx
import pytest
from arq import Worker

from scanfleet.broker.gate import Gate
from scanfleet.broker.keys import BROWSER_GATE
from scanfleet.config import Settings
from scanfleet.db import orgs
from scanfleet.scheduler import reaper
from tests.conftest import Tenant, make_tenant, own_redis
from tests.integration.browser.sites import SHOP
from tests.support.app import api_client, running_worker
from tests.support.internet import Internet
from tests.support.site import Page, eventually, html


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
    # Its screenshot, HAR and main document, served to its organisation with the API key.
    artifacts = (await api.get(f"/v1/scans/{scan['id']}/artifacts", headers=tenant.headers)).json()["items"]
    assert [item["kind"] for item in artifacts] == ["screenshot", "har", "document"]
    shot = await api.get(httpx.URL(artifacts[0]["url"]).path, headers=tenant.headers)
    assert shot.status_code == 200 and shot.content.startswith(b"\x89PNG") and len(shot.content) == artifacts[0]["size"]
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
    assert error["message"].startswith("the free tier allows 1 running and 2 queued browser scans"), error["message"]
    http = await api.post("/v1/scans", json={"url": f"http://127.0.0.1:9/{uuid.uuid4().hex}"}, headers=tenant.headers)
    assert http.status_code == 202, http.text


@pytest.mark.usefixtures("browser_worker")
async def test_readiness_counts_the_live_browser_workers(api: httpx.AsyncClient) -> None:
    async def counted() -> bool:
        return (await api.get("/readyz")).json()["browser_workers"] >= 1

    await eventually(counted)


@pytest.fixture(scope="module")
async def retrying_browser_worker(settings: Settings, internet: Internet) -> AsyncIterator[Worker]:
    """A browser worker on a Redis database of its own, whose crashed pages are tried again soon."""
    own = own_redis(settings, 9, __name__).model_copy(
        update={
            "worker_engine": "browser", "fetch_resolve": internet.resolve_map,
            "fetch_allow_networks": [ip_network("127.0.0.1/32")], "browser_settle_seconds": 0.3,
            "browser_page_seconds": 15, "retry_max_privacy": 1, "retry_base_seconds": 0.1,
            "retry_cap_seconds": 0.2,
        }
    )  # fmt: skip
    async with running_worker(own) as worker:
        yield worker


async def test_a_browser_that_crashes_mid_page_is_replaced_and_the_scan_completes_once(
    retrying_browser_worker: Worker, settings: Settings, pool: asyncpg.Pool, internet: Internet
) -> None:
    worker = retrying_browser_worker
    own = own_redis(settings, 9, __name__)
    tenant = await make_tenant(pool)
    image = f"/crash-{uuid.uuid4().hex[:6]}.png"
    internet.add(f"https://shop.test{image}", Page(200, [("Content-Type", "image/png")], b"", delay=3))
    url = internet.add(f"https://shop.test/crash-{uuid.uuid4().hex[:6]}", html(f'<img src="{image}">'))
    async with api_client(own) as api:
        submitted = await api.post("/v1/scans", json={"url": url, "engine": "browser"}, headers=tenant.headers)
        assert submitted.status_code == 202, submitted.text

        async def asked() -> bool:
            return any(hit.path == image for hit in internet.hits)

        await eventually(asked)
        runtime = worker.ctx["deps"].browser
        for pid in runtime._current.pids():  # the browser now loading the page
            os.kill(pid, signal.SIGKILL)
        gate = Gate(worker.pool, BROWSER_GATE)

        async def final() -> dict[str, Any] | None:
            await reaper.bring_back_deferred(gate)  # the scheduler's round, for the retry's backoff
            scan = (await api.get(f"/v1/scans/{submitted.json()['id']}", headers=tenant.headers)).json()
            return scan if scan["status"] not in ("queued", "running") else None

        scan = await eventually(final, timeout=60)
    assert isinstance(scan, dict)
    assert (scan["status"], scan["attempts"], scan["retries"]) == ("succeeded", 2, 1), scan
    assert scan["last_error"]["code"] == "browser_crashed"
