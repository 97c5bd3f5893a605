"""The gate's invariants over random interleavings of submit, start, finish, crash, reap, cancel, tier change,
defer, bringing deferred jobs back, waking those a closed circuit held, and hand-back: the real Lua scripts, run
by fakeredis's embedded Lua on a clock the test moves, checked against a model after every step.

- A live job is in exactly one place, in the state that place means: its org's running set (dispatched or
  running), its org's line (waiting), or its org's deferred set and the fleet-wide one, due at the same time
  (deferred). An ended job is nowhere.
- Leases are exactly the started jobs. arq's queue is exactly the dispatched and started jobs, each dispatched
  one with its body: waiting and deferred jobs are in neither.
- An org's running and queued (waiting plus deferred) counts match its sets. Running never exceeds max_running
  (or what ran when the limit was lowered), and no slot is idle while the org's line is not empty. Admission
  never takes queued past max_queued; a deferred job, accepted already, counts in queued and may take it past.
- Every accepted job ends, and the gate and arq are left holding nothing (each run is drained).

Order within an org: a job leaves the org's line for a running slot only from the head of the line. The line is
admission order, except that deferred jobs brought back when due go to the head of the line, in due order (ties
by id): the earliest due heads it.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import Coroutine
from typing import Any, TypeVar
from unittest import mock

import fakeredis
from arq.constants import in_progress_key_prefix, job_key_prefix
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from scanfleet.broker import gate as gate_module
from scanfleet.broker.decode import reply
from scanfleet.broker.gate import Gate, Usage
from scanfleet.tiers import Limits, limits_for

T = TypeVar("T")
ORGS = [uuid.UUID(int=n + 1) for n in range(3)]
LIMITS = st.builds(
    limits_for,
    st.sampled_from(["free", "pro", "enterprise"]),
    max_running=st.one_of(st.none(), st.integers(0, 3)),
    max_queued=st.one_of(st.none(), st.integers(0, 4)),
)
CIRCUITS = ["target:a.example", "target:b.example"]
START_MS = 1_700_000_000_000
# Longer than the clock moves in any run: a lease expires only when a rule says its worker crashed.
LEASE_SECONDS = 86_400


class GateMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.redis = fakeredis.FakeAsyncRedis()
        self.gate = Gate(self.redis)
        self.clock = START_MS
        self._clock = mock.patch.object(gate_module, "_now_ms", lambda: self.clock)
        self._clock.start()
        self.limits: dict[uuid.UUID, Limits] = dict.fromkeys(ORGS, limits_for("free"))
        # Most jobs an org may run now: its limit, or more while jobs started before a lowered limit still run.
        self.ceiling = {org: limits.max_running for org, limits in self.limits.items()}
        self.org_of: dict[str, uuid.UUID] = {}
        self.waiting: dict[uuid.UUID, list[str]] = {org: [] for org in ORGS}  # model: each org's line, head first
        self.dispatched: set[str] = set()  # in arq's queue, not started
        self.running: set[str] = set()
        self.crashed: set[str] = set()  # running, but their worker is gone
        self.deferred: dict[str, int] = {}  # set aside: id -> due ms
        self.waiting_on: dict[str, set[str]] = {}  # circuit -> ids deferred on it, until it is woken
        self.deferred_on: dict[str, str] = {}  # job -> what its latest deferral waits for ('' for nothing)
        self.ended: set[str] = set()
        self.rejected = 0

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coro)

    def teardown(self) -> None:
        self._clock.stop()
        self.run(self.redis.aclose())
        self.loop.close()

    def active(self, org: uuid.UUID) -> set[str]:
        return {job for job in self.dispatched | self.running | self.crashed if self.org_of[job] == org}

    def queued(self, org: uuid.UUID) -> int:
        return len(self.waiting[org]) + sum(self.org_of[job] == org for job in self.deferred)

    def fill(self, org: uuid.UUID) -> list[str]:
        """The model's promotion: free slots taken from the head of the org's line. Returns the ids dispatched."""
        free = max(0, self.limits[org].max_running - len(self.active(org)))
        promoted, self.waiting[org] = self.waiting[org][:free], self.waiting[org][free:]
        self.dispatched.update(promoted)
        return promoted

    @rule(org=st.sampled_from(ORGS), count=st.integers(1, 3))
    def submit(self, org: uuid.UUID, count: int) -> None:
        for _ in range(count):
            self.submit_one(org)

    def submit_one(self, org: uuid.UUID) -> None:
        # Ids from a counter, not random: a replayed case must see the same order of jobs to draw from.
        job = f"scan:{len(self.org_of) + self.rejected:06d}"
        limits = self.limits[org]
        assert self.run(self.gate.usage(org)) == Usage(len(self.active(org)), self.queued(org))
        if len(self.active(org)) < limits.max_running and not self.waiting[org]:
            expected = "dispatched"
        elif self.queued(org) < limits.max_queued:
            expected = "waiting"
        else:
            expected = "rejected"
        admission = self.run(self.gate.admit(org, job, b"body", limits))
        assert admission.outcome == expected
        if expected == "rejected":
            self.rejected += 1
        else:
            self.org_of[job] = org
            if expected == "dispatched":
                self.dispatched.add(job)
            else:
                self.waiting[org].append(job)
                assert self.fill(org) == []
        assert (admission.running, admission.queued) == (len(self.active(org)), self.queued(org))

    @precondition(lambda self: self.dispatched)
    @rule(data=st.data())
    def start(self, data: st.DataObject) -> None:
        self.start_one(data.draw(st.sampled_from(sorted(self.dispatched))))

    @precondition(lambda self: self.running)
    @rule(data=st.data())
    def finish(self, data: st.DataObject) -> None:
        self.finish_one(data.draw(st.sampled_from(sorted(self.running))))

    @precondition(lambda self: self.running)
    @rule(data=st.data())
    def crash(self, data: st.DataObject) -> None:
        """The worker dies: no finish, no more renewals; its lease is past (time moved on)."""
        job = data.draw(st.sampled_from(sorted(self.running)))
        self.run(reply(self.redis.zadd(self.gate.keys.prefix + "leases", {job: 0})))
        self.running.discard(job)
        self.crashed.add(job)

    @rule(everything=st.booleans())
    def reap(self, everything: bool = False) -> None:
        """Expired leases requeued; or, as reconciliation does, every job the gate holds offered to requeue:
        only the crashed ones go back (waiting, deferred, dispatched and live running jobs stay as they are)."""
        ids = self.gate.held(self.clock + 1) if everything else self.gate.expired_leases()
        requeued = self.run(self.gate.requeue(self.run(ids)))
        assert set(requeued) == self.crashed
        self.dispatched |= self.crashed
        self.crashed.clear()

    @rule(org=st.sampled_from(ORGS), limits=LIMITS)
    def change_tier(self, org: uuid.UUID, limits: Limits) -> None:
        self.limits[org] = limits
        self.ceiling[org] = max(limits.max_running, len(self.active(org)))
        assert self.run(self.gate.set_limits(org, limits)) == self.fill(org)

    @precondition(lambda self: any(self.waiting.values()) or self.dispatched or self.deferred)
    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        waiting = {j for w in self.waiting.values() for j in w}
        job = data.draw(st.sampled_from(sorted(self.dispatched | waiting | set(self.deferred))))
        org = self.org_of[job]
        assert self.run(self.gate.cancel(job)) == "removed"
        self.dispatched.discard(job)
        self.deferred.pop(job, None)
        if job in waiting:
            self.waiting[org].remove(job)
        self.ended.add(job)
        self.fill(org)  # a dispatched job's slot goes to the org's next job

    @precondition(lambda self: self.running or self.dispatched)
    @rule(data=st.data(), due_in_seconds=st.integers(-3, 10), waiting_on=st.sampled_from(["", *CIRCUITS]))
    def defer(self, data: st.DataObject, due_in_seconds: int, waiting_on: str) -> None:
        """The worker sets its job aside until a time, possibly already past, maybe waiting on a circuit;
        arq then ends the job's run."""
        job = self.worker_has(data)
        due_seconds = self.clock // 1000 + due_in_seconds  # whole seconds: exact in the gate's float API
        assert self.run(self.gate.defer(job, due_seconds, waiting_on))
        self.arq_ends(job, finished=True)
        self.running.discard(job)
        self.deferred[job] = due_seconds * 1000
        self.deferred_on[job] = waiting_on
        if waiting_on:
            self.waiting_on.setdefault(waiting_on, set()).add(job)
        self.fill(self.org_of[job])  # its slot goes to the org's next job

    @rule(advance_ms=st.integers(0, 15_000), limit=st.sampled_from([1, 2, 500]))
    def undefer(self, advance_ms: int, limit: int) -> None:
        """The reaper, some time later: due jobs back at the head of their org's line, then into free slots."""
        self.clock += advance_ms
        self.bring_back(limit)

    @rule(circuit=st.sampled_from(CIRCUITS))
    def wake(self, circuit: str) -> None:
        """The circuit closed early: the jobs deferred on it are due now. A job brought back since and deferred
        again for another reason is not woken."""
        named = self.waiting_on.pop(circuit, set()) & self.deferred.keys()
        woken = {job for job in named if self.deferred_on[job] == circuit}
        assert self.run(self.gate.wake_waiting(circuit)) == len(woken)
        self.deferred.update(dict.fromkeys(woken, self.clock))

    @precondition(lambda self: self.running or self.dispatched)
    @rule(data=st.data())
    def handback(self, data: st.DataObject) -> None:
        """A stopping worker returns its job: arq keeps it queued and clears its in-progress marker."""
        job = self.worker_has(data)
        assert self.run(self.gate.handback(job))
        self.arq_ends(job, finished=False)
        self.running.discard(job)
        self.dispatched.add(job)

    def place(self, job: str) -> tuple[str, str]:
        """Where the gate must hold a live job, and its state there."""
        org = self.org_of[job]
        if job in self.deferred:
            return f"deferred:{org}", "deferred"
        if job in self.waiting[org]:
            return f"waiting:{org}", "waiting"
        return f"active:{org}", "dispatched" if job in self.dispatched else "running"

    async def read_gate(self, live: list[str]) -> list[Any]:
        prefix = self.gate.keys.prefix
        async with self.redis.pipeline(transaction=False) as pipe:
            for org in ORGS:
                pipe.smembers(f"{prefix}active:{org}")
                pipe.lrange(f"{prefix}waiting:{org}", 0, -1)
                pipe.zrange(f"{prefix}deferred:{org}", 0, -1, withscores=True)
            for key in ("deferred", "leases", "jobs"):
                pipe.zrange(prefix + key, 0, -1, withscores=True)
            pipe.zrange(self.gate.keys.queue, 0, -1)
            for circuit in CIRCUITS:
                pipe.smembers(f"{prefix}waiting_on:{circuit}")
            for job in live:
                pipe.hget(prefix + "job:" + job, "state")
            if self.dispatched:
                pipe.exists(*(job_key_prefix + job for job in self.dispatched))
            return await pipe.execute()

    @invariant()
    def gate_matches_model(self) -> None:
        live = sorted(set(self.org_of) - self.ended)
        values = self.run(self.read_gate(live))
        places: dict[str, list[str]] = {}
        for n, org in enumerate(ORGS):
            active, line, deferred = values[3 * n : 3 * n + 3]
            for kind, ids in (("active", active), ("waiting", line), ("deferred", (i for i, _ in deferred))):
                for job in ids:
                    places.setdefault(job.decode(), []).append(f"{kind}:{org}")
            assert [i.decode() for i in line] == self.waiting[org], "the org's line is out of order"
            assert {i.decode(): due for i, due in deferred} == {
                job: due for job, due in self.deferred.items() if self.org_of[job] == org
            }, "the org's deferred jobs or their due times are wrong"
            # The org's usage, as the gate counts it (Gate.usage, queued_count in the scripts).
            running, queued = len(active), len(line) + len(deferred)
            assert running == len(self.active(org)), "a slot leaked or was double-counted"
            assert queued == self.queued(org), "queued is not the org's waiting plus deferred jobs"
            assert running <= self.ceiling[org], "a job was dispatched beyond the org's limit"
            self.ceiling[org] = max(self.limits[org].max_running, running)
            if line:
                assert running >= self.limits[org].max_running, "a slot is idle while the org's jobs wait"
        deferred, leases, held, queue = values[3 * len(ORGS) : 3 * len(ORGS) + 4]
        assert {i.decode(): due for i, due in deferred} == self.deferred, "the fleet-wide deferred set is wrong"
        assert {i.decode() for i, _ in leases} == self.running | self.crashed, "leases are not the started jobs"
        assert {i.decode() for i, _ in held} == set(live), "the gate holds an ended job, or lost a live one"
        assert {i.decode() for i in queue} == self.dispatched | self.running | self.crashed, "arq's queue is wrong"
        for n, circuit in enumerate(CIRCUITS):
            members = values[3 * len(ORGS) + 4 + n]
            assert {i.decode() for i in members} == self.waiting_on.get(circuit, set()), f"waiting on {circuit}"
        states = values[3 * len(ORGS) + 4 + len(CIRCUITS) :][: len(live)]
        for job, state in zip(live, states, strict=True):
            place, expected = self.place(job)
            assert places.get(job) == [place], f"{job} is not (only) in {place}: {places.get(job)}"
            assert state == expected.encode(), f"{job} is {state!r}, not {expected}"
        if self.dispatched:
            assert values[-1] == len(self.dispatched), "a dispatched job has no body in arq"
        assert not places.keys() - set(live), "an ended job is still in the gate"

    def bring_back(self, limit: int) -> None:
        due = sorted((at, job) for job, at in self.deferred.items() if at <= self.clock)[:limit]
        assert self.run(self.gate.undefer_due(limit)) == [job for _, job in due]
        for _, job in reversed(due):  # the earliest due ends up heading its org's line
            del self.deferred[job]
            self.waiting[self.org_of[job]].insert(0, job)
        for org in {self.org_of[job] for _, job in due}:
            self.fill(org)

    def drain(self) -> None:
        """Every accepted job eventually runs and ends, and the gate is left holding nothing."""
        for _ in range(1000):
            self.reap()
            if self.running:
                self.finish_one(sorted(self.running)[0])
            elif self.dispatched:
                self.start_one(sorted(self.dispatched)[0])
            elif any(self.waiting.values()):
                org = next(org for org in ORGS if self.waiting[org])
                self.limits[org] = limits_for("pro")
                assert self.run(self.gate.set_limits(org, self.limits[org])) == self.fill(org)
            elif self.deferred:
                self.clock = max(self.clock, *self.deferred.values())
                self.bring_back(500)
            else:
                break
        assert set(self.org_of) == self.ended, "an accepted job never ended"
        prefix = self.gate.keys.prefix
        keys = {key.decode() for key in self.run(reply(self.redis.keys()))}
        kept = {prefix + "orgs", prefix + "durations"} | {f"{prefix}org:{org}" for org in ORGS}
        kept |= {prefix + "waiting_on:" + circuit for circuit in self.waiting_on}  # left to expire
        assert keys <= kept, f"the gate or arq still holds {sorted(keys - kept)}"

    def worker_has(self, data: st.DataObject) -> str:
        """A job a worker runs: one already running, or one it takes now."""
        job = data.draw(st.sampled_from(sorted(self.running | self.dispatched)))
        if job in self.dispatched:
            self.start_one(job)
        return job

    def start_one(self, job: str) -> None:
        assert self.run(self.gate.start(job, lease_seconds=LEASE_SECONDS)) == "dispatched"
        self.run(reply(self.redis.set(in_progress_key_prefix + job, b"1")))  # what arq does when it takes a job
        self.dispatched.discard(job)
        self.running.add(job)

    def finish_one(self, job: str) -> None:
        promoted = self.run(self.gate.finish(job, duration_seconds=1.0))
        self.arq_ends(job, finished=True)
        self.running.discard(job)
        self.ended.add(job)
        assert promoted == self.fill(self.org_of[job])

    def arq_ends(self, job: str, *, finished: bool) -> None:
        """What arq does once the task returns: a finished job leaves its queue; any job loses its marker."""
        keys = [in_progress_key_prefix + job]
        if finished:
            keys.append(job_key_prefix + job)
            self.run(reply(self.redis.zrem(self.gate.keys.queue, job)))
        self.run(reply(self.redis.delete(*keys)))


class GateMachineThatDrains(GateMachine):
    def teardown(self) -> None:
        try:
            # A run that already failed is not drained: one failure to shrink, not two.
            if sys.exception() is None:
                self.drain()
        finally:
            super().teardown()


TestGate = GateMachineThatDrains.TestCase
TestGate.settings = settings(
    max_examples=60,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    # A failure is shrunk once, to the first error found, without the slow explain phase: a broken gate
    # reports a short sequence well within the test timeout.
    report_multiple_bugs=False,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
)
