"""Capacity over HTTP: full queues are 429, tiers change at once, cancel frees places, keys are rate-limited."""

from __future__ import annotations

import contextlib
import math
import time
import uuid
from collections.abc import AsyncIterator, Callable

import asyncpg
import httpx
from arq import Worker
from redis.asyncio import Redis

from scanfleet.api.ratelimit import RateLimiter
from scanfleet.broker import keys
from scanfleet.broker.gate import Gate
from scanfleet.broker.ratelimit import Allowances
from scanfleet.db import api_keys, orgs, scans
from scanfleet.embedded import free_port
from tests.conftest import Tenant, make_tenant
from tests.support.site import FixtureSite, Page, eventually

SLOW_PAGE = Page(200, [("Content-Type", "text/html")], b"<html>slow</html>", delay=3)


async def limited_tenant(pool: asyncpg.Pool, tier: str, max_running: int, max_queued: int) -> Tenant:
    tenant = await make_tenant(pool, tier)
    await orgs.set_capacity(pool, tenant.org.id, tier, max_running, max_queued)
    return tenant


async def submit(api: httpx.AsyncClient, tenant: Tenant, url: str = "http://127.0.0.1:9/") -> httpx.Response:
    # A distinct query each time: the same URL while one is in flight would be that scan, reused.
    return await api.post("/v1/scans", json={"url": f"{url}?n={uuid.uuid4().hex}"}, headers=tenant.headers)


