"""Artifacts through the whole job path: a worker's http scan keeps its main document, and a worker facing an
artifact store that is down defers the scan, loses nothing, and finishes it once the store is back."""

from __future__ import annotations

import asyncio

import asyncpg
import httpx
from arq import Worker

from scanfleet import metrics
from scanfleet.db import artifacts, scans
from scanfleet.model import Status
from tests.conftest import Tenant
from tests.integration.artifacts.conftest import new_bucket, s3_overrides
from tests.integration.worker.conftest import OwnWorkerFactory
from tests.integration.worker.test_retries_and_breakers import PAGE, finished, submit
from tests.support.seaweed import SeaweedS3
from tests.support.site import FixtureSite, eventually


async def test_an_http_scan_keeps_its_main_document(
    api: httpx.AsyncClient, worker: Worker, site: FixtureSite, tenant: Tenant
) -> None:
    url = site.add("/kept", PAGE)
    submitted = await api.post("/v1/scans", json={"url": url, "fresh": True}, headers=tenant.headers)
    scan_id = submitted.json()["id"]

    async def final() -> dict[str, object] | None:
        scan = (await api.get(f"/v1/scans/{scan_id}", headers=tenant.headers)).json()
        return scan if scan["status"] not in ("queued", "running") else None

    scan = await eventually(final)
    assert scan["status"] == "succeeded", scan
    (item,) = (await api.get(f"/v1/scans/{scan_id}/artifacts", headers=tenant.headers)).json()["items"]
    assert (item["kind"], item["content_type"], item["size"]) == ("document", "text/html", len(PAGE.body))
    document = await api.get(httpx.URL(item["url"]).path, headers=tenant.headers)
    assert document.content == PAGE.body
    assert document.headers["content-security-policy"].startswith("sandbox")  # never run on the API's origin


async def test_a_store_outage_defers_the_scan_and_it_completes_once_the_store_is_back(
    pool: asyncpg.Pool, own_worker: OwnWorkerFactory, seaweed: SeaweedS3, site: FixtureSite, tenant: Tenant
) -> None:
    overrides = {**s3_overrides(seaweed, new_bucket(seaweed)), "breaker_storage_fail_max": 1,
                 "breaker_storage_reset_seconds": 0.5}  # fmt: skip
    deferred = metrics.JOBS_DEFERRED.labels("run_scan", "storage")
    before: float = deferred._value.get()
    seaweed.kill()  # the store goes away at once, as in a crash
    try:
        async with own_worker(**overrides) as own:
            scan_id = await submit(pool, own, tenant, site.add("/outage", PAGE))

            async def put_aside() -> bool:
                count: float = deferred._value.get()
                return count > before

            await eventually(put_aside, timeout=30)
            scan = await scans.get(pool, tenant.org.id, scan_id)
            assert scan is not None and (scan.status, scan.attempts) == (Status.QUEUED, 0)
            assert await artifacts.of_job(pool, tenant.org.id, scan_id) == []
            await asyncio.to_thread(seaweed.start)  # the worker keeps running meanwhile
            done = await finished(pool, own.gate, scan_id, timeout=30)
    finally:
        if not seaweed.running:
            await asyncio.to_thread(seaweed.start)
    assert done.status is Status.SUCCEEDED
    assert [row.kind for row in await artifacts.of_job(pool, tenant.org.id, scan_id)] == ["document"]
