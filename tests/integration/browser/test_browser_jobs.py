"""Browser scans as jobs: submitted with engine=browser, taken from their own queue by a browser worker, with
their own line in the capacity gate, so a browser flood never holds up an organisation's http scans."""

from __future__ import annotations

import json
import os
import signal
import uuid
from collections.abc import AsyncIterator
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
from tests.integration.browser.apps import LOGIN, PASSWORD, USER, build_apps
from tests.integration.browser.sites import SHOP
from tests.support.app import api_client, running_worker
from tests.support.internet import Internet, browsing
from tests.support.site import Page, eventually, html


@pytest.fixture(scope="module")
async def browser_worker(settings: Settings, internet: Internet) -> AsyncIterator[Worker]:
    async with running_worker(browsing(settings, internet)) as worker:
        yield worker


async def _final(api: httpx.AsyncClient, tenant: Tenant, job_id: str, jobs: str = "scans") -> dict[str, Any]:
    async def finished() -> dict[str, Any] | None:
        job = (await api.get(f"/v1/{jobs}/{job_id}", headers=tenant.headers)).json()
        return job if job["status"] not in ("queued", "running") else None

    return await eventually(finished, timeout=60)


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
    allowed = "the free tier allows 1 running and 2 queued browser scans and runs"
    assert error["message"].startswith(allowed), error["message"]
    http = await api.post("/v1/scans", json={"url": f"http://127.0.0.1:9/{uuid.uuid4().hex}"}, headers=tenant.headers)
    assert http.status_code == 202, http.text


@pytest.mark.usefixtures("browser_worker")
async def test_a_run_with_a_browser_step_takes_the_browser_line_and_a_browser_worker(
    api: httpx.AsyncClient, pool: asyncpg.Pool, internet: Internet
) -> None:
    build_apps(internet)
    tenant = await make_tenant(pool)
    suite = {"name": "sign in", "variables": {"user": USER, "password": PASSWORD},
             "steps": [{"kind": "browser", "name": "log in", "actions": LOGIN}]}  # fmt: skip
    submitted = await api.post("/v1/runs", json=suite, headers=tenant.headers)
    assert submitted.status_code == 202, submitted.text
    run_id = submitted.json()["id"]
    run = await _final(api, tenant, run_id, "runs")
    assert isinstance(run, dict) and (run["status"], run["verdict"]) == ("succeeded", "passed"), run
    assert await pool.fetchval("SELECT engine FROM scans WHERE id = $1", uuid.UUID(run_id)) == "browser"
    results = (await api.get(f"/v1/runs/{run_id}/results", headers=tenant.headers)).json()["items"]
    step = next(row for row in results if row["kind"] == "check_step")
    assert step["details"]["page_timings"]["ttfb_ms"] > 0 and step["details"]["final_url"].startswith(
        "https://app.test/dashboard"
    )
    assert PASSWORD not in json.dumps(results)
    # Without browser steps a run stays on the http line.
    plain = await api.post("/v1/runs", json={"steps": [{"kind": "tcp", "host": "127.0.0.1", "port": 9}]},
                           headers=tenant.headers)  # fmt: skip
    assert plain.status_code == 202, plain.text
    assert await pool.fetchval("SELECT engine FROM scans WHERE id = $1", uuid.UUID(plain.json()["id"])) == "http"


@pytest.mark.usefixtures("browser_worker")
async def test_a_failed_browser_steps_screenshot_and_dom_snapshot_are_stored_and_shown_in_its_report(
    api: httpx.AsyncClient, pool: asyncpg.Pool, internet: Internet
) -> None:
    build_apps(internet)
    tenant, other = await make_tenant(pool), await make_tenant(pool)
    suite = {"name": "sign in, then look for the wrong title", "variables": {"user": USER, "password": PASSWORD},
             "steps": [{"kind": "browser", "name": "log in", "action_timeout_seconds": 3, "actions": [
                 *LOGIN, {"action": "assert_title", "operator": "equals", "value": "Nowhere"}]}]}  # fmt: skip
    submitted = await api.post("/v1/runs", json=suite, headers=tenant.headers)
    assert submitted.status_code == 202, submitted.text
    run_id = submitted.json()["id"]
    run = await _final(api, tenant, run_id, "runs")
    assert isinstance(run, dict) and run["verdict"] == "failed", run
    listed = (await api.get(run["artifacts_url"], headers=tenant.headers)).json()["items"]
    assert [(item["kind"], item["step"]) for item in listed] == [("screenshot", "log in"), ("dom_snapshot", "log in")]
    shot = await api.get(listed[0]["url"], headers=tenant.headers)
    assert shot.status_code == 200 and shot.content.startswith(b"\x89PNG")
    dom = await api.get(listed[1]["url"], headers=tenant.headers)
    assert b"Dashboard" in dom.content and PASSWORD.encode() not in dom.content
    assert (await api.get(listed[0]["url"], headers=other.headers)).status_code == 404
    report = await api.get(f"/v1/runs/{run_id}/report", headers=tenant.headers)
    assert report.status_code == 200 and "data:image/png;base64," in report.text
    assert PASSWORD not in report.text


async def test_a_bad_browser_step_is_a_422_naming_the_step_the_action_the_field_and_the_rule(
    api: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    tenant = await make_tenant(pool)
    suite = {"steps": [{"kind": "browser", "actions": [
        {"action": "goto", "url": "https://app.test/"}, {"action": "goto", "url": "javascript:alert(1)"},
        {"action": "evaluate", "expression": "document.cookie"},
        {"action": "click", "selector": "div >> internal:control=enter-frame"}]}]}  # fmt: skip
    answer = await api.post("/v1/runs", json=suite, headers=tenant.headers)
    assert answer.status_code == 422, answer.text
    fields = [(f["step"], f["field"], f["rule"]) for f in answer.json()["error"]["fields"]]
    assert fields == [
        (0, "steps.0.actions.1.url", "url_scheme"),
        (0, "steps.0.actions.2.action", "unknown_action"),
        (0, "steps.0.actions.3.selector", "selector_invalid"),
    ]


@pytest.mark.usefixtures("browser_worker")
async def test_readiness_counts_the_live_browser_workers(api: httpx.AsyncClient) -> None:
    async def counted() -> bool:
        workers: int = (await api.get("/readyz")).json()["browser_workers"]
        return workers >= 1

    await eventually(counted)


@pytest.fixture(scope="module")
async def retrying_browser_worker(settings: Settings, internet: Internet) -> AsyncIterator[Worker]:
    """A browser worker on a Redis database of its own, whose crashed pages are tried again soon."""
    own = browsing(
        own_redis(settings, 9, __name__), internet, browser_settle_seconds=0.3, retry_max_privacy=1,
        retry_base_seconds=0.1, retry_cap_seconds=0.2,
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
