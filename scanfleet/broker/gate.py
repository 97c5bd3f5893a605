"""The capacity gate's operations, each one atomic step in Redis (lua/lib.lua has the state)."""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from scanfleet.broker.decode import reply, text
from scanfleet.broker.keys import DEFAULT_JOB_TTL_MS, GateKeys
from scanfleet.broker.scripts import run_many, script
from scanfleet.group_commit import GroupCommit
from scanfleet.tiers import Limits

Placed = Literal["dispatched", "waiting", "rejected", "exists"]  # where admission put a job


@dataclass(frozen=True)
class Admission:
    outcome: Placed
    running: int  # the org's jobs dispatched or running, after this admission
    queued: int  # the org's jobs held back, after this admission


@dataclass(frozen=True)
class Usage:
    running: int
    queued: int


def _now_ms() -> int:
    return int(time.time() * 1000)


# One batch of admissions in flight per gate (each process has one), up to ADMIT_BATCH; a batch in flight longer
# than ADMIT_STALL_SECONDS lets the next start.
ADMITTING = 1
ADMIT_BATCH = 100
ADMIT_STALL_SECONDS = 0.5
_UNREACHABLE = (
    RedisConnectionError,
    RedisTimeoutError,
    OSError,
)  # every admission of a batch would meet these alone too


@dataclass(frozen=True)
class _Admit:
    org_id: uuid.UUID
    job_id: str
    payload: bytes
    limits: Limits
    force: bool


def _admission(answer: Any) -> Admission:
    outcome, running, queued = answer
    return Admission(text(outcome), int(running), int(queued))  # type: ignore[arg-type]