async def test_full_queue_is_429_naming_the_limit_and_leaves_nothing_runnable(
    api: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    tenant = await limited_tenant(pool, "free", max_running=0, max_queued=2)
    assert [(await submit(api, tenant)).status_code for _ in range(2)] == [202, 202]

    refused = await submit(api, tenant)
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    error = refused.json()["error"]
    assert (error["code"], error["limit"], error["tier"]) == ("queue_full", "max_queued", "free")
    assert (error["running"], error["queued"], error["max_queued"]) == (0, 2, 2)
    stored = await pool.fetch("SELECT status FROM scans WHERE org_id = $1", tenant.org.id)
    assert [row["status"] for row in stored] == ["queued", "queued"]  # the refused one left no row

    usage = (await api.get("/v1/usage", headers=tenant.headers)).json()
    assert usage == {
        "tier": "free", "running": 0, "queued": 2,
        "limits": {"max_running": 0, "max_queued": 2, "requests_per_minute": 60},
    }  # fmt: skip


async def test_a_full_queue_under_an_organisations_own_limits_says_so(
    api: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    tenant = await limited_tenant(pool, "free", max_running=0, max_queued=1)
    assert (await submit(api, tenant)).status_code == 202
    message = (await submit(api, tenant)).json()["error"]["message"]
    assert message.startswith("this organisation's own limits allow 0 running and 1 queued jobs"), message
    assert "free tier" not in message


async def test_admin_tier_change_applies_to_the_next_admission_and_promotes_at_once(
    api: httpx.AsyncClient, pool: asyncpg.Pool, site: FixtureSite
) -> None:
    tenant = await limited_tenant(pool, "free", max_running=0, max_queued=5)
    slow = site.add(f"/slow-{uuid.uuid4().hex[:6]}", SLOW_PAGE)
    for _ in range(3):
        assert (await submit(api, tenant, slow)).status_code == 202
    operator = await make_tenant(pool)
    _, admin_key = await api_keys.create(pool, operator.org.id, "ops", (api_keys.ADMIN_SCOPE,))
    path = f"/v1/admin/orgs/{tenant.org.id}/capacity"
    body = {"tier": "pro", "max_running": 2, "max_queued": None}

    assert (await api.put(path, json=body, headers=tenant.headers)).status_code == 403
    as_admin = {"Authorization": f"Bearer {admin_key}"}
    changed = await api.put(path, json=body, headers=as_admin)
    assert changed.status_code == 200
    assert changed.json() | {"org_id": None, "name": None} == {
        "org_id": None, "name": None, "tier": "pro", "max_running": 2, "max_queued": 50, "requests_per_minute": 600,
    }  # fmt: skip
    usage = (await api.get("/v1/usage", headers=tenant.headers)).json()
    assert (usage["tier"], usage["running"], usage["queued"]) == ("pro", 2, 1)
    unknown = await api.put(
        f"/v1/admin/orgs/{uuid.uuid4()}/capacity", json=body, headers={"Authorization": f"Bearer {admin_key}"}
    )
    assert unknown.status_code == 404
    bad = await api.put(path, json={"tier": "platinum"}, headers=as_admin)
    assert bad.status_code == 422 and bad.json()["error"]["fields"][0]["field"] == "tier"


async def test_cancel_a_queued_scan_frees_its_place(api: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    tenant = await limited_tenant(pool, "free", max_running=0, max_queued=1)
    scan_id = (await submit(api, tenant)).json()["id"]
    assert (await submit(api, tenant)).status_code == 429

    cancelled = await api.delete(f"/v1/scans/{scan_id}", headers=tenant.headers)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert (await api.get("/v1/usage", headers=tenant.headers)).json()["queued"] == 0
    assert (await submit(api, tenant)).status_code == 202  # the place is free again
    # Cancelled is finished: deleting it again hides it.
    assert (await api.delete(f"/v1/scans/{scan_id}", headers=tenant.headers)).status_code == 204
    assert (await api.get(f"/v1/scans/{scan_id}", headers=tenant.headers)).status_code == 404
    other = await make_tenant(pool)
    assert (await api.delete(f"/v1/scans/{scan_id}", headers=other.headers)).status_code == 404


async def test_cancel_a_running_scan_aborts_it_and_frees_its_slot(
    api: httpx.AsyncClient, pool: asyncpg.Pool, worker: Worker, site: FixtureSite
) -> None:
    tenant = await limited_tenant(pool, "free", max_running=1, max_queued=5)
    slow = site.add(f"/slow-{uuid.uuid4().hex[:6]}", SLOW_PAGE)
    scan_id = uuid.UUID((await submit(api, tenant, slow)).json()["id"])
    gate = Gate(worker.pool)

    async def running() -> bool:
        return await gate.states([keys.job_id(scan_id)]) == ["running"]

    await eventually(running)
    assert (await api.delete(f"/v1/scans/{scan_id}", headers=tenant.headers)).status_code == 200

    async def slot_free() -> bool:
        return (await gate.usage(tenant.org.id)).running == 0

    await eventually(slot_free, timeout=2.5)  # well before the slow page would have answered
    stored = await scans.get(pool, tenant.org.id, scan_id)
    assert stored is not None and stored.status.value == "cancelled"
    assert await pool.fetchval("SELECT count(*) FROM evidence WHERE scan_id = $1", scan_id) == 0


async def test_requests_over_the_key_rate_limit_are_429_with_headers(
    api: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    tenant = await make_tenant(pool, "free")
    # The free tier's 60 a minute refill one a second: on a slow machine the burst earns a request per second it
    # takes, so count what the elapsed time allows instead of expecting exactly the 61st to be refused.
    started = time.monotonic()
    answers: list[httpx.Response] = []
    while len(answers) < 200 and (not answers or answers[-1].status_code == 200):
        answers.append(await api.get("/v1/usage", headers=tenant.headers))
    allowed = len(answers) - 1
    assert 60 <= allowed <= 60 + math.ceil(time.monotonic() - started)
    assert answers[0].headers["ratelimit-remaining"] == "59"
    refused = answers[-1]
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    assert refused.json()["error"]["tier"] == "free"
    assert refused.headers["retry-after"] == "1"
    assert refused.headers["ratelimit-limit"] == "60" and refused.headers["ratelimit-remaining"] == "0"


@contextlib.asynccontextmanager
async def unreachable_redis(api: httpx.AsyncClient, part: str, make: Callable[[Redis], object]) -> AsyncIterator[None]:
    """The API's `part` (the lifecycle's gate, or the rate limiter) talks to a Redis nobody listens on."""
    owner = api._transport.app.state.resources  # type: ignore[attr-defined]
    *path, name = part.split(".")
    for step in path:
        owner = getattr(owner, step)
    working = getattr(owner, name)
    dead = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0")
    setattr(owner, name, make(dead))
    try:
        yield
    finally:
        setattr(owner, name, working)
        await dead.aclose()


async def test_submission_while_redis_is_unreachable_is_503_and_leaves_no_row(
    api: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    tenant = await make_tenant(pool)
    async with unreachable_redis(api, "lifecycle.gate", Gate):
        refused = await submit(api, tenant)
    assert refused.status_code == 503
    assert refused.json()["error"]["code"] == "queue_unavailable" and refused.headers["retry-after"] == "5"
    assert await pool.fetchval("SELECT count(*) FROM scans WHERE org_id = $1", tenant.org.id) == 0


async def test_any_request_while_redis_is_unreachable_is_503_with_retry_after(
    api: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    tenant = await make_tenant(pool)
    async with unreachable_redis(
        api, "limiter", lambda redis: RateLimiter(Allowances(redis))
    ):  # every authenticated request goes by it first
        refused = await api.get("/v1/scans", headers=tenant.headers)
    assert refused.status_code == 503
    assert refused.json()["error"]["code"] == "queue_unavailable" and refused.headers["retry-after"] == "5"
