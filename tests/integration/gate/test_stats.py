"""Queue truth against real Valkey: ready, running and deferred told apart, the oldest ready age, live workers,
and a cost that follows the running jobs, not the length of the queue."""

from __future__ import annotations

import time
import uuid

import pytest
from arq.constants import in_progress_key_prefix

from scanfleet.broker.gate import Gate
from scanfleet.broker.stats import QueueTruth, queue_truth, tier_totals
from scanfleet.tiers import limits_for


def _now_ms() -> int:
    return int(time.time() * 1000)


def _workers(gate: Gate) -> str:
    return gate.keys.prefix + "workers"  # out of reach of real workers registering in the session's Valkey


async def _truth(gate: Gate) -> QueueTruth:
    return await queue_truth(gate, workers_key=_workers(gate))


async def _enqueue(gate: Gate, scores: dict[str, int]) -> None:
    """Jobs in arq's queue at the given due times (ms), as arq's enqueue_job and the gate's dispatch leave them."""
    await gate.redis.zadd(gate.keys.queue, scores)


async def _taken_by_arq(gate: Gate, *job_ids: str) -> None:
    for job_id in job_ids:
        await gate.redis.psetex(in_progress_key_prefix + job_id, 60_000, b"1")


async def _cleanup_in_progress(gate: Gate, job_ids: list[str]) -> None:
    await gate.redis.delete(*(in_progress_key_prefix + job_id for job_id in job_ids))


async def test_an_empty_queue_reads_zero(gate: Gate) -> None:
    assert await _truth(gate) == QueueTruth(0, 0, 0, 0.0, 0)


async def test_ready_running_and_deferred_are_told_apart(gate: Gate) -> None:
    now = _now_ms()
    await _enqueue(
        gate,
        {
            "taken": now - 20_000,  # arq took it; the gate has not started it yet
            "leased": now - 15_000,  # started under the gate's lease
            "ready-old": now - 5_000,
            "ready-new": now - 1_000,
            "retrying": now + 30_000,  # arq's retry moved a running job's score ahead; it still holds its lease
            "later": now + 60_000,  # arq's defer_by
        },
    )
    await _taken_by_arq(gate, "taken", "leased", "retrying")
    await gate.redis.zadd(gate.keys.prefix + "leases", {"leased": now + 15_000, "retrying": now + 15_000})
    await gate.redis.zadd(gate.keys.prefix + "deferred", {"parked": now + 5_000})  # set aside by the gate, not in arq
    try:
        truth = await _truth(gate)
    finally:
        await _cleanup_in_progress(gate, ["taken", "leased", "retrying"])

    assert (truth.ready, truth.running, truth.deferred) == (2, 3, 2)
    # The started jobs ahead of it do not count: the oldest *ready* job has waited 5 s.
    assert 5.0 <= truth.oldest_ready_age_seconds < 8.0


async def test_jobs_dispatched_by_the_gate_are_ready_until_started(gate: Gate) -> None:
    org = uuid.uuid4()
    for job_id in ("a", "b", "c"):
        await gate.admit(org, job_id, b"body", limits_for("pro"))
    assert (await _truth(gate)).ready == 3

    await _taken_by_arq(gate, "a")
    await gate.start("a", lease_seconds=15)
    try:
        truth = await _truth(gate)
    finally:
        await _cleanup_in_progress(gate, ["a"])
    assert (truth.ready, truth.running, truth.deferred) == (2, 1, 0)

    await gate.finish("a")  # a worker would now remove it from arq's queue
    await gate.redis.zrem(gate.keys.queue, "a")
    assert (await _truth(gate)).running == 0


async def test_a_job_due_in_the_future_is_deferred_until_its_time(gate: Gate) -> None:
    now = _now_ms()
    await _enqueue(gate, {"soon": now + 60_000})
    assert await _truth(gate) == QueueTruth(0, 0, 1, 0.0, 0)

    await gate.redis.zadd(gate.keys.queue, {"soon": now - 2_000})  # the same job, now due
    truth = await _truth(gate)
    assert (truth.ready, truth.deferred) == (1, 0)
    assert 2.0 <= truth.oldest_ready_age_seconds < 5.0


async def test_oldest_ready_age_is_zero_when_every_due_job_is_running(gate: Gate) -> None:
    now = _now_ms()
    await _enqueue(gate, {"one": now - 30_000, "two": now - 10_000})
    await _taken_by_arq(gate, "one", "two")
    try:
        truth = await _truth(gate)
    finally:
        await _cleanup_in_progress(gate, ["one", "two"])
    assert (truth.ready, truth.running, truth.oldest_ready_age_seconds) == (0, 2, 0.0)


async def test_workers_count_only_while_their_heartbeat_is_recent(gate: Gate) -> None:
    now = _now_ms()
    await gate.redis.zadd(
        _workers(gate), {"host-a:1": now, "host-a:2": now - 10_000, "host-b:7": now - 16_000, "host-c:9": now - 600_000}
    )
    assert (await _truth(gate)).workers == 2

    await gate.redis.zadd(_workers(gate), {"host-b:7": _now_ms()})  # its next heartbeat
    assert (await _truth(gate)).workers == 3


async def _calls(gate: Gate) -> int:
    """Commands a script runs per job it visits, counted by the server since it started."""
    stats = await gate.redis.info("commandstats")
    return sum(stats.get(f"cmdstat_{name}", {}).get("calls", 0) for name in ("zscore", "exists"))


async def test_ten_thousand_ready_jobs_cost_no_more_than_the_running_ones(gate: Gate) -> None:
    now = _now_ms()
    running = [f"running-{i}" for i in range(50)]
    await _enqueue(gate, {job_id: now - 120_000 + i for i, job_id in enumerate(running)})
    await _enqueue(gate, {f"ready-{i}": now - 60_000 + i for i in range(10_000)})
    await _taken_by_arq(gate, *running[:25])  # half taken by arq, half started under the gate
    await gate.redis.zadd(gate.keys.prefix + "leases", {job_id: now + 15_000 for job_id in running[25:]})
    try:
        before = await _calls(gate)
        truth = await _truth(gate)
        visited = await _calls(gate) - before
    finally:
        await _cleanup_in_progress(gate, running)

    assert (truth.ready, truth.running, truth.deferred) == (10_000, 50, 0)
    assert 60.0 <= truth.oldest_ready_age_seconds < 63.0
    # Each running job costs a couple of lookups; a walk over the queue would cost 10,000 or more.
    assert visited <= 4 * len(running) + 10


@pytest.mark.parametrize("deferred", [0, 2])
async def test_tier_totals_sum_running_queued_and_room_in_line(gate: Gate, deferred: int) -> None:
    free_a, free_b, pro = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    for org, limits, count in ((free_a, limits_for("free"), 3), (free_b, limits_for("free", max_queued=7), 1)):
        for n in range(count):
            await gate.admit(org, f"{org}-{n}", b"body", limits)
    await gate.admit(pro, f"{pro}-0", b"body", limits_for("pro"))
    for n in range(deferred):  # jobs set aside by the gate count among their org's queued
        await gate.redis.zadd(f"{gate.keys.prefix}deferred:{free_b}", {f"{free_b}-deferred-{n}": _now_ms() + 60_000})

    totals = await tier_totals(gate)
    assert (totals["free"].running, totals["free"].queued, totals["free"].capacity) == (2, 2 + deferred, 5 + 7)
    assert (totals["pro"].running, totals["pro"].queued, totals["pro"].capacity) == (1, 0, 50)
    assert "enterprise" not in totals
