"""The capacity gate's operations, each one atomic step in Redis (see lua/lib.lua for the state)."""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from arq.constants import default_queue_name, in_progress_key_prefix, job_key_prefix
from redis.asyncio import Redis
from redis.commands.core import AsyncScript

from scanfleet.gate.tiers import Limits

_LUA = Path(__file__).parent / "lua"
_SCRIPTS = (
    "admit",
    "start",
    "finish",
    "cancel",
    "set_limits",
    "requeue",
    "defer",
    "undefer",
    "handback",
    "wake_waiting",
)
DEFAULT_PREFIX = "sf:gate:"
DAY_MS = 86_400_000

Outcome = Literal["dispatched", "waiting", "rejected", "exists"]


@dataclass(frozen=True)
class Admission:
    outcome: Outcome
    running: int  # the org's jobs dispatched or running, after this admission
    queued: int  # the org's jobs held back, after this admission


@dataclass(frozen=True)
class Usage:
    running: int
    queued: int


def _now_ms() -> int:
    return int(time.time() * 1000)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class Gate:
    """One per process. Every method is one atomic Redis step, correct with any number of replicas.

    Scripts run by EVALSHA and are reloaded by redis-py when Redis answers NOSCRIPT (after a restart
    or SCRIPT FLUSH), so a Redis that forgot them keeps admitting.
    """

    def __init__(
        self, redis: Redis, prefix: str = DEFAULT_PREFIX, queue_name: str = default_queue_name, job_ttl_ms: int = DAY_MS
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.queue_name = queue_name
        self._common = [prefix, queue_name, job_key_prefix, in_progress_key_prefix]
        self._job_ttl_ms = job_ttl_ms
        library = (_LUA / "lib.lua").read_text()
        self._scripts: dict[str, AsyncScript] = {
            name: redis.register_script(library + "\n" + (_LUA / f"{name}.lua").read_text()) for name in _SCRIPTS
        }

    async def _run(self, script: str, *args: object) -> Any:
        return await self._scripts[script](keys=[], args=[*self._common, *args])

    async def admit(
        self, org_id: uuid.UUID, job_id: str, payload: bytes, limits: Limits, *, force: bool = False
    ) -> Admission:
        outcome, running, queued = await self._run(
            "admit", str(org_id), job_id, payload, limits.tier, limits.max_running, limits.max_queued,
            _now_ms(), self._job_ttl_ms, "1" if force else "0",
        )  # fmt: skip
        return Admission(_text(outcome), int(running), int(queued))  # type: ignore[arg-type]

    async def start(self, job_id: str, lease_seconds: float, holder: str = "") -> str | None:
        """A worker takes the job; returns its previous state, or None if the gate does not hold it.

        `holder` names this run: its later finish, defer or hand-back are ignored once the job was requeued
        from under it (its lease expired while it still ran)."""
        state = await self._run("start", job_id, _now_ms() + int(lease_seconds * 1000), holder)
        return _text(state) if state else None

    async def renew(self, job_id: str, lease_seconds: float) -> bool:
        deadline = _now_ms() + int(lease_seconds * 1000)
        return bool(await self.redis.zadd(self.prefix + "leases", {job_id: deadline}, xx=True, ch=True))

    async def finish(self, job_id: str, duration_seconds: float | None = None, holder: str = "") -> list[str]:
        """The job ended: free its slot and dispatch the org's next job. Returns the ids dispatched."""
        duration = "" if duration_seconds is None else int(duration_seconds * 1000)
        promoted = await self._run("finish", job_id, _now_ms(), self._job_ttl_ms, duration, holder)
        return [_text(i) for i in promoted]

    async def cancel(self, job_id: str) -> Literal["removed", "running", "unknown"]:
        return _text(await self._run("cancel", job_id, _now_ms(), self._job_ttl_ms))  # type: ignore[return-value]

    async def set_limits(self, org_id: uuid.UUID, limits: Limits) -> list[str]:
        promoted = await self._run(
            "set_limits", str(org_id), limits.tier, limits.max_running, limits.max_queued, _now_ms(), self._job_ttl_ms
        )
        return [_text(i) for i in promoted]

    async def requeue(self, job_ids: Sequence[str], stall_seconds: float = 30.0) -> list[str]:
        """Back into arq's queue: running jobs whose lease expired, dispatched jobs arq lost, and dispatched
        jobs a worker took but did not start within `stall_seconds`."""
        if not job_ids:
            return []
        stall_ms = int(stall_seconds * 1000)
        return [_text(i) for i in await self._run("requeue", _now_ms(), self._job_ttl_ms, stall_ms, *job_ids)]

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
        return [_text(i) for i in await self._run("undefer", _now_ms(), self._job_ttl_ms, limit)]

    async def handback(self, job_id: str, holder: str = "") -> bool:
        """A stopping worker returns a started job for another worker, keeping its slot."""
        return bool(await self._run("handback", job_id, _now_ms(), holder))

    async def expired_leases(self, limit: int = 500) -> list[str]:
        ids = await self.redis.zrangebyscore(self.prefix + "leases", "-inf", _now_ms(), start=0, num=limit)
        return [_text(i) for i in ids]

    async def held(self, admitted_before_ms: int, limit: int = 1000, offset: int = 0) -> list[str]:
        """Jobs the gate holds that were admitted before the given time, oldest first (for reconciliation)."""
        key = self.prefix + "jobs"
        ids = await self.redis.zrangebyscore(key, "-inf", admitted_before_ms, start=offset, num=limit)
        return [_text(i) for i in ids]

    @property
    def wake_channel(self) -> str:
        """Where each dispatch is announced (the message is the arq queue's name)."""
        return self.prefix + "wake"

    async def states(self, job_ids: Sequence[str]) -> list[str | None]:
        """Each job's state in the gate (dispatched, waiting, running), or None where it holds no such job."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for job_id in job_ids:
                pipe.hget(self.prefix + "job:" + job_id, "state")
            values = await pipe.execute()
        return [_text(value) if value else None for value in values]

    async def usage(self, org_id: uuid.UUID) -> Usage:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.scard(f"{self.prefix}active:{org_id}")
            pipe.llen(f"{self.prefix}waiting:{org_id}")
            pipe.zcard(f"{self.prefix}deferred:{org_id}")
            running, waiting, deferred = await pipe.execute()
        return Usage(int(running), int(waiting) + int(deferred))

    async def retry_after_seconds(self, limits: Limits) -> int:
        """When a place in line should free up: one running job's recent duration, spread over the slots."""
        ewma_ms = await self.redis.hget(self.prefix + "durations", "ewma_ms")
        duration = float(ewma_ms) / 1000 if ewma_ms else 1.0
        return max(1, math.ceil(duration / max(limits.max_running, 1)))
