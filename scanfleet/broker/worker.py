"""arq's worker as the fleet runs it. Everything that reaches into arq's worker lives here.

- arq stops picking jobs on SIGTERM but tells no one; its tasks need to know (no new work, no un-pausing).
- arq lets any Redis error in its poll loop end the process, so a one-second Redis restart would restart the
  whole fleet. Here a failed poll is logged, waited out with backoff and retried; jobs whose start or end was
  cut by the outage are the lease reaper's to recover, as after a crash.
- arq's poll reads its queue from the head, and that queue holds every running job too: on a busy fleet each
  poll checks the running jobs ahead of a new one (two round trips each). A worker on the gate's line polls the
  gate's ready jobs instead (`Gate.take`: one script that takes them and marks them in progress as arq would,
  and reads arq's abort set), never a running one. The gate leaves a wake-up token per job it makes ready;
  `wake_on_dispatch` blocks on them while the worker has a free slot, so one dispatch wakes one idle worker,
  at once. Timed polling stays as the fallback (a Redis outage until the listener is back), and is skipped
  while a woken take has looked within the poll delay, as it would find nothing new. A dispatched job no
  worker can see (put in arq's queue by an older release, say) is re-dispatched by reconciliation.
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
from scanfleet.broker.decode import reply
from scanfleet.broker.gate import Gate
from scanfleet.broker.jobs import TASKS
from scanfleet.broker.keys import ABORTS, WORKERS, GateKeys
from scanfleet.liveness import LoopWatch

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 5.0
WAKE_WAIT_SECONDS = 1  # an idle worker's wait on the wake-up tokens is renewed this often (one BLPOP)

REDIS_DOWN = (RedisError, OSError)  # what a Redis that is away or restarting raises
# Trying Redis again while it is away: soon, then no more than every 2 s.
REDIS_AWAY = Backoff(base_seconds=0.05, cap_seconds=2.0)


class FleetWorker(Worker):
    """`line`: the gate whose ready jobs this worker takes; None polls arq's queue as arq does (plain arq)."""

    def __init__(self, *, line: GateKeys | None = None, loop_watch: LoopWatch | None = None, **options: Any) -> None:
        self.draining = asyncio.Event()
        self._redis_failures = 0
        self._loop_watch = loop_watch
        self._line = line
        self._room = asyncio.Event()  # set when a slot may have freed: the wake-up listener looks again
        self._taking = asyncio.Lock()  # one take at a time, so two polls never count the same free slot
        self._looked_at = -float("inf")  # when a take a wake-up started last looked at the ready jobs (monotonic)
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
        self._room.set()

    def _free_slots(self) -> int:
        return max(self.max_jobs - self.job_counter, 0) if self.allow_pick_jobs else 0

    def _release_sem_dec_counter_on_complete(self) -> None:
        super()._release_sem_dec_counter_on_complete()
        self._room.set()

    def export_slots(self) -> None:
        metrics.WORKER_MAX_SLOTS.set(self.max_jobs)
        # Read at scrape time, so the gauge is never a sample's worth stale.
        metrics.WORKER_BUSY_SLOTS.set_function(lambda: len(self.job_tasks))
        # A hand-back happens as a worker exits, maybe after its last scrape: the series must exist from the start.
        for task in TASKS:
            metrics.JOBS_HANDED_BACK.labels(task)

    async def wake_on_dispatch(self, redis: Redis, keys: GateKeys) -> None:
        """Take a job as soon as the gate makes one ready, for as long as the worker runs: while it has a free
        slot, block on the gate's wake-up tokens (each token wakes one worker). A Redis outage cuts the wait:
        polling covers the gap, and the listener waits again once Redis answers."""
        failures = 0
        while True:
            try:
                self._room.clear()  # before looking: a slot freed after the look sets it again
                while not self._free_slots():
                    await self._room.wait()
                    self._room.clear()
                if await reply(redis.blpop([keys.wake], timeout=WAKE_WAIT_SECONDS)) is not None:
                    await self._woken_look()
                if failures:
                    log.info("dispatch wake-ups resumed")
                    failures = 0
                continue
            except REDIS_DOWN as exc:
                failures += 1
                if failures == 1:
                    log.warning("dispatch wake-ups paused (%s): polling until Redis answers", exc)
            except Exception:
                # Losing the wake-ups only costs latency: polling still finds every job.
                log.warning("dispatch wake-ups stopped; falling back to polling", exc_info=True)
                return
            await asyncio.sleep(REDIS_AWAY.wait(failures))

    async def _poll_iteration(self) -> None:
        """arq's timed poll. On the gate's line it is the fallback of the wake-ups: skipped while a take they
        started has looked within the poll delay, since that look saw every ready job and every abort (so a job
        no token announces, or an abort, waits at most twice the poll delay)."""
        if self._line is not None and time.monotonic() - self._looked_at < self.poll_delay_s:
            return
        await self._look()

    async def _woken_look(self) -> None:
        """The look a wake-up token asked for; once it has answered, timed polls need not look for a while."""
        looking = time.monotonic()
        if await self._look():
            self._looked_at = looking

    async def _look(self) -> bool:
        """One look at the queue (the gate's ready jobs, or arq's queue); False when Redis did not answer."""
        try:
            if self._line is None:
                await super()._poll_iteration()
            else:
                await self._take_iteration(self._line)
        except REDIS_DOWN as exc:
            self._redis_failures += 1
            if self._redis_failures == 1:
                log.warning("Redis unavailable (%s): waiting for it, running jobs go on", exc)
            await self._recount_slots()
            await asyncio.sleep(REDIS_AWAY.wait(self._redis_failures))
            return False
        if self._redis_failures:
            log.info("Redis answers again after %d failed polls", self._redis_failures)
            self._redis_failures = 0
        return True

    async def _take_iteration(self, line: GateKeys) -> None:
        """arq's poll iteration, on the gate's ready jobs: take what fits, cancel what is aborted, forget ended
        tasks, beat arq's health check."""
        async with self._taking:
            taken, aborts = await Gate(self.pool, line).take(self._free_slots(), int(self.in_progress_timeout_s * 1000))
            for job_id, score in taken:
                await self.sem.acquire()  # free: the slot was counted before the take
                self.job_counter += 1
                run = self.loop.create_task(self.run_job(job_id, score))
                run.add_done_callback(lambda _: self._release_sem_dec_counter_on_complete())
                self.tasks[job_id] = run
        if self.allow_abort_jobs:
            await self._abort(aborts)
        for job_id, run in list(self.tasks.items()):
            if run.done():
                del self.tasks[job_id]
                run.result()  # as arq does: an error of run_job's own surfaces here
        await self.heart_beat()

    async def _abort(self, job_ids: list[str]) -> None:
        """arq's abort step, given the abort set's ids: cancel the ones running here."""
        aborted = {job_id for job_id in job_ids if job_id in self.job_tasks}
        for job_id in aborted:
            self.job_tasks[job_id].cancel()
        if aborted:
            self.aborting_tasks.update(aborted)
            await self.pool.zrem(ABORTS, *aborted)

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
