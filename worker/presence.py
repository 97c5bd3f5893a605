"""A worker's presence: registered in Redis for the fleet's count, and its slots in its own metrics."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time

from arq import Worker
from redis.asyncio import Redis

from scanfleet import jobs, metrics
from scanfleet.gate.stats import WORKERS_KEY

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 5.0


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def export_slots(worker: Worker) -> None:
    metrics.WORKER_MAX_SLOTS.set(worker.max_jobs)
    # Read at scrape time, so the gauge is never a sample's worth stale.
    metrics.WORKER_BUSY_SLOTS.set_function(lambda: len(worker.job_tasks))
    # A hand-back happens as a worker exits, maybe after its last scrape: the series must exist from the start.
    for task in jobs.TASKS.values():
        metrics.JOBS_HANDED_BACK.labels(task)


async def announce(redis: Redis, name: str) -> None:
    """Heartbeat the registration until cancelled, then withdraw it."""
    try:
        while True:
            try:
                await redis.zadd(WORKERS_KEY, {name: int(time.time() * 1000)})
            except Exception:
                log.warning("could not register this worker", exc_info=True)
            await asyncio.sleep(HEARTBEAT_SECONDS)
    finally:
        with contextlib.suppress(Exception):
            await asyncio.shield(redis.zrem(WORKERS_KEY, name))
