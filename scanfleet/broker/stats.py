"""What the queue holds right now — ready, running, deferred, the oldest ready job's age, live workers — and
the gate's totals per tier. Read by one process (the scheduler) for the whole fleet."""

from __future__ import annotations

import time
from dataclasses import dataclass

from redis.asyncio import Redis

from scanfleet.broker.decode import reply, text
from scanfleet.broker.gate import Gate
from scanfleet.broker.keys import IN_PROGRESS_PREFIX, WORKERS
from scanfleet.broker.scripts import script

WORKER_STALE_SECONDS = 15.0  # a worker silent this long is gone
_BATCH = 100  # queue entries read per step while walking past started jobs


@dataclass(frozen=True)
class QueueTruth:
    ready: int  # due (score <= now) and not started
    running: int  # started: holding a gate lease or arq's in-progress key
    deferred: int  # due later in arq's queue, or set aside by the gate
    oldest_ready_age_seconds: float  # how long the oldest ready job has been due; 0 when none is
    workers: int  # worker processes that sent a heartbeat within WORKER_STALE_SECONDS


@dataclass(frozen=True)
class TierTotals:
    running: int  # jobs dispatched or running
    queued: int  # jobs waiting for a slot, and jobs deferred
    capacity: int  # max_queued summed over the tier's organisations


async def queue_truth(gate: Gate, workers_key: str = WORKERS) -> QueueTruth:
    now_ms = int(time.time() * 1000)
    keys = [gate.keys.queue, gate.keys.leases, gate.keys.deferred, workers_key]
    since_ms = now_ms - int(WORKER_STALE_SECONDS * 1000)
    ready, running, deferred, oldest_ms, workers = await script(gate.redis, "queue_stats")(
        keys=keys, args=[IN_PROGRESS_PREFIX, now_ms, since_ms, _BATCH]
    )
    age = max(0.0, (now_ms - int(oldest_ms)) / 1000) if int(oldest_ms) >= 0 else 0.0
    return QueueTruth(int(ready), int(running), int(deferred), age, int(workers))


async def tier_totals(gate: Gate) -> dict[str, TierTotals]:
    """Running, queued and room in line per tier, over every organisation the gate has seen (one pipeline)."""
    orgs = [text(org) for org in await reply(gate.redis.smembers(gate.keys.orgs))]
    async with gate.redis.pipeline(transaction=False) as pipe:
        for org in orgs:
            pipe.hmget(gate.keys.org(org), ["tier", "max_queued"])
            pipe.scard(gate.keys.active(org))
            pipe.llen(gate.keys.waiting(org))
            pipe.zcard(gate.keys.deferred_of(org))
        answers = await pipe.execute()
    totals: dict[str, list[int]] = {}
    for (tier, max_queued), running, waiting, deferred in zip(
        answers[0::4], answers[1::4], answers[2::4], answers[3::4], strict=True
    ):
        entry = totals.setdefault(text(tier) if tier else "unknown", [0, 0, 0])
        entry[0] += int(running)
        entry[1] += int(waiting) + int(deferred)
        entry[2] += int(max_queued or 0)
    return {tier: TierTotals(*values) for tier, values in totals.items()}


async def live_workers(redis: Redis, registry: str) -> int:
    """Workers in `registry` (WORKERS, BROWSER_WORKERS) that sent a heartbeat within WORKER_STALE_SECONDS."""
    since_ms = int((time.time() - WORKER_STALE_SECONDS) * 1000)
    return int(await reply(redis.zcount(registry, since_ms, "+inf")))
