"""The gate's invariants over random interleavings of submit, start, finish, crash, reap, cancel and
tier change — the real Lua scripts, run by fakeredis's embedded Lua, checked against a model."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Coroutine
from typing import Any, TypeVar

import fakeredis
from arq.constants import in_progress_key_prefix, job_key_prefix
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from scanfleet.gate.gate import Gate
from scanfleet.gate.tiers import Limits, limits_for

T = TypeVar("T")
ORGS = [uuid.UUID(int=n + 1) for n in range(3)]
LIMITS = st.builds(
    limits_for,
    st.sampled_from(["free", "pro", "enterprise"]),
    max_running=st.one_of(st.none(), st.integers(0, 3)),
    max_queued=st.one_of(st.none(), st.integers(0, 4)),
)


class GateMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.redis = fakeredis.FakeAsyncRedis()
        self.gate = Gate(self.redis)
        self.limits: dict[uuid.UUID, Limits] = dict.fromkeys(ORGS, limits_for("free"))
        self.org_of: dict[str, uuid.UUID] = {}
        self.waiting: dict[uuid.UUID, list[str]] = {org: [] for org in ORGS}  # model: FIFO per org
        self.dispatched: set[str] = set()  # in arq's queue, not started
        self.running: set[str] = set()
        self.crashed: set[str] = set()  # running, but their worker is gone
        self.ended: set[str] = set()
        self.started: dict[str, int] = {}
        self.rejected = 0

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coro)

    def teardown(self) -> None:
        self.run(self.redis.aclose())
        self.loop.close()

    def active(self, org: uuid.UUID) -> set[str]:
        return {job for job in self.dispatched | self.running | self.crashed if self.org_of[job] == org}

    def promoted(self, org: uuid.UUID, ids: list[str]) -> None:
        assert ids == self.waiting[org][: len(ids)], "promotion must follow the org's own order"
        del self.waiting[org][: len(ids)]
        self.dispatched.update(ids)

    @rule(org=st.sampled_from(ORGS))
    def submit(self, org: uuid.UUID) -> None:
        # Ids from a counter, not random: a replayed case must see the same order of jobs to draw from.
        job = f"scan:{len(self.org_of) + self.rejected:06d}"
        limits = self.limits[org]
        before_running, before_queued = len(self.active(org)), len(self.waiting[org])
        admission = self.run(self.gate.admit(org, job, b"body", limits))
        if admission.outcome == "rejected":
            assert before_queued >= limits.max_queued
            self.rejected += 1
            return
        self.org_of[job] = org
        if admission.outcome == "dispatched":
            assert before_running < limits.max_running and before_queued == 0
            self.dispatched.add(job)
        else:
            assert admission.outcome == "waiting"
            self.waiting[org].append(job)
            assert len(self.waiting[org]) <= max(limits.max_queued, before_queued)

    @precondition(lambda self: self.dispatched)
    @rule(data=st.data())
    def start(self, data: st.DataObject) -> None:
        job = data.draw(st.sampled_from(sorted(self.dispatched)))
        assert self.run(self.gate.start(job, lease_seconds=60)) == "dispatched"
        self.run(self.redis.set(in_progress_key_prefix + job, b"1"))  # what arq does when it takes a job
        self.dispatched.discard(job)
        self.running.add(job)
        self.started[job] = self.started.get(job, 0) + 1

    @precondition(lambda self: self.running)
    @rule(data=st.data())
    def finish(self, data: st.DataObject) -> None:
        self.finish_one(data.draw(st.sampled_from(sorted(self.running))))

    @precondition(lambda self: self.running)
    @rule(data=st.data())
    def crash(self, data: st.DataObject) -> None:
        """The worker dies: no finish, no more renewals; its lease is past (time moved on)."""
        job = data.draw(st.sampled_from(sorted(self.running)))
        self.run(self.redis.zadd(self.gate.prefix + "leases", {job: 0}))
        self.running.discard(job)
        self.crashed.add(job)

    @rule()
    def reap(self) -> None:
        requeued = self.run(self.gate.requeue(self.run(self.gate.expired_leases())))
        assert set(requeued) == self.crashed
        self.dispatched |= self.crashed
        self.crashed.clear()

    @rule(org=st.sampled_from(ORGS), limits=LIMITS)
    def change_tier(self, org: uuid.UUID, limits: Limits) -> None:
        running_before = len(self.active(org))
        self.limits[org] = limits
        self.promoted(org, self.run(self.gate.set_limits(org, limits)))
        assert len(self.active(org)) <= max(limits.max_running, running_before)

    @precondition(lambda self: any(self.waiting.values()) or self.dispatched)
    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        job = data.draw(st.sampled_from(sorted(self.dispatched | {j for w in self.waiting.values() for j in w})))
        org = self.org_of[job]
        assert self.run(self.gate.cancel(job)) == "removed"
        if job in self.dispatched:
            self.dispatched.discard(job)
            # Its slot went to the org's next waiting job, if the limit allows.
            promoted = [j for j in self.waiting[org] if self.run(self.gate.states([j])) == ["dispatched"]]
            self.promoted(org, promoted)
        else:
            self.waiting[org].remove(job)
        self.ended.add(job)

    @invariant()
    def gate_matches_model(self) -> None:
        for org in ORGS:
            usage = self.run(self.gate.usage(org))
            assert usage.running == len(self.active(org)), "a slot leaked or was double-counted"
            assert usage.queued == len(self.waiting[org])
            waiting_ids = [i.decode() for i in self.run(self.redis.lrange(f"{self.gate.prefix}waiting:{org}", 0, -1))]
            assert waiting_ids == self.waiting[org]
        queue = {i.decode() for i in self.run(self.redis.zrange(self.gate.queue_name, 0, -1))}
        assert self.dispatched <= queue, "a dispatched job is missing from arq's queue"
        assert not (self.ended & queue - self.running), "an ended job is still queued"
        everything = self.dispatched | self.running | self.crashed | {j for w in self.waiting.values() for j in w}
        assert len(everything) == len(self.dispatched) + len(self.running) + len(self.crashed) + sum(
            len(w) for w in self.waiting.values()
        ), "a job is in two places at once"

    def drain(self) -> None:
        """Every accepted job eventually runs: finish whatever runs until nothing is left."""
        for _ in range(1000):
            self.reap()
            if self.running:
                self.finish_one(sorted(self.running)[0])
            elif self.dispatched:
                job = sorted(self.dispatched)[0]
                self.run(self.gate.start(job, lease_seconds=60))
                self.dispatched.discard(job)
                self.running.add(job)
                self.started[job] = self.started.get(job, 0) + 1
            elif any(self.waiting.values()):
                org = next(org for org in ORGS if self.waiting[org])
                self.limits[org] = limits_for("pro")
                self.promoted(org, self.run(self.gate.set_limits(org, self.limits[org])))
            else:
                break
        assert set(self.org_of) == self.ended, "an accepted job never ended"

    def finish_one(self, job: str) -> None:
        promoted = self.run(self.gate.finish(job, duration_seconds=1.0))
        # What arq does once the task returns: the job leaves its queue.
        self.run(self.redis.zrem(self.gate.queue_name, job))
        self.run(self.redis.delete(in_progress_key_prefix + job, job_key_prefix + job))
        self.running.discard(job)
        self.ended.add(job)
        self.promoted(self.org_of[job], promoted)


class GateMachineThatDrains(GateMachine):
    def teardown(self) -> None:
        try:
            self.drain()
        finally:
            super().teardown()


TestGate = GateMachineThatDrains.TestCase
TestGate.settings = settings(
    max_examples=60, stateful_step_count=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
