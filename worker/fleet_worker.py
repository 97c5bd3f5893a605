"""arq's worker with what a fleet needs from it: it says when a drain starts, and it rides out Redis outages.

arq stops picking jobs on SIGTERM but tells no one; its tasks need to know (no new work, no un-pausing).
arq also lets any Redis error in its poll loop end the process, so a one-second Redis restart would restart
the whole fleet. Here a failed poll is logged, waited out with backoff and retried; jobs whose start or end
was cut by the outage are the lease reaper's to recover, as after a crash.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from signal import Signals
from typing import Any

from arq import Worker
from redis.exceptions import RedisError

from scanfleet import metrics
from scanfleet.backoff import Backoff
from scanfleet.liveness import LoopWatch

log = logging.getLogger(__name__)

REDIS_DOWN = (RedisError, OSError)
# Trying Redis again while it is away: soon, then no more than every 2 s.
REDIS_AWAY = Backoff(base_seconds=0.05, cap_seconds=2.0)


class FleetWorker(Worker):
    def __init__(self, *, loop_watch: LoopWatch | None = None, **options: Any) -> None:
        self.draining = asyncio.Event()
        self._redis_failures = 0
        self._loop_watch = loop_watch
        super().__init__(**options)

    def _beating(self) -> contextlib.AbstractAsyncContextManager[None]:
        return self._loop_watch.beating() if self._loop_watch else contextlib.nullcontext()

    async def main(self) -> None:
        async with self._beating():  # from the start: connecting to Redis may take a while
            await super().main()

    def handle_sig_wait_for_completion(self, signum: Signals) -> None:
        self.draining.set()
        metrics.WORKER_DRAINING.set(1)
        super().handle_sig_wait_for_completion(signum)

    async def _poll_iteration(self) -> None:
        try:
            await super()._poll_iteration()
        except REDIS_DOWN as exc:
            self._redis_failures += 1
            if self._redis_failures == 1:
                log.warning("Redis unavailable (%s): waiting for it, running jobs go on", exc)
            await self._recount_slots()
            await asyncio.sleep(REDIS_AWAY.wait(self._redis_failures))
            return
        if self._redis_failures:
            log.info("Redis answers again after %d failed polls", self._redis_failures)
            self._redis_failures = 0

    async def _recount_slots(self) -> None:
        """arq counts a slot taken before the Redis step that failed; only running tasks hold one."""
        active = sum(not task.done() for task in self.tasks.values())
        if self.job_counter == active:
            return
        self.job_counter = active
        self.sem = asyncio.BoundedSemaphore(self.max_jobs + 1)
        for _ in range(active):
            await self.sem.acquire()

    async def close(self) -> None:
        async with self._beating():  # a drain waits for running jobs, and hand-backs may wait on PostgreSQL
            await self._close()

    async def _close(self) -> None:
        # arq's close, except that a Redis still away cannot skip on_shutdown (the database pool, the fetcher).
        if not self._handle_signals:
            self.handle_sig(signal.SIGUSR1)
        if not self._pool:
            return
        await asyncio.gather(*self.tasks.values(), return_exceptions=True)
        with contextlib.suppress(*REDIS_DOWN):
            await self.pool.delete(self.health_check_key)
        if self.on_shutdown:
            await self.on_shutdown(self.ctx)
        with contextlib.suppress(*REDIS_DOWN):
            await self.pool.close(close_connection_pool=True)
        self._pool = None
