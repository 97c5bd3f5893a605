"""Wake an idle worker the moment the gate dispatches a job, instead of at its next poll.

arq only polls its queue (every poll_delay). The gate announces each dispatch on a channel; this task
listens and runs one of arq's poll iterations at once. Polling stays as the fallback (a lost message,
a job dispatched by plain arq, a Redis outage until the listener has subscribed again). Taking a job is
arq's own atomic step, so an extra iteration running beside the regular one cannot take a job twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from arq import Worker

from scanfleet.gate.gate import Gate
from scanfleet.worker.fleet_worker import REDIS_AWAY, REDIS_DOWN

log = logging.getLogger(__name__)


async def wake_on_dispatch(worker: Worker, gate: Gate) -> None:
    """Listen for as long as the worker runs. A Redis outage cuts the subscription: polling covers the gap, and
    the listener subscribes again once Redis answers."""
    failures = 0
    while True:
        pubsub = gate.redis.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(gate.wake_channel)
            if failures:
                log.info("dispatch wake-ups resumed")
                failures = 0
            while True:
                if await pubsub.get_message(timeout=None) is not None:
                    # arq has no public "poll now"; its iteration is what its own loop calls.
                    await worker._poll_iteration()
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
                await pubsub.aclose()
        await asyncio.sleep(REDIS_AWAY.wait(failures))
