"""Running a job under the capacity gate: a lease renewed while it runs, its slot freed when it ends.

If the worker dies, renewals stop, the lease expires and the scheduler's reaper requeues the job.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from scanfleet.gate.gate import Gate

log = logging.getLogger(__name__)

T = TypeVar("T")


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
    body: Callable[[], Awaitable[T]],
    ended_if_cancelled: Callable[[], Awaitable[bool]],
) -> T:
    """Run `body` holding the job's lease; free its slot when it ends.

    A job that raises keeps its slot: arq retries it. A cancelled one frees it only if it really ended
    (`ended_if_cancelled`: an abort by the user); cancelled by a shutdown, it runs again later.
    """
    started = time.perf_counter()
    await gate.start(job_id, lease_seconds)
    renewer = asyncio.create_task(_renew_forever(gate, job_id, lease_seconds))
    try:
        result = await body()
    except asyncio.CancelledError:
        if await asyncio.shield(ended_if_cancelled()):
            await asyncio.shield(gate.finish(job_id))
        raise
    finally:
        renewer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await renewer
    await gate.finish(job_id, time.perf_counter() - started)
    return result
