"""Setting jobs aside (retry backoff, open circuits) and handing them back, against real Redis."""

from __future__ import annotations

import time
import uuid

from arq.constants import in_progress_key_prefix

from scanfleet.broker.decode import reply
from scanfleet.broker.gate import Gate
from scanfleet.tiers import limits_for
from tests.support.site import eventually


def job() -> str:
    return f"scan:{uuid.uuid4()}"


async def queued_ids(gate: Gate) -> list[str]:
    return [i.decode() for i in await gate.redis.zrange(gate.keys.queue, 0, -1)]


async def test_a_deferred_job_frees_its_slot_for_the_next_and_returns_first_in_line_when_due(gate: Gate) -> None:
    org, limits = uuid.uuid4(), limits_for("free")  # one running slot
    first, second, third = job(), job(), job()
    for job_id in (first, second, third):
        await gate.admit(org, job_id, job_id.encode(), limits)
    await gate.start(first, 30)

    assert await gate.defer(first, time.time() + 60)

    assert await gate.states([first, second, third]) == ["deferred", "dispatched", "waiting"]
    assert await queued_ids(gate) == [second]
    usage = await gate.usage(org)
    assert (usage.running, usage.queued) == (1, 2)  # the deferred job still counts as queued
    assert await gate.expired_leases() == []
    assert await gate.undefer_due() == []  # not due yet

    await gate.redis.zadd(gate.keys.prefix + "deferred", {first: 0})  # its time has come
    assert await gate.undefer_due() == [first]
    await gate.finish(second)
    # Ahead of the job that waited behind it all along.
    assert await gate.states([first, third]) == ["dispatched", "waiting"]
    assert first in await queued_ids(gate)


async def test_a_due_job_runs_at_once_when_its_org_has_a_free_slot(gate: Gate) -> None:
    org, limits = uuid.uuid4(), limits_for("pro")
    retried = job()
    await gate.admit(org, retried, b"body", limits)
    await gate.start(retried, 30)
    await gate.defer(retried, time.time() - 1)

    assert await gate.undefer_due() == [retried]

    assert await gate.states([retried]) == ["dispatched"]
    assert await queued_ids(gate) == [retried]


async def test_a_deferred_job_can_be_cancelled_and_counts_toward_the_queue_limit(gate: Gate) -> None:
    org, limits = uuid.uuid4(), limits_for("free")  # 1 running, 5 queued
    deferred = job()
    await gate.admit(org, deferred, b"body", limits)
    await gate.start(deferred, 30)
    await gate.defer(deferred, time.time() + 60)
    outcomes = [(await gate.admit(org, job(), b"body", limits)).outcome for _ in range(6)]
    assert outcomes == ["dispatched", "waiting", "waiting", "waiting", "waiting", "rejected"]

    assert await gate.cancel(deferred) == "removed"

    assert await gate.states([deferred]) == [None]
    assert await gate.redis.zcard(gate.keys.prefix + "deferred") == 0
    assert (await gate.admit(org, job(), b"body", limits)).outcome == "waiting"


async def test_a_job_the_gate_lost_cannot_be_deferred(gate: Gate) -> None:
    assert not await gate.defer(job(), time.time())


async def test_a_handed_back_job_keeps_its_slot_and_is_taken_again_without_waiting_for_its_lease(gate: Gate) -> None:
    org, limits = uuid.uuid4(), limits_for("free")
    running, waiting = job(), job()
    await gate.admit(org, running, b"body", limits)
    await gate.admit(org, waiting, b"body", limits)
    await gate.start(running, 30)
    assert await gate.handback(running)

    assert await gate.redis.zscore(gate.keys.ready, running) is not None  # for a worker to take
    assert await reply(gate.redis.llen(gate.keys.wake)) >= 1  # and a worker woken for it
    assert await gate.states([running, waiting]) == ["dispatched", "waiting"]
    assert await gate.redis.zscore(gate.keys.prefix + "leases", running) is None
    assert await gate.redis.exists(in_progress_key_prefix + running) == 0
    usage = await gate.usage(org)
    assert (usage.running, usage.queued) == (1, 1)


async def test_a_job_a_worker_took_but_never_started_is_requeued_once_it_stalls(gate: Gate) -> None:
    org, limits = uuid.uuid4(), limits_for("pro")
    taken, waiting_in_arq = job(), job()
    await gate.admit(org, taken, b"body", limits)
    await gate.admit(org, waiting_in_arq, b"body", limits)
    # arq marked it taken, then the worker died before it could start the job in the gate.
    await gate.redis.set(in_progress_key_prefix + taken, b"1", px=3_600_000)

    assert await gate.requeue([taken, waiting_in_arq], stall_seconds=3600) == []

    async def requeued() -> bool:
        return await gate.requeue([taken, waiting_in_arq], stall_seconds=0) == [taken]

    await eventually(requeued)
    assert await gate.redis.exists(in_progress_key_prefix + taken) == 0
    assert await gate.states([taken]) == ["dispatched"]


