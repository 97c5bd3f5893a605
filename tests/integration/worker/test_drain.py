"""SIGTERM: a worker stops taking jobs, lets short ones finish within its grace period, and hands the rest
back for another worker without using a try."""

from __future__ import annotations

import asyncio
import signal
import uuid

import asyncpg

from scanfleet.broker import keys
from scanfleet.db import scans
from tests.conftest import make_tenant
from tests.integration.worker.conftest import OwnWorkerFactory
from tests.integration.worker.test_retries_and_breakers import PAGE, finished, submit
from tests.support.site import FixtureSite, Page, eventually


def slow(seconds: float) -> Page:
    return Page(PAGE.status, PAGE.headers, PAGE.body, delay=seconds)


async def test_a_drained_worker_finishes_short_jobs_and_hands_long_ones_back(
    pool: asyncpg.Pool, own_worker: OwnWorkerFactory, site: FixtureSite
) -> None:
    tenant = await make_tenant(pool)
    short_url = site.add(f"/short-{uuid.uuid4().hex[:6]}", slow(0.1))
    long_url = site.add(f"/long-{uuid.uuid4().hex[:6]}", slow(4.0))
    # Long enough fetch limits that only the drain, never a timeout, can end the long job early.
    limits = {"scan_timeout_seconds": 10, "fetch_read_timeout_seconds": 10}
    async with own_worker(worker_grace_seconds=1.0, **limits) as first:
        short, long = await submit(pool, first, tenant, short_url), await submit(pool, first, tenant, long_url)

        async def both_running() -> bool:
            current = await scans.statuses(pool, [short, long])
            return all(status.value == "running" for status in current.values())

        await eventually(both_running)
        first.worker.handle_sig_wait_for_completion(signal.SIGTERM)
        assert not first.worker.allow_pick_jobs
        await eventually(lambda: _done(first.worker.main_task), timeout=10)
    # The worker has closed: its cancelled job recorded the hand-back on the way out.

    done = await scans.get(pool, tenant.org.id, short)
    assert done is not None and done.status.value == "succeeded" and done.attempts == 1
    handed_back = await scans.get(pool, tenant.org.id, long)
    assert handed_back is not None and handed_back.status.value == "queued" and handed_back.attempts == 0

    async with own_worker(flush=False, **limits) as second:
        assert (await second.gate.states([keys.job_id(long)]))[0] == "dispatched"
        finished_long = await finished(pool, second.gate, long)
    assert finished_long.status.value == "succeeded"
    assert (finished_long.attempts, finished_long.retries) == (1, 0)


async def _done(task: asyncio.Task[None] | None) -> bool:
    assert task is not None
    return task.done()
