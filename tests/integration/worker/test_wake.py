"""An idle worker starts a dispatched job at once: the gate wakes it, it does not wait for its next poll."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import uuid
from unittest import mock

import asyncpg

from scanfleet.broker import connection, jobs, keys
from scanfleet.broker.decode import reply
from scanfleet.broker.gate import Gate
from scanfleet.config import Settings
from scanfleet.db import scans
from tests.conftest import make_tenant, own_redis
from tests.support.site import FixtureSite, eventually, html
from tests.support.wakeups import waiting_for_wakeups

POLL_SECONDS = 60.0
DEADLINE_SECONDS = 8.0


async def test_dispatch_wakes_an_idle_worker(pool: asyncpg.Pool, settings: Settings, site: FixtureSite) -> None:
    from scanfleet.worker.app import build_worker

    slow_polling = own_redis(settings, 2, __name__).model_copy(update={"worker_poll_delay_seconds": POLL_SECONDS})
    redis = await connection.connect(slow_polling)
    await redis.flushdb()
    gate = Gate(redis)
    worker = build_worker(slow_polling, handle_signals=False)
    running = asyncio.create_task(worker.async_run())
    try:
        tenant = await make_tenant(pool)
        url = site.add(f"/wake-{uuid.uuid4().hex[:6]}", html("<html></html>"))

        await eventually(lambda: waiting_for_wakeups(redis, slow_polling))
        for _ in range(3):
            scan = await scans.insert(pool, tenant.org.id, url)
            await gate.admit(tenant.org.id, keys.job_id(scan.id), jobs.payload("privacy", scan.id), tenant.org.limits)
            # Polling alone would find it within the deadline once in 7.5 (all three times: 1 in 420); woken,
            # the worker starts it at once, leaving the deadline to a slow machine.
            await eventually(functools.partial(scans.is_final, pool, scan.id), timeout=DEADLINE_SECONDS)
        assert await reply(redis.llen(gate.keys.wake)) == 0  # each token woke the worker, none is left over
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
        await worker.close()
        await redis.flushdb()
        await redis.aclose()


async def test_a_timed_poll_right_after_a_woken_take_is_skipped(settings: Settings) -> None:
    # The woken take looked at every ready job and abort a moment ago: polling again now would find nothing new.
    from scanfleet.worker.app import build_worker

    polling = own_redis(settings, 2, __name__).model_copy(update={"worker_poll_delay_seconds": POLL_SECONDS})
    redis = await connection.connect(polling)
    worker = build_worker(polling, handle_signals=False)
    worker._pool = redis  # what main() connects first
    takes = 0
    real_take = Gate.take

    async def counted(self: Gate, *args: object, **kwargs: object) -> object:
        nonlocal takes
        takes += self.redis is redis  # this worker's, not those of a worker other tests left running
        return await real_take(self, *args, **kwargs)  # type: ignore[arg-type]

    try:
        with mock.patch.object(Gate, "take", counted):
            await worker._woken_look()  # as a wake-up token makes it look
            await worker._poll_iteration()  # the timed poll, within the poll delay
            assert takes == 1
            worker._looked_at -= POLL_SECONDS  # a poll delay later, with no take since
            await worker._poll_iteration()
            await worker._poll_iteration()  # a timed poll's own look holds off no other
            assert takes == 3
    finally:
        await worker.close()
        await redis.flushdb()
        await redis.aclose()
