"""Submissions made together share one statement and one commit, and keep every guarantee a lone one has: one
scan per URL in flight, and no wait for a URL whose lock another transaction holds."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest

from scanfleet.broker.gate import Admission, Gate
from scanfleet.broker.keys import job_id
from scanfleet.db import orgs, scans
from scanfleet.db.store import SUBMITTING, PgJobStore
from scanfleet.lifecycle import NotMade
from scanfleet.tiers import Limits
from tests.conftest import Tenant
from tests.support.app import lifecycle
from tests.support.site import eventually
from tests.support.submissions import made_together


def urls(count: int) -> list[str]:
    run = uuid.uuid4().hex[:8]
    return [f"https://group-{run}.example/{n}" for n in range(count)]


async def test_submissions_made_together_commit_together(
    pool: asyncpg.Pool, tenant: Tenant, caplog: pytest.LogCaptureFixture
) -> None:
    # The first goes at once, alone; the rest arrive meanwhile and go as one batch.
    assert await made_together(pool, tenant.org.id, 30, caplog) <= SUBMITTING + 1


async def test_a_retried_submission_finds_its_own_scan_and_is_no_reuse(pool: asyncpg.Pool, tenant: Tenant) -> None:
    # A batch that failed for a reason of its own has each submission made again alone, with the same scan id.
    (url,) = urls(1)
    item = scans.Submission(tenant.org.id, url, "http", 0)
    first, reused = await scans.submit(pool, item)
    assert (first.id, reused) == (item.scan_id, None)
    again, reused = await scans.submit(pool, item)
    assert (again.id, reused) == (first.id, None)
    other, reused = await scans.submit(pool, scans.Submission(tenant.org.id, url, "http", 0))
    assert (other.id, reused) == (first.id, "in_flight")


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
    job, reused = await asyncio.wait_for(PgJobStore(pool).create_scan(tenant.org.id, busy, "http", 0), 10)
    assert (job.id, reused) == (fired.id, "in_flight")  # once the lock is free


async def test_a_submission_waiting_for_a_held_lock_holds_up_no_other(pool: asyncpg.Pool, tenant: Tenant) -> None:
    store, (busy, *free) = PgJobStore(pool), urls(8)
    async with pool.acquire() as conn, conn.transaction():
        fired, _ = await scans.find_or_insert(conn, tenant.org.id, busy, "http", 0)
        waiting = asyncio.create_task(store.create_scan(tenant.org.id, busy, "http", 0))

        async def waiting_on_the_lock() -> bool:
            return bool(await pool.fetchval(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                " AND ((classid::bigint << 32) | objid::bigint) = hashtextextended($1, 0)",
                f"{tenant.org.id}{busy}",
            ))  # fmt: skip

        await eventually(waiting_on_the_lock)
        made = await asyncio.wait_for(
            asyncio.gather(*(store.create_scan(tenant.org.id, url, "http", 0) for url in free)), 10
        )
        assert [job.url for job, _ in made] == free and not waiting.done()
    assert (await waiting)[0].id == fired.id


async def test_many_urls_submitted_at_once_whose_one_row_fails_admit_every_other_and_answer_it_alone(
    pool: asyncpg.Pool, gate: Gate, tenant: Tenant
) -> None:
    *good, bad = urls(4)
    bad += "\x00"  # PostgreSQL's text holds no NUL: this row, and the batch it is in, fail
    life = lifecycle(pool, gate)
    *made, failed = await life.submit_scans(tenant.org.id, tenant.org.limits, [*good, bad], "http", 0, {})
    assert isinstance(failed, NotMade) and isinstance(failed.cause, asyncpg.PostgresError)
    assert [entry[1] for entry in made if isinstance(entry, tuple)] == [None] * len(good)
    rows = await pool.fetch("SELECT id FROM scans WHERE url = ANY($1)", good)
    assert len(rows) == len(good)
    assert await gate.states([job_id(row["id"]) for row in rows]) == ["dispatched"] * len(good)


async def test_urls_none_of_whose_rows_can_be_made_fail_the_call(
    pool: asyncpg.Pool, gate: Gate, tenant: Tenant
) -> None:
    targets = [url + "\x00" for url in urls(3)]
    with pytest.raises(asyncpg.PostgresError):
        await lifecycle(pool, gate).submit_scans(tenant.org.id, tenant.org.limits, targets, "http", 0, {})


async def test_a_url_given_twice_whose_scan_the_full_line_refused_is_refused_twice(
    pool: asyncpg.Pool, gate: Gate, tenant: Tenant
) -> None:
    await orgs.set_capacity(pool, tenant.org.id, "pro", 0, 2)  # nothing runs; two may queue
    limits = await orgs.get(pool, tenant.org.id)
    assert limits is not None
    a, b, c = urls(3)
    outcomes = await lifecycle(pool, gate).submit_scans(tenant.org.id, limits.limits, [a, b, c, c], "http", 0, {})
    assert [type(entry).__name__ for entry in outcomes] == ["tuple", "tuple", "Refused", "Refused"]
    assert outcomes[2] is outcomes[3]
    assert await pool.fetchval("SELECT count(*) FROM scans WHERE url = $1", c) == 0


async def test_urls_cancelled_part_way_through_admission_leave_no_row_the_gate_never_got(
    pool: asyncpg.Pool, gate: Gate, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    admitted: list[str] = []
    stalled = asyncio.Event()
    admit = gate.admit

    async def first_only(
        org_id: uuid.UUID, job: str, payload: bytes, limits: Limits, *, force: bool = False
    ) -> Admission:
        if admitted:
            stalled.set()
            await asyncio.Event().wait()  # until cancelled
        admitted.append(job)
        return await admit(org_id, job, payload, limits, force=force)

    monkeypatch.setattr(gate, "admit", first_only)
    targets = urls(4)
    call = asyncio.create_task(
        lifecycle(pool, gate).submit_scans(tenant.org.id, tenant.org.limits, targets, "http", 0, {})
    )
    await asyncio.wait_for(stalled.wait(), 10)
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    rows = await pool.fetch("SELECT id FROM scans WHERE url = ANY($1)", targets)
    assert [job_id(row["id"]) for row in rows] == admitted
