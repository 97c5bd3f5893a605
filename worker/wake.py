"""Wake an idle worker the moment the gate dispatches a job, instead of at its next poll.

arq only polls its queue (every poll_delay). The gate announces each dispatch on a channel; this task
listens and runs one of arq's poll iterations at once. Polling stays as the fallback (a lost message,
a job dispatched by plain arq). Taking a job is arq's own atomic step, so an extra iteration running
beside the regular one cannot take a job twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from arq import Worker

from scanfleet.gate.gate import Gate

log = logging.getLogger(__name__)


async def wake_on_dispatch(worker: Worker, gate: Gate) -> None:
    pubsub = gate.redis.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(gate.wake_channel)
    busy = asyncio.Lock()
    try:
        while True:
            message = await pubsub.get_message(timeout=None)
            if message is None or busy.locked():
                continue  # an iteration is under way: it will see this job too
            async with busy:
                # arq has no public "poll now"; its iteration is what its own loop calls.
                await worker._poll_iteration()
    except asyncio.CancelledError:
        raise
    except Exception:
        # Losing the wake-ups only costs latency: arq's polling still finds every job.
        log.warning("dispatch wake-ups stopped; falling back to polling", exc_info=True)
    finally:
        with contextlib.suppress(Exception):
            await pubsub.aclose()
