"""PostgreSQL going away must not fail jobs: results wait in the worker, and new jobs wait in the queue.

Writes go through `OutageGuard.write`: while the database is unreachable it retries with backoff (the job
keeps its lease meanwhile) and counts the failures on a breaker shared by every worker. While that
breaker is open, `pause_while_down` stops this worker from taking jobs; when it half-opens, one worker
fleet-wide probes the database, and success lets every worker take jobs again.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg

from scanfleet import metrics
from scanfleet.backoff import Backoff
from scanfleet.breakers import SharedBreakers
from scanfleet.broker.worker import FleetWorker
from scanfleet.db.errors import unavailable

log = logging.getLogger(__name__)

T = TypeVar("T")
PRIMARY = "primary"
_CHECK_SECONDS = 0.5


def _half_jitter() -> float:
    # At least half the backoff: a database coming back is retried soon, by workers spread over the other half.
    return random.uniform(0.5, 1.0)  # noqa: S311


class OutageGuard:
    def __init__(self, pool: asyncpg.Pool, breaker: SharedBreakers, hold_seconds: float, reset_seconds: float) -> None:
        self.pool = pool
        self.breaker = breaker
        self.hold_seconds = hold_seconds
        self.reset_seconds = reset_seconds
        self._failing = False  # a failure was recorded since the last success: the next success closes it
        # The hold time, not a count of attempts, ends the retries; waits stay within the circuit's reset.
        self._backoff = Backoff(base_seconds=0.2, cap_seconds=reset_seconds)

    async def write(self, operation: Callable[[], Awaitable[T]]) -> T:
        """Run a database operation until it succeeds; give up (raise) only after hold_seconds."""
        deadline = time.monotonic() + self.hold_seconds
        waits = 0
        while True:
            try:
                result = await operation()
            except Exception as exc:
                if not unavailable(exc) or time.monotonic() > deadline:
                    raise
                if waits == 0:
                    log.warning("PostgreSQL unavailable (%s); holding the result until it is back", exc)
                    metrics.RESULTS_PENDING.inc()
                await self.failed()
                waits += 1
                await asyncio.sleep(self._backoff.wait(waits, rng=_half_jitter))
                continue
            if waits:
                metrics.RESULTS_PENDING.dec()
                log.info("PostgreSQL is back; the held result is written")
            await self.succeeded()
            return result

    async def failed(self) -> None:
        self._failing = True
        await self.breaker.record(PRIMARY, False)

    async def succeeded(self) -> None:
        if self._failing:
            self._failing = False
            await self.breaker.record(PRIMARY, True)

    async def retry_at(self) -> float:
        """When a job that found the database down should come back."""
        until = await self.breaker.open_until(PRIMARY)
        return until if until is not None else time.time() + self.reset_seconds

    async def probe(self) -> bool:
        try:
            await self.pool.fetchval("SELECT 1")
        except Exception as exc:
            if not unavailable(exc):
                raise
            await self.breaker.record(PRIMARY, False)
            return False
        await self.breaker.record(PRIMARY, True)
        return True


async def pause_while_down(worker: FleetWorker, guard: OutageGuard) -> None:
    """Take jobs only while PostgreSQL is reachable (and never again once draining)."""
    while not worker.draining.is_set():
        try:
            up = await guard.breaker.state(PRIMARY) == "closed"
            if not up and await guard.breaker.open_until(PRIMARY) is None:
                up = await guard.probe()  # this worker holds the fleet's trial
        except Exception:
            log.warning("could not check PostgreSQL's circuit", exc_info=True)
            up = True  # never stop the fleet because the check itself failed
        if not worker.draining.is_set() and worker.taking_jobs != up:
            log.warning("taking jobs again" if up else "PostgreSQL is down: taking no new jobs")
            worker.take_jobs(up)
        await asyncio.sleep(_CHECK_SECONDS)