class Gate:
    """One per process. Every method is one atomic Redis step, correct with any number of replicas.

    Scripts run by EVALSHA and are reloaded by redis-py when Redis answers NOSCRIPT (after a restart
    or SCRIPT FLUSH), so a Redis that forgot them keeps admitting.
    """

    def __init__(self, redis: Redis, keys: GateKeys | None = None, job_ttl_ms: int = DEFAULT_JOB_TTL_MS) -> None:
        self.redis = redis
        self.keys = keys or GateKeys()
        self._job_ttl_ms = job_ttl_ms
        # Admissions made while others are in flight go together, the script run once for each in one pipeline:
        # a third of the CPU, client and server, of one round trip each.
        self._admissions = GroupCommit(
            self._admit_many, self._admit_alone, shared=lambda exc: isinstance(exc, _UNREACHABLE),
            in_flight=ADMITTING, max_batch=ADMIT_BATCH, stall_seconds=ADMIT_STALL_SECONDS,
        )  # fmt: skip

    async def _run(self, name: str, *args: str | int | float | bytes) -> Any:
        return await script(self.redis, name)(keys=self.keys.script_keys, args=[*self.keys.script_args, *args])

    async def admit(
        self, org_id: uuid.UUID, job_id: str, payload: bytes, limits: Limits, *, force: bool = False
    ) -> Admission:
        """The job placed by the org's limits; with `force` (accepted long ago), never refused."""
        return await self._admissions(_Admit(org_id, job_id, payload, limits, force))

    def _admit_args(self, item: _Admit) -> list[str | int | bytes]:
        limits = item.limits
        return [
            *self.keys.script_args, str(item.org_id), item.job_id, item.payload, limits.tier, limits.max_running,
            limits.max_queued, _now_ms(), self._job_ttl_ms, "1" if item.force else "0",
        ]  # fmt: skip

    async def _admit_alone(self, item: _Admit) -> Admission:
        return _admission(await script(self.redis, "admit")(keys=self.keys.script_keys, args=self._admit_args(item)))

    async def _admit_many(self, items: Sequence[_Admit]) -> list[Admission | None]:
        if len(items) == 1:  # a plain EVALSHA: no pipeline to build
            return [await self._admit_alone(items[0])]
        answers = await run_many(self.redis, "admit", self.keys.script_keys, [self._admit_args(item) for item in items])
        return [None if isinstance(answer, Exception) else _admission(answer) for answer in answers]

    async def start(self, job_id: str, lease_seconds: float, holder: str = "") -> str | None:
        """A worker takes the job; returns its previous state, or None if the gate does not hold it.

        `holder` names this run: its later finish, defer or hand-back are ignored once the job was requeued
        from under it (its lease expired while it still ran)."""
        state = await self._run("start", job_id, _now_ms() + int(lease_seconds * 1000), holder)
        return text(state) if state else None

    async def renew(self, job_id: str, lease_seconds: float, holder: str = "") -> bool:
        """Move the lease on; False when this run no longer holds the job (its lease was reaped)."""
        return bool(await self._run("renew", job_id, _now_ms() + int(lease_seconds * 1000), holder))

    async def finish(self, job_id: str, duration_seconds: float | None = None, holder: str = "") -> list[str]:
        """The job ended: free its slot and dispatch the org's next job. Returns the ids dispatched."""
        duration = "" if duration_seconds is None else int(duration_seconds * 1000)
        promoted = await self._run("finish", job_id, self._job_ttl_ms, duration, holder)
        return [text(i) for i in promoted]

    async def cancel(self, job_id: str) -> Literal["removed", "running", "unknown"]:
        """Take the job back; one a worker runs is aborted there (its slot frees when it stops)."""
        return text(await self._run("cancel", job_id, _now_ms(), self._job_ttl_ms))  # type: ignore[return-value]

    async def set_limits(self, org_id: uuid.UUID, limits: Limits) -> list[str]:
        promoted = await self._run(
            "set_limits", str(org_id), limits.tier, limits.max_running, limits.max_queued, self._job_ttl_ms
        )
        return [text(i) for i in promoted]

    async def requeue(self, job_ids: Sequence[str], stall_seconds: float = 30.0) -> list[str]:
        """Back into arq's queue: running jobs whose lease expired, dispatched jobs arq lost, and dispatched
        jobs a worker took but did not start within `stall_seconds` of taking them."""
        if not job_ids:
            return []
        stall_ms = int(stall_seconds * 1000)
        return [text(i) for i in await self._run("requeue", _now_ms(), self._job_ttl_ms, stall_ms, *job_ids)]

    async def defer(self, job_id: str, due: float, waiting_on: str = "", holder: str = "") -> bool:
        """Set a started job aside until `due` (epoch seconds), freeing its slot; False if the gate lost it.
        `waiting_on` names what it waits for, so that `wake_waiting` can bring it back sooner."""
        promoted = await self._run("defer", job_id, int(due * 1000), _now_ms(), self._job_ttl_ms, waiting_on, holder)
        return promoted is not None

    async def wake_waiting(self, waiting_on: str) -> int:
        """What deferred jobs waited for ended early: they are due now. Returns how many."""
        return int(await self._run("wake_waiting", waiting_on, _now_ms()))

    async def undefer_due(self, limit: int = 500) -> list[str]:
        """Deferred jobs whose time has come back to the head of their org's line; returns their ids."""
        return [text(i) for i in await self._run("undefer", _now_ms(), self._job_ttl_ms, limit)]

    async def handback(self, job_id: str, holder: str = "") -> bool:
        """A stopping worker returns a started job for another worker, keeping its slot."""
        return bool(await self._run("handback", job_id, holder))

    async def take(self, limit: int, in_progress_ms: int) -> tuple[list[tuple[str, int]], list[str]]:
        """A worker takes up to `limit` ready jobs, each marked in progress for arq as its own poll would:
        ([(job id, arq's score)], the ids in arq's abort set). Reads no running job; which jobs are ready is
        judged by Redis's clock, not this process's."""
        taken, aborts = await self._run("take", limit, in_progress_ms)
        pairs = [(text(taken[at]), int(float(taken[at + 1]))) for at in range(0, len(taken), 2)]
        return pairs, [text(i) for i in aborts]

    async def expired_leases(self, limit: int = 500) -> list[str]:
        ids = await self.redis.zrangebyscore(self.keys.leases, "-inf", _now_ms(), start=0, num=limit)
        return [text(i) for i in ids]

    async def held(self, admitted_before_ms: int, limit: int = 1000, offset: int = 0) -> list[str]:
        """Jobs the gate holds that were admitted before the given time, oldest first (for reconciliation)."""
        ids = await self.redis.zrangebyscore(self.keys.jobs, "-inf", admitted_before_ms, start=offset, num=limit)
        return [text(i) for i in ids]

    async def states(self, job_ids: Sequence[str]) -> list[str | None]:
        """Each job's state in the gate (dispatched, waiting, running), or None where it holds no such job."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for job_id in job_ids:
                pipe.hget(self.keys.job(job_id), "state")
            values = await pipe.execute()
        return [text(value) if value else None for value in values]

    async def usage(self, org_id: uuid.UUID) -> Usage:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.scard(self.keys.active(str(org_id)))
            pipe.llen(self.keys.waiting(str(org_id)))
            pipe.zcard(self.keys.deferred_of(str(org_id)))
            running, waiting, deferred = await pipe.execute()
        return Usage(int(running), int(waiting) + int(deferred))

    async def retry_after_seconds(self, limits: Limits) -> int:
        """When a place in line should free up: one running job's recent duration, spread over the slots."""
        ewma_ms = await reply(self.redis.hget(self.keys.durations, "ewma_ms"))
        duration = float(ewma_ms) / 1000 if ewma_ms else 1.0
        return max(1, math.ceil(duration / max(limits.max_running, 1)))