async def test_jobs_waiting_on_something_that_ended_early_are_due_at_once(gate: Gate) -> None:
    org, limits = uuid.uuid4(), limits_for("pro")
    waiting, unrelated = job(), job()
    for job_id in (waiting, unrelated):
        await gate.admit(org, job_id, b"body", limits)
        await gate.start(job_id, 30)
    await gate.defer(waiting, time.time() + 3600, waiting_on="target:example.com")
    await gate.defer(unrelated, time.time() + 3600)

    assert await gate.wake_waiting("target:example.com") == 1

    assert await gate.undefer_due() == [waiting]
    assert await gate.states([waiting, unrelated]) == ["dispatched", "deferred"]
    assert await gate.wake_waiting("target:example.com") == 0  # woken once, the list is gone


async def test_a_due_job_waits_while_arq_is_still_ending_the_run_that_deferred_it(gate: Gate) -> None:
    org, limits = uuid.uuid4(), limits_for("pro")
    retried = job()
    await gate.admit(org, retried, b"body", limits)
    await gate.start(retried, 30)
    # The worker deferred it with no wait (a retry's jitter can draw ~0 s); arq has not yet ended that run,
    # and ending it will remove the job from arq's queue.
    await gate.redis.set(in_progress_key_prefix + retried, b"1")
    await gate.defer(retried, time.time() - 1)

    assert await gate.undefer_due() == []
    await gate.redis.delete(in_progress_key_prefix + retried)  # arq has ended the run
    assert await gate.undefer_due() == [retried]


async def test_jobs_due_together_rejoin_their_line_earliest_first(gate: Gate) -> None:
    org, limits = uuid.uuid4(), limits_for("free")  # one running slot
    first, second, blocker = job(), job(), job()
    for job_id in (first, second):
        await gate.admit(org, job_id, b"body", limits)
    await gate.start(first, 30)
    await gate.defer(first, time.time() - 2)  # frees the slot: second is dispatched
    await gate.start(second, 30)
    await gate.admit(org, blocker, b"body", limits)  # waits: the slot is second's
    await gate.defer(second, time.time() - 1)  # frees it again: blocker is dispatched
    await gate.start(blocker, 30)

    assert await gate.undefer_due() == [first, second]
    await gate.finish(blocker)
    assert await gate.states([first, second]) == ["dispatched", "waiting"]  # the earlier due went first


async def test_a_job_deferred_again_for_another_reason_is_not_woken_by_its_old_circuit(gate: Gate) -> None:
    org, limits = uuid.uuid4(), limits_for("pro")
    retried = job()
    await gate.admit(org, retried, b"body", limits)
    await gate.start(retried, 30)
    await gate.defer(retried, time.time() - 1, waiting_on="target:example.com")
    await gate.undefer_due()
    await gate.start(retried, 30)
    await gate.defer(retried, time.time() + 3600)  # now a retry's backoff, not the circuit

    assert await gate.wake_waiting("target:example.com") == 0
    assert await gate.undefer_due() == []


async def test_a_run_whose_lease_was_reaped_cannot_end_defer_or_hand_back_the_job_another_run_holds(
    gate: Gate,
) -> None:
    org, limits = uuid.uuid4(), limits_for("free")  # one running slot
    stalled, behind = job(), job()
    await gate.admit(org, stalled, b"body", limits)
    await gate.admit(org, behind, b"body", limits)
    await gate.start(stalled, 0.001, holder="run-a")  # run a's lease runs out while it still works

    async def reaped() -> bool:
        return await gate.requeue(await gate.expired_leases()) == [stalled]

    await eventually(reaped)
    await gate.start(stalled, 30, holder="run-b")

    assert not await gate.defer(stalled, time.time() + 60, holder="run-a")
    assert not await gate.handback(stalled, holder="run-a")
    assert await gate.finish(stalled, holder="run-a") == []
    assert await gate.states([stalled, behind]) == ["running", "waiting"]  # still run b's, the slot still taken
    assert await gate.redis.zscore(gate.keys.prefix + "leases", stalled) is not None

    assert await gate.finish(stalled, holder="run-b") == [behind]
