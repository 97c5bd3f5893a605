"""Scheduler rounds: partitions made ahead; the gate reconciled against PostgreSQL; dead workers' jobs reaped."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from arq.constants import in_progress_key_prefix, job_key_prefix

from scanfleet import ids
from scanfleet.broker import jobs, keys
from scanfleet.broker.decode import reply
from scanfleet.broker.gate import Gate
from scanfleet.config import Settings
from scanfleet.db import scans
from scanfleet.model import Job, Status
from scanfleet.scheduler import partitions, reaper, reconcile
from scanfleet.tiers import limits_for
from tests.conftest import Tenant
from tests.support.app import lifecycle


async def _reconcile(pool: asyncpg.Pool, gate: Gate, settings: Settings) -> Counter[str]:
    return await reconcile.reconcile(lifecycle(pool, gate), {"http": gate}, settings)


async def test_partitions_are_made_ahead(pool: asyncpg.Pool, settings: Settings) -> None:
    ahead = settings.model_copy(update={"partition_premake_days": 6})
    await partitions.make_partitions(pool, ahead)
    horizon = datetime.now(UTC).date() + timedelta(days=6)
    for table in ("scans", "evidence", "issues"):
        assert await pool.fetchval("SELECT to_regclass($1) IS NOT NULL", f"{table}_{horizon:%Y%m%d}")
    assert await partitions.make_partitions(pool, ahead) == 0  # already there: nothing to do


async def _accepted_a_minute_ago(pool: asyncpg.Pool, tenant: Tenant) -> Job:
    return await scans.insert(pool, tenant.org.id, "http://127.0.0.1:9/", scan_id=ids.new_id(at=_ago(60)))


async def test_scan_the_gate_lost_is_readmitted_once(
    pool: asyncpg.Pool, gate: Gate, settings: Settings, tenant: Tenant
) -> None:
    # Accepted a minute ago; Redis has since lost everything about it (a restart without its data).
    scan = await _accepted_a_minute_ago(pool, tenant)
    job_id = keys.job_id(scan.id)

    await _reconcile(pool, gate, settings)
    assert await gate.states([job_id]) == ["dispatched"]
    assert await gate.redis.zscore(gate.keys.queue, job_id) is not None
    await _reconcile(pool, gate, settings)  # the next round finds it held and leaves it alone
    members = await gate.redis.zrange(gate.keys.queue, 0, -1)
    assert members.count(job_id.encode()) == 1
    assert (await gate.usage(tenant.org.id)).running == 1


async def test_slot_held_for_a_finished_scan_is_freed(
    pool: asyncpg.Pool, gate: Gate, settings: Settings, tenant: Tenant
) -> None:
    # The worker wrote the result and died before telling the gate: the slot would leak.
    done, waiting = await _accepted_a_minute_ago(pool, tenant), await _accepted_a_minute_ago(pool, tenant)
    limits = limits_for("pro", max_running=1)
    for scan in (done, waiting):
        await gate.admit(tenant.org.id, keys.job_id(scan.id), jobs.payload("privacy", scan.id), limits)
    await gate.redis.zadd(gate.keys.prefix + "jobs", {keys.job_id(done.id): 0})  # admitted long ago
    await scans.cancel(pool, tenant.org.id, done.id)

    counts = await _reconcile(pool, gate, settings)
    assert counts["released"] >= 1
    assert await gate.states([keys.job_id(done.id), keys.job_id(waiting.id)]) == [None, "dispatched"]


async def test_every_held_job_is_reconciled_however_many_there_are(
    pool: asyncpg.Pool, gate: Gate, settings: Settings, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reconcile, "BATCH", 1)  # pages of one: the ended scans sit behind many pages
    accepted = [await _accepted_a_minute_ago(pool, tenant) for _ in range(13)]
    for scan in accepted:
        await gate.admit(tenant.org.id, keys.job_id(scan.id), jobs.payload("privacy", scan.id), tenant.org.limits)
    for n, scan in enumerate(accepted):
        await gate.redis.zadd(gate.keys.prefix + "jobs", {keys.job_id(scan.id): n})  # admitted long ago, in this order
    ended = accepted[1::2]
    for scan in ended:
        await scans.cancel(pool, tenant.org.id, scan.id)

    counts = await _reconcile(pool, gate, settings)

    assert counts["released"] == len(ended)
    states = await gate.states([keys.job_id(scan.id) for scan in accepted])
    assert [state is None for state in states] == [n % 2 == 1 for n in range(13)]


async def test_dispatched_job_whose_body_arq_lost_is_requeued(
    pool: asyncpg.Pool, gate: Gate, settings: Settings, tenant: Tenant
) -> None:
    scan = await _accepted_a_minute_ago(pool, tenant)
    job_id = keys.job_id(scan.id)
    await gate.admit(tenant.org.id, job_id, jobs.payload("privacy", scan.id), tenant.org.limits)
    await gate.redis.zadd(gate.keys.prefix + "jobs", {job_id: 0})
    await gate.redis.delete(job_key_prefix + job_id)  # expired after a day of backlog, say

    counts = await _reconcile(pool, gate, settings)
    assert counts["requeued"] >= 1
    assert await reply(gate.redis.get(job_key_prefix + job_id)) == await reply(
        gate.redis.hget(gate.keys.prefix + "job:" + job_id, "payload")
    )


async def test_scan_whose_worker_died_on_every_try_ends_failed(
    pool: asyncpg.Pool, gate: Gate, settings: Settings, tenant: Tenant
) -> None:
    scan = await scans.insert(pool, tenant.org.id, "http://127.0.0.1:9/")
    for _ in range(settings.job_max_tries):
        assert await scans.claim(pool, scan.id, lease_seconds=0) is not None  # each try dies at once

    counts = await _reconcile(pool, gate, settings.model_copy(update={"requeue_after_seconds": 0.001}))
    ended = await scans.get(pool, tenant.org.id, scan.id)
    assert counts["exhausted"] >= 1
    assert ended is not None and ended.status is Status.FAILED and ended.error_code == "attempts_exhausted"
    assert await gate.states([keys.job_id(scan.id)]) == [None]


async def test_reaper_requeues_the_job_of_a_worker_that_stopped_renewing(gate: Gate, tenant: Tenant) -> None:
    job_id = keys.job_id(ids.new_id())
    await gate.admit(tenant.org.id, job_id, b"body", tenant.org.limits)
    await gate.start(job_id, lease_seconds=-1)  # a deadline already past: its worker is gone
    await gate.redis.set(in_progress_key_prefix + job_id, b"1", ex=60)

    assert await reaper.reap(gate) == [job_id]
    assert await gate.redis.exists(in_progress_key_prefix + job_id) == 0
    assert await reaper.reap(gate) == []


def _ago(seconds: float) -> datetime:
    return datetime.now(UTC) - timedelta(seconds=seconds)
