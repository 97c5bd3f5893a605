"""DATABASE_READ_URL against a real streaming replica: routed reads come from it, everything else from the primary.

The proof is the replica's own clock: with WAL replay paused it stands still, so what an endpoint answers
tells which server it read — rows written after the pause exist only on the primary.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import asyncpg
import httpx
import pytest

from scanfleet.api.deps import open_resources
from scanfleet.config import Settings
from scanfleet.db import scans
from scanfleet.db.pool import create_pool
from scanfleet.embedded import EmbeddedPostgres
from scanfleet.supervisor import prepare_schema
from tests.conftest import Tenant, fresh_database, make_tenant
from tests.support.app import api_client, running_worker
from tests.support.replica import StreamingReplica
from tests.support.site import FixtureSite, eventually, html


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[EmbeddedPostgres, StreamingReplica]]:
    root = tmp_path_factory.mktemp("replication")
    primary = EmbeddedPostgres(root / "primary")
    primary.start()
    replica = StreamingReplica(root / "replica", primary)
    try:
        replica.start()
        yield primary, replica
    finally:
        replica.stop()
        primary.stop()


@pytest.fixture(scope="module")
async def split(settings: Settings, cluster: tuple[EmbeddedPostgres, StreamingReplica], own_redis_url: str) -> Settings:
    """Writes to the primary, routed reads to the replica of the same database."""
    primary, replica = cluster
    database_url = await fresh_database(settings, primary.url())
    await prepare_schema(settings, database_url)
    read_url = replica.url(database_url.rpartition("/")[2])
    return settings.model_copy(
        update={"database_url": database_url, "database_read_url": read_url, "redis_url": own_redis_url}
    )


@pytest.fixture(scope="module")
async def primary_pool(split: Settings) -> AsyncIterator[asyncpg.Pool]:
    async with await create_pool(split) as pool:
        yield pool


@pytest.fixture(scope="module")
async def replica_conn(split: Settings) -> AsyncIterator[asyncpg.Connection]:
    assert split.database_read_url is not None
    conn = await asyncpg.connect(split.database_read_url)
    yield conn
    await conn.close()


async def replicated(replica: asyncpg.Connection, scan_id: str) -> bool:
    """The replica has the scan's final status (and so, in the same transaction, its results)."""
    status: str | None = await replica.fetchval("SELECT status FROM scans WHERE id = $1", uuid.UUID(scan_id))
    return status == "succeeded"


async def paused(replica: asyncpg.Connection) -> bool:
    return bool(await replica.fetchval("SELECT pg_get_wal_replay_pause_state() = 'paused'"))


async def submit(api: httpx.AsyncClient, tenant: Tenant, url: str) -> str:
    response = await api.post("/v1/scans", json={"url": url, "fresh": True}, headers=tenant.headers)
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


async def test_replica_is_a_streaming_standby(replica_conn: asyncpg.Connection, primary_pool: asyncpg.Pool) -> None:
    assert await replica_conn.fetchval("SELECT pg_is_in_recovery()")
    assert await primary_pool.fetchval("SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'") == 1


async def test_routed_reads_come_from_the_replica_and_the_rest_from_the_primary(
    split: Settings, primary_pool: asyncpg.Pool, replica_conn: asyncpg.Connection, site: FixtureSite
) -> None:
    page = site.add(f"/replica-{uuid.uuid4().hex[:8]}", html("<title>t</title><p>replicated</p>"))
    tenant = await make_tenant(primary_pool)  # keys are read on the primary: usable at once
    async with api_client(split) as api, running_worker(split):
        before = await submit(api, tenant, page)
        await eventually(lambda: scans.is_final(primary_pool, uuid.UUID(before)))
        await eventually(lambda: replicated(replica_conn, before))

        await replica_conn.execute("SELECT pg_wal_replay_pause()")
        try:
            await eventually(lambda: paused(replica_conn))
            after = await submit(api, tenant, page)

            # The primary: a job is followed from its submit on, and runs to its end.
            followed = (await api.get(f"/v1/scans/{after}", headers=tenant.headers)).json()
            assert followed["id"] == after
            await eventually(lambda: scans.is_final(primary_pool, uuid.UUID(after)))

            # The replica, standing still: the list and the stats know only the first scan.
            listed = (await api.get("/v1/scans", headers=tenant.headers)).json()
            assert [item["id"] for item in listed["items"]] == [before]
            stats = (await api.get("/v1/stats", headers=tenant.headers)).json()
            assert sum(day["scans"].get("succeeded", 0) for day in stats["days"]) == 1

            # Results of a job the replica has not seen finish come from the primary…
            fresh = await api.get(f"/v1/scans/{after}/evidence", headers=tenant.headers)
            assert fresh.status_code == 200 and fresh.json()["items"]
            # …and a finished one's from the replica: deleted on the primary, it is still there until replay.
            assert (await api.delete(f"/v1/scans/{before}", headers=tenant.headers)).status_code == 204
            assert (await api.get(f"/v1/scans/{before}", headers=tenant.headers)).status_code == 404
            stale = await api.get(f"/v1/scans/{before}/issues", headers=tenant.headers)
            assert stale.status_code == 200 and stale.json()["items"]
        finally:
            await replica_conn.execute("SELECT pg_wal_replay_resume()")

        async def caught_up() -> bool:
            listed = (await api.get("/v1/scans", headers=tenant.headers)).json()
            gone = await api.get(f"/v1/scans/{before}/issues", headers=tenant.headers)
            return [item["id"] for item in listed["items"]] == [after] and gone.status_code == 404

        await eventually(caught_up, interval=0.1)  # each round spends two requests of the key's rate limit


async def test_without_a_read_url_reads_go_to_the_primary(settings: Settings) -> None:
    async with open_resources(settings) as res:
        assert res.read_pool is None
        assert res.reads is res.pool


async def test_the_read_pool_serves_from_the_replica(split: Settings) -> None:
    async with open_resources(split) as res:
        assert await res.reads.fetchval("SELECT pg_is_in_recovery()")
        assert not await res.pool.fetchval("SELECT pg_is_in_recovery()")
