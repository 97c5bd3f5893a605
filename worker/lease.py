"""A running job's lease, renewed while the job runs: if the worker dies, renewals stop and it expires."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from scanfleet.gate.gate import Gate

log = logging.getLogger(__name__)


async def _renew_forever(gate: Gate, job_id: str, lease_seconds: float) -> None:
    while True:
        await asyncio.sleep(lease_seconds / 3)
        try:
            await gate.renew(job_id, lease_seconds)
        except Exception:
            # One missed renewal is not fatal: the lease has two more periods to run.
            log.warning("could not renew the lease of %s", job_id, exc_info=True)


@contextlib.asynccontextmanager
async def leased(gate: Gate, job_id: str, lease_seconds: float) -> AsyncIterator[None]:
    await gate.start(job_id, lease_seconds)
    renewer = asyncio.create_task(_renew_forever(gate, job_id, lease_seconds))
    try:
        yield
    finally:
        renewer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await renewer
