"""Redis through Sentinel (SCANFLEET_REDIS_SENTINELS): the platform follows the master across a failover."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterator
from typing import Any, cast

import asyncpg
import httpx
import pytest
from redis.asyncio import Redis

from scanfleet.broker import connection
from scanfleet.broker.decode import reply
from scanfleet.config import Settings
from scanfleet.db import scans
from scanfleet.db.pool import create_pool
from scanfleet.supervisor import prepare_schema
from tests.conftest import Tenant, fresh_database, make_tenant
from tests.support.app import api_client, running_scheduler, running_worker
from tests.support.sentinel import MASTER_NAME, SentinelGroup
from tests.support.site import FixtureSite, eventually, html


@pytest.fixture(scope="module")
def group(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SentinelGroup]:
    started = SentinelGroup(tmp_path_factory.mktemp("sentinel"))
    try:
        started.start()
        yield started
    finally:
        started.stop()


@pytest.fixture(scope="module")
async def pool(via_sentinel: Settings) -> AsyncIterator[asyncpg.Pool]:
    async with await create_pool(via_sentinel) as pool:
        yield pool


@pytest.fixture(scope="module")
async def via_sentinel(settings: Settings, server_urls: tuple[str, str], group: SentinelGroup) -> Settings:
    database_url = await fresh_database(settings, server_urls[0])
    await prepare_schema(settings, database_url)
    await group.wait_until_ready()
    return settings.model_copy(
        update={
            "database_url": database_url,
            "redis_url": "redis:///0",  # the database only: the sentinels name the host
            "redis_sentinels": [group.sentinel.address],
            "redis_sentinel_master": MASTER_NAME,
        }
    )


def test_settings_name_the_sentinels_and_the_master() -> None:
    settings = Settings(
        _env_file=None,
        redis_url="redis://:secret@unused/3",
        redis_sentinels="10.0.0.1:26379, sentinel-b:26380,[::1]:26381",
        redis_sentinel_master="queue",
    )
    redis = connection.redis_settings(settings)
    assert redis.sentinel and redis.sentinel_master == "queue"
    assert redis.host == [("10.0.0.1", 26379), ("sentinel-b", 26380), ("::1", 26381)]
    assert (redis.database, redis.password) == (3, "secret")
    plain = connection.redis_settings(settings.model_copy(update={"redis_sentinels": []}))
    assert not plain.sentinel and plain.host == "unused"


def test_a_sentinel_address_needs_a_port() -> None:
    settings = Settings(_env_file=None, redis_url="redis:///0", redis_sentinels=["sentinel-a"])
    with pytest.raises(ValueError, match="host:port"):
        connection.redis_settings(settings)


async def test_connections_go_to_the_master_the_sentinel_names(via_sentinel: Settings, group: SentinelGroup) -> None:
    key = f"probe:{uuid.uuid4().hex}"
    redis = await connection.connect(via_sentinel)
    try:
        await redis.set(key, "written")
    finally:
        await redis.aclose()
    async with Redis(host=group.master.host, port=await group.master_port()) as master:
        assert await master.get(key) == b"written"


async def test_a_command_cut_off_by_the_server_goes_again(via_sentinel: Settings, group: SentinelGroup) -> None:
    # Sentinel's failover ends every client connection of the demoted master; one in the middle of a command
    # must be retried on a fresh connection, as with a plain Redis, not fail the request or job that sent it.
    key = f"cut:{uuid.uuid4().hex}"
    redis = await connection.connect(via_sentinel)
    async with Redis(host=group.master.host, port=await group.master_port(), decode_responses=True) as admin:

        async def blocked() -> int:
            return sum(client["cmd"] == "blpop" for client in await admin.client_list())

        try:
            # redis-py types BLPOP's reply as a list; it is a (key, value) tuple.
            pop = cast(Coroutine[Any, Any, tuple[bytes, bytes]], redis.blpop([key], timeout=20))
            waiting = asyncio.create_task(pop)
            await eventually(blocked)
            await admin.client_kill_filter(_type="normal", skipme=True)
            await eventually(blocked)  # the same command, sent again on a new connection
            await reply(admin.rpush(key, "delivered"))
            assert await waiting == (key.encode(), b"delivered")
        finally:
            await redis.aclose()


async def submit(api: httpx.AsyncClient, tenant: Tenant, url: str) -> uuid.UUID:
    response = await api.post("/v1/scans", json={"url": url, "fresh": True}, headers=tenant.headers)
    assert response.status_code == 202, response.text
    return uuid.UUID(response.json()["id"])


async def test_admission_and_work_go_on_after_a_failover(
    via_sentinel: Settings, pool: asyncpg.Pool, group: SentinelGroup, site: FixtureSite
) -> None:
    page = site.add(f"/sentinel-{uuid.uuid4().hex[:8]}", html("<title>t</title><p>highly available</p>"))
    # Replication is asynchronous, and a worker's connections may read the demoted master for a moment: a job it
    # then finds without its body is dropped by arq, and the scheduler's reconciliation dispatches it again.
    reconciling = via_sentinel.model_copy(update={"requeue_after_seconds": 1, "scheduler_interval_seconds": 0.5})
    async with (
        api_client(via_sentinel) as api,
        running_worker(via_sentinel) as worker,
        running_scheduler(reconciling),
    ):
        tenant = await make_tenant(pool)
        before = await submit(api, tenant, f"{page}?before")
        await eventually(lambda: scans.is_final(pool, before), timeout=30)

        promoted = await group.failover()
        assert promoted == group.replica.port

        # The API admits at once, on the new master; the same worker process takes and finishes the work.
        after = [await submit(api, tenant, f"{page}?after={n}") for n in range(3)]

        async def all_final() -> bool:
            return all([await scans.is_final(pool, scan_id) for scan_id in after])

        await eventually(all_final, timeout=30)
        for scan_id in [before, *after]:
            assert (await api.get(f"/v1/scans/{scan_id}", headers=tenant.headers)).json()["status"] == "succeeded"

        # A worker gives its slot back after it commits the result, so the last slots may lag the final rows.
        async def slots_given_back() -> bool:
            usage = (await api.get("/v1/usage", headers=tenant.headers)).json()
            return (usage["running"], usage["queued"]) == (0, 0)

        await eventually(slots_given_back, timeout=15)  # every slot given back, on the new master
        assert worker.main_task is not None and not worker.main_task.done()  # it lived through the switch
