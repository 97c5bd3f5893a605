"""A Redis restart does not end a worker: it waits Redis out and takes jobs again, its slots intact, woken by
dispatches again."""

from __future__ import annotations

import asyncio

import asyncpg

from scanfleet.broker import connection, jobs, keys
from scanfleet.broker.gate import Gate
from scanfleet.broker.worker import FleetWorker
from scanfleet.config import Settings
from scanfleet.embedded import EmbeddedValkey
from tests.conftest import make_tenant
from tests.integration.worker.test_retries_and_breakers import PAGE, finished
from tests.support.app import running_worker
from tests.support.site import FixtureSite, eventually
from tests.support.wakeups import waiting_for_wakeups


async def test_a_worker_rides_out_a_redis_restart(
    pool: asyncpg.Pool, settings: Settings, own_valkey: EmbeddedValkey, site: FixtureSite
) -> None:
    own = settings.model_copy(update={"redis_url": own_valkey.url()})
    tenant = await make_tenant(pool)
    url = site.add("/through-a-restart", PAGE)
    redis = await connection.connect(own)
    gate = Gate(redis)

    async def scan_once() -> str:
        from scanfleet.db import scans

        scan = await scans.insert(pool, tenant.org.id, url)
        await gate.admit(tenant.org.id, keys.job_id(scan.id), jobs.payload("privacy", scan.id), tenant.org.limits)
        return (await finished(pool, gate, scan.id)).status.value

    try:
        async with running_worker(own) as worker:
            assert await scan_once() == "succeeded"

            await asyncio.to_thread(own_valkey.stop)
            await eventually(lambda: _failing(worker), timeout=10)
            await asyncio.to_thread(own_valkey.start)

            # The wake-up listener waits on the gate's tokens again.
            await eventually(lambda: waiting_for_wakeups(redis, own), timeout=10)
            assert await scan_once() == "succeeded"
            assert worker.main_task is not None and not worker.main_task.done()  # the same worker, never restarted
            # No slot lost to the polls the outage cut short: once idle, it counts none taken. (Until its
            # job's task ends, and while a poll looks at that job, the count is above zero.)
            await eventually(lambda: _idle(worker), timeout=10)
    finally:
        await redis.aclose()


async def _failing(worker: FleetWorker) -> bool:
    return worker._redis_failures > 0


async def _idle(worker: FleetWorker) -> bool:
    return worker.job_counter == 0 and all(task.done() for task in worker.tasks.values())
