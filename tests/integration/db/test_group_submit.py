"""Submissions made together share one statement and one commit, and keep every guarantee a lone one has: one
scan per URL in flight, and no wait for a URL whose lock another transaction holds."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg

from scanfleet.db import scans
from scanfleet.db.store import SUBMITTING, PgJobStore
from tests.conftest import Tenant
from tests.support.site import eventually


def urls(count: int) -> list[str]:
    run = uuid.uuid4().hex[:8]
    return [f"https://group-{run}.example/{n}" for n in range(count)]


async def test_submissions_made_together_commit_together(pool: asyncpg.Pool, tenant: Tenant) -> None:
    store, targets = PgJobStore(pool), urls(30)
    made = await asyncio.gather(*(store.create_scan(tenant.org.id, url, "http", 0) for url in targets))
    assert [job.url for job, _ in made] == targets and all(reused is None for _, reused in made)
    transactions = await pool.fetchval(
        "SELECT count(DISTINCT xmin::text) FROM scans WHERE id = ANY($1)", [job.id for job, _ in made]
    )
    # The first few go alone, each in a slot; the rest arrive meanwhile and go as one batch.
    assert transactions <= SUBMITTING + 1


async def test_one_url_submitted_many_times_together_is_one_scan(pool: asyncpg.Pool, tenant: Tenant) -> None:
    store, (url,) = PgJobStore(pool), urls(1)
    made = await asyncio.gather(*(store.create_scan(tenant.org.id, url, "http", 0) for _ in range(12)))
    assert len({job.id for job, _ in made}) == 1
    assert sorted(reused or "new" for _, reused in made) == ["in_flight"] * 11 + ["new"]
    assert await pool.fetchval("SELECT count(*) FROM scans WHERE org_id = $1 AND url = $2", tenant.org.id, url) == 1


async def test_a_batch_leaves_out_a_url_whose_lock_is_held_and_commits_the_rest(
    pool: asyncpg.Pool, tenant: Tenant
) -> None:
    busy, *free = urls(6)
    async with pool.acquire() as conn, conn.transaction():
        fired, _ = await scans.find_or_insert(conn, tenant.org.id, busy, "http", 0)  # as a schedule's fire does
        made = await scans.submit_many(pool, [scans.Submission(tenant.org.id, url, "http", 0) for url in [busy, *free]])
        assert made[0] is None  # left out: not waited for
        assert [entry and entry[0].url for entry in made[1:]] == free
        committed = await pool.fetchval("SELECT count(*) FROM scans WHERE url = ANY($1)", free)
        assert committed == len(free)  # while the lock is still held
    alone = asyncio.create_task(PgJobStore(pool).create_scan(tenant.org.id, busy, "http", 0))
    job, reused = await asyncio.wait_for(alone, 10)
    assert (job.id, reused) == (fired.id, "in_flight")


async def test_a_submission_waiting_for_a_held_lock_holds_up_no_other(pool: asyncpg.Pool, tenant: Tenant) -> None:
    store, (busy, *free) = PgJobStore(pool), urls(8)
    async with pool.acquire() as conn, conn.transaction():
        fired, _ = await scans.find_or_insert(conn, tenant.org.id, busy, "http", 0)
        waiting = asyncio.create_task(store.create_scan(tenant.org.id, busy, "http", 0))

        async def waiting_on_the_lock() -> bool:
            return bool(
                await pool.fetchval("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
            )

        await eventually(waiting_on_the_lock)
        made = await asyncio.wait_for(
            asyncio.gather(*(store.create_scan(tenant.org.id, url, "http", 0) for url in free)), 10
        )
        assert [job.url for job, _ in made] == free and not waiting.done()
    assert (await waiting)[0].id == fired.id
