"""The platform through a real PgBouncer in transaction mode (SCANFLEET_DB_PGBOUNCER=true).

API, worker and scheduler all connect to PgBouncer, which has fewer server connections than they have
clients: their transactions share server sessions. Migrations are the exception: they hold a session
advisory lock across transactions, so they run against PostgreSQL directly.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime, time

import asyncpg
import httpx
import pytest

from scanfleet.config import Settings
from scanfleet.db import retention, scans
from scanfleet.db.partitions import PARTITIONED_TABLES
from scanfleet.db.pool import create_pool
from scanfleet.db.store import SUBMITTING
from scanfleet.supervisor import prepare_schema
from tests.conftest import Tenant, fresh_database, make_tenant
from tests.integration.retention.support import finished_scan
from tests.support.app import api_client, running_scheduler, running_worker
from tests.support.external import require_binary
from tests.support.pgbouncer import PgBouncer
from tests.support.site import FixtureSite, eventually, html
from tests.support.submissions import made_together

POOL_SIZE = 3  # server connections per database; the platform's three processes have more clients than that


@pytest.fixture(scope="module")
def bouncer(server_urls: tuple[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[PgBouncer]:
    binary = require_binary("pgbouncer")
    running = PgBouncer(tmp_path_factory.mktemp("pgbouncer"), binary=binary, server_url=server_urls[0],
                        pool_size=POOL_SIZE)  # fmt: skip
    running.start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
async def bounced(settings: Settings, server_urls: tuple[str, str], bouncer: PgBouncer, own_redis_url: str) -> Settings:
    direct = await fresh_database(settings, server_urls[0])
    await prepare_schema(settings, direct)  # migrations: directly (see the module's docstring)
    return settings.model_copy(
        update={
            "database_url": bouncer.url(direct.rpartition("/")[2]),
            "db_pgbouncer": True,
            "redis_url": own_redis_url,
            "scheduler_interval_seconds": 0.2,
            "schedule_tick_seconds": 0.1,
            "reaper_interval_seconds": 0.2,
            "webhook_interval_seconds": 0.1,
        }
    )


@pytest.fixture(scope="module")
async def bounced_pool(bounced: Settings) -> AsyncIterator[asyncpg.Pool]:
    async with await create_pool(bounced) as pool:
        yield pool


@pytest.fixture
def failed_rounds(caplog: pytest.LogCaptureFixture) -> Iterator[list[logging.LogRecord]]:
    """Scheduler rounds that raised (the scheduler logs them and goes on, so a test must look)."""
    with caplog.at_level(logging.ERROR, logger="scheduler"):
        yield caplog.records


async def submit(api: httpx.AsyncClient, tenant: Tenant, url: str, **headers: str) -> httpx.Response:
    return await api.post("/v1/scans", json={"url": url, "fresh": True}, headers=tenant.headers | headers)


async def test_connections_are_pooled_by_pgbouncer(bounced: Settings, bounced_pool: asyncpg.Pool) -> None:
    # Many clients, few server sessions: two transactions of one client may run on different sessions.
    await asyncio.gather(*(bounced_pool.fetchval("SELECT pg_sleep(0.05)") for _ in range(POOL_SIZE * 4)))
    servers = await bounced_pool.fetchval("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
    assert servers <= POOL_SIZE


async def test_submissions_made_together_commit_together_through_pgbouncer(
    bounced_pool: asyncpg.Pool, caplog: pytest.LogCaptureFixture
) -> None:
    tenant = await make_tenant(bounced_pool)
    assert await made_together(bounced_pool, tenant.org.id, 20, caplog) <= SUBMITTING + 1


@pytest.fixture
async def platform(
    bounced: Settings, bounced_pool: asyncpg.Pool, site: FixtureSite
) -> AsyncIterator[tuple[httpx.AsyncClient, Tenant, str]]:
    """API, worker and scheduler running through PgBouncer; an organisation of its own and a page to scan."""
    page = site.add(f"/bounced-{uuid.uuid4().hex[:8]}", html("<title>t</title><p>through the pooler</p>"))
    tenant = await make_tenant(bounced_pool)
    async with api_client(bounced) as api, running_worker(bounced), running_scheduler(bounced):
        yield api, tenant, page


async def test_submit_run_and_read_results_through_pgbouncer(
    platform: tuple[httpx.AsyncClient, Tenant, str], bounced_pool: asyncpg.Pool,
    failed_rounds: list[logging.LogRecord],
) -> None:  # fmt: skip
    api, tenant, page = platform
    # Many at once, with an idempotency key each: every statement of every request in its own transaction.
    answers = await asyncio.gather(
        *(submit(api, tenant, f"{page}?n={n}", **{"Idempotency-Key": f"k{n}"}) for n in range(8))
    )
    assert [answer.status_code for answer in answers] == [202] * 8
    replay = await submit(api, tenant, f"{page}?n=0", **{"Idempotency-Key": "k0"})
    assert replay.headers["Idempotent-Replayed"] == "true" and replay.json()["id"] == answers[0].json()["id"]
    ids = [uuid.UUID(answer.json()["id"]) for answer in answers]

    async def all_final() -> bool:
        return all([await scans.is_final(bounced_pool, scan_id) for scan_id in ids])

    await eventually(all_final, timeout=30)
    for scan_id in ids:
        scan = (await api.get(f"/v1/scans/{scan_id}", headers=tenant.headers)).json()
        assert scan["status"] == "succeeded", scan
    evidence = await api.get(f"/v1/scans/{ids[0]}/evidence", headers=tenant.headers, params={"limit": 2})
    assert evidence.status_code == 200 and len(evidence.json()["items"]) == 2
    stats = (await api.get("/v1/stats", headers=tenant.headers)).json()
    assert sum(day["scans"].get("succeeded", 0) for day in stats["days"]) == len(ids)
    assert not failed_rounds, [record.getMessage() for record in failed_rounds]


async def test_schedules_and_erase_through_pgbouncer(
    platform: tuple[httpx.AsyncClient, Tenant, str], bounced_pool: asyncpg.Pool,
    failed_rounds: list[logging.LogRecord],
) -> None:  # fmt: skip
    api, tenant, page = platform
    created = await api.post(
        "/v1/schedules", json={"name": "hourly", "kind": "scan", "url": page, "interval_seconds": 3600},
        headers=tenant.headers,
    )  # fmt: skip
    assert created.status_code == 201, created.text
    schedule_id = uuid.UUID(created.json()["id"])
    await bounced_pool.execute("UPDATE schedules SET next_fire_at = now() WHERE id = $1", schedule_id)  # due now

    async def fired_and_done() -> bool:
        job = await bounced_pool.fetchval(
            "SELECT f.job_id FROM schedule_fires f JOIN scans s ON s.id = f.job_id"
            " WHERE f.schedule_id = $1 AND s.status = 'succeeded'",
            schedule_id,
        )
        return job is not None

    await eventually(fired_and_done, timeout=30)

    erase = await api.delete("/v1/org/data", headers=tenant.headers)
    assert erase.status_code == 202, erase.text

    async def erased() -> bool:
        status: str = (await api.get(erase.json()["status_url"], headers=tenant.headers)).json()["status"]
        return status == "done"

    await eventually(erased, timeout=30, interval=0.2)
    assert (await api.get("/v1/scans", headers=tenant.headers)).json()["items"] == []
    assert not failed_rounds, [record.getMessage() for record in failed_rounds]


async def test_retention_detaches_and_drops_days_through_pgbouncer(bounced_pool: asyncpg.Pool) -> None:
    # DETACH PARTITION … CONCURRENTLY commits inside itself: it must run as a statement of its own.
    tenant = await make_tenant(bounced_pool)
    old, kept = date(2021, 5, 1), date(2021, 5, 2)
    for day in (old, kept):
        await finished_scan(bounced_pool, tenant.org.id, datetime.combine(day, time(12), tzinfo=UTC))
    dropped = await retention.drop_before(bounced_pool, kept)
    assert {part.name for part in dropped} == {f"{table}_{old:%Y%m%d}" for table in PARTITIONED_TABLES}
    assert {f"{table}_{kept:%Y%m%d}" for table in PARTITIONED_TABLES} <= {
        part.name for part in await retention.day_partitions(bounced_pool)
    }
