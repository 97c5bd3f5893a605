"""Running a job under the capacity gate: a lease renewed while it runs, its slot freed when it ends.

If the worker dies, renewals stop, the lease expires and the scheduler's reaper requeues the job. A job
may also end by being set aside (`Deferred`): its slot is freed and the gate brings it back at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from scanfleet.gate.gate import Gate

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Deferred:
    """Run this job again at `until` (epoch seconds), without its having used a try."""

    until: float
    reason: str  # breaker (its target's circuit is open), platform (a dependency is down), retry (backoff)
    waiting_on: str = ""  # what may end before `until` and bring the job back sooner (a circuit closing)


async def _renew_forever(gate: Gate, job_id: str, lease_seconds: float) -> None:
    while True:
        await asyncio.sleep(lease_seconds / 3)
        try:
            await gate.renew(job_id, lease_seconds)
        except Exception:
            # One missed renewal is not fatal: the lease has two more periods to run.
            log.warning("could not renew the lease of %s", job_id, exc_info=True)


async def run_gated(
    gate: Gate,
    job_id: str,
    lease_seconds: float,
    body: Callable[[], Awaitable[str | Deferred]],
    ended_if_cancelled: Callable[[], Awaitable[bool]],
    hand_back: Callable[[], Awaitable[None]],
) -> str:
    """Run `body` holding the job's lease; free its slot when it ends, or set it aside if it deferred.

    A job that raises keeps its slot: arq retries it. Cancelled, it frees the slot only if it really ended
    (`ended_if_cancelled`: an abort by the user); cancelled by a stopping worker, it is handed back for
    another worker (`hand_back`) and keeps its slot.
    """
    started = time.perf_counter()
    holder = uuid.uuid4().hex  # this run: if its lease is reaped and the job runs elsewhere, its steps no-op
    await gate.start(job_id, lease_seconds, holder)
    renewer = asyncio.create_task(_renew_forever(gate, job_id, lease_seconds))
    try:
        result = await body()
    except asyncio.CancelledError:
        await asyncio.shield(_cancelled(gate, job_id, holder, ended_if_cancelled, hand_back))
        raise
    finally:
        renewer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await renewer
    if isinstance(result, Deferred):
        await gate.defer(job_id, result.until, result.waiting_on, holder)
        return f"deferred ({result.reason})"
    await gate.finish(job_id, time.perf_counter() - started, holder)
    return result


async def _cancelled(
    gate: Gate,
    job_id: str,
    holder: str,
    ended: Callable[[], Awaitable[bool]],
    hand_back: Callable[[], Awaitable[None]],
) -> None:
    try:
        if await ended():
            await gate.finish(job_id, holder=holder)
            return
        await hand_back()
    except Exception:
        # Handed back or not, the job runs again; at worst its attempt count stays one higher.
        log.warning("could not record how %s was cancelled", job_id, exc_info=True)
    await gate.handback(job_id, holder)
