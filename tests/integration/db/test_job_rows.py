"""The job store under a rolling deploy and under concurrent creation of one URL's scan."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

import asyncpg
import httpx
from arq import Worker

from scanfleet.db.store import PgJobStore
from tests.conftest import Tenant, make_tenant
from tests.support.site import FixtureSite, eventually, html

# Tables whose rows the processes read into their models; a newer migration may add a column to any of them.
TABLES = ("scans", "organisations", "api_keys", "schedules", "heartbeats", "webhook_endpoints", "erase_requests")


@contextlib.asynccontextmanager
async def newer_schema(pool: asyncpg.Pool) -> AsyncIterator[None]:
    for table in TABLES:
        await pool.execute(f"ALTER TABLE {table} ADD COLUMN added_by_a_newer_release text DEFAULT 'x'")
    try:
        yield
    finally:
        for table in TABLES:
            await pool.execute(f"ALTER TABLE {table} DROP COLUMN added_by_a_newer_release")


async def _exercise(api: httpx.AsyncClient, tenant: Tenant, site: FixtureSite) -> None:
    """A scan run by a worker, and a schedule, a heartbeat and a webhook endpoint created and listed."""
    page = site.add(f"/{uuid.uuid4().hex}", html("<title>Shop</title><p>Welcome</p>"))
    submitted = await api.post("/v1/scans", json={"url": page}, headers=tenant.headers)
    assert submitted.status_code == 202, submitted.text

    async def finished() -> bool:
        answer = await api.get(submitted.headers["Location"], headers=tenant.headers)
        return answer.status_code == 200 and answer.json()["status"] == "succeeded"

    await eventually(finished)
    assert (await api.get("/v1/scans", headers=tenant.headers)).status_code == 200
    schedule = {"name": "hourly", "kind": "scan", "url": page, "interval_seconds": 3600}
    for path, body in (("/v1/schedules", schedule), ("/v1/heartbeats", {"name": "nightly", "period_seconds": 3600}),
                       ("/v1/webhooks", {"url": site.url("/hook")})):  # fmt: skip
        created = await api.post(path, json=body, headers=tenant.headers)
        assert created.status_code == 201, created.text
        assert (await api.get(path, headers=tenant.headers)).status_code == 200


async def test_a_running_release_keeps_working_on_a_schema_with_columns_it_does_not_know(
    api: httpx.AsyncClient, pool: asyncpg.Pool, worker: Worker, site: FixtureSite
) -> None:
    tenant = await make_tenant(pool, "enterprise")
    await _exercise(api, tenant, site)  # its statements prepared and cached, as in a process that has been running
    async with newer_schema(pool):
        await _exercise(api, tenant, site)


async def test_a_schedule_fire_and_a_submission_of_one_url_agree_on_one_scan(
    pool: asyncpg.Pool, tenant: Tenant
) -> None:
    store, url = PgJobStore(pool), f"https://race-{uuid.uuid4().hex}.example/"
    async with pool.acquire() as conn, conn.transaction():
        fired, reused = await store.create_scan(
            tenant.org.id, url, "http", 0, within=conn
        )  # as a fire does, in its batch
        assert reused is None
        submission = asyncio.create_task(store.create_scan(tenant.org.id, url, "http", 300))

        async def waiting_on_the_fire() -> bool:
            return bool(
                await pool.fetchval("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
            )

        await eventually(waiting_on_the_fire)  # the submission waits for the fire's transaction to end
    submitted, reused = await submission
    assert (submitted.id, reused) == (fired.id, "in_flight")
    assert await pool.fetchval("SELECT count(*) FROM scans WHERE org_id = $1 AND url = $2", tenant.org.id, url) == 1
