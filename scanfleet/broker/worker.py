"""arq's worker as the fleet runs it. Everything that reaches into arq's worker lives here.

- arq stops picking jobs on SIGTERM but tells no one; its tasks need to know (no new work, no un-pausing).
- arq lets any Redis error in its poll loop end the process, so a one-second Redis restart would restart the
  whole fleet. Here a failed poll is logged, waited out with backoff and retried; jobs whose start or end was
  cut by the outage are the lease reaper's to recover, as after a crash.
- arq only polls its queue (every poll_delay). The gate announces each dispatch on a channel; `wake_on_dispatch`
  listens and runs one of arq's poll iterations at once. Polling stays as the fallback (a lost message, a job
  dispatched by plain arq, a Redis outage until the listener has subscribed again). Taking a job is arq's own
  atomic step, so an extra iteration beside the regular one cannot take a job twice.
- A worker registers its presence (sf:workers) for the fleet's count, and exports its slots.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import time
from signal import Signals
from typing import Any

from arq import Worker, func
from arq.worker import Function
from redis.asyncio import Redis
from redis.exceptions import RedisError

from scanfleet import metrics
from scanfleet.backoff import Backoff
from scanfleet.broker.jobs import TASKS
from scanfleet.broker.keys import WORKERS, GateKeys
from scanfleet.liveness import LoopWatch

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 5.0

REDIS_DOWN = (RedisError, OSError)  # what a Redis that is away or restarting raises
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

    @property
    def taking_jobs(self) -> bool:
        return bool(self.allow_pick_jobs)

    def take_jobs(self, allowed: bool) -> None:
        """Stop or resume taking new jobs (running ones go on); never resumes once draining."""
        self.allow_pick_jobs = allowed and not self.draining.is_set()

    def export_slots(self) -> None:
        metrics.WORKER_MAX_SLOTS.set(self.max_jobs)
        # Read at scrape time, so the gauge is never a sample's worth stale.
        metrics.WORKER_BUSY_SLOTS.set_function(lambda: len(self.job_tasks))
        # A hand-back happens as a worker exits, maybe after its last scrape: the series must exist from the start.
        for task in TASKS:
            metrics.JOBS_HANDED_BACK.labels(task)

    async def wake_on_dispatch(self, redis: Redis, keys: GateKeys) -> None:
        """Poll at once whenever the gate dispatches, for as long as the worker runs. A Redis outage cuts the
        subscription: polling covers the gap, and the listener subscribes again once Redis answers."""
        failures = 0
        while True:
            pubsub = redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(keys.wake)
                if failures:
                    log.info("dispatch wake-ups resumed")
                    failures = 0
                while True:
                    if await pubsub.get_message(timeout=None) is not None:
                        await self._poll_iteration()
            except REDIS_DOWN as exc:
                failures += 1
                if failures == 1:
                    log.warning("dispatch wake-ups paused (%s): polling until Redis answers", exc)
            except Exception:
                # Losing the wake-ups only costs latency: arq's polling still finds every job.
                log.warning("dispatch wake-ups stopped; falling back to polling", exc_info=True)
                return
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py leaves it unannotated
            await asyncio.sleep(REDIS_AWAY.wait(failures))

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


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


async def announce(redis: Redis, name: str, registry: str = WORKERS) -> None:
    """Heartbeat this worker's registration (in `registry`: WORKERS, or BROWSER_WORKERS) until cancelled, then
    withdraw it."""
    try:
        while True:
            try:
                await redis.zadd(registry, {name: int(time.time() * 1000)})
            except Exception:
                log.warning("could not register this worker", exc_info=True)
            await asyncio.sleep(HEARTBEAT_SECONDS)
    finally:
        with contextlib.suppress(Exception):
            await asyncio.shield(redis.zrem(registry, name))


def task(coroutine: Any, name: str, timeout: float) -> Function:
    """One of the worker's tasks, as arq registers it."""
    return func(coroutine, name=name, timeout=timeout)
