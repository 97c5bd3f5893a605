"""Workers take the gate's ready jobs: never a running one, each once, one wake-up token per job ready, and a
dispatched job no worker could see is dispatched again by reconciliation."""

from __future__ import annotations

import asyncio
import time
import uuid
from unittest import mock

import pytest
from arq.constants import in_progress_key_prefix

from scanfleet.broker.decode import reply, text
from scanfleet.broker.gate import Gate
from scanfleet.tiers import limits_for

IN_PROGRESS_MS = 60_000
LONG_AGO_MS = 600_000  # far beyond any stall_seconds below
MANY = limits_for("enterprise", max_running=1000, max_queued=1000)


def job() -> str:
    return f"scan:{uuid.uuid4()}"


async def test_a_take_returns_new_jobs_and_none_of_the_running_ones_ahead_of_them(gate: Gate) -> None:
    org = uuid.uuid4()
    running = [job() for _ in range(50)]
    for job_id in running:
        await gate.admit(org, job_id, b"body", MANY)
    taken, _ = await gate.take(100, IN_PROGRESS_MS)
    assert sorted(job_id for job_id, _ in taken) == sorted(running)
    for job_id in running:
        await gate.start(job_id, 30)
    assert await gate.redis.zcard(gate.keys.queue) == 50  # arq's queue still holds every running job

    new = job()
    await gate.admit(org, new, b"body", MANY)
    taken, _ = await gate.take(100, IN_PROGRESS_MS)
    assert [job_id for job_id, _ in taken] == [new]
    assert await gate.redis.exists(in_progress_key_prefix + new) == 1  # marked as arq's own poll marks it
    assert (await gate.take(100, IN_PROGRESS_MS))[0] == []


async def test_concurrent_takes_never_hand_out_a_job_twice(gate: Gate) -> None:
    org = uuid.uuid4()
    jobs = [job() for _ in range(40)]
    for job_id in jobs:
        await gate.admit(org, job_id, b"body", MANY)
    answers = await asyncio.gather(*(gate.take(3, IN_PROGRESS_MS) for _ in range(20)))
    taken = [job_id for pairs, _ in answers for job_id, _ in pairs]
    assert sorted(taken) == sorted(jobs)
    assert all(len(pairs) <= 3 for pairs, _ in answers)


async def test_each_ready_job_leaves_one_wake_up_token_and_taking_it_leaves_none(gate: Gate) -> None:
    org = uuid.uuid4()
    for _ in range(3):
        await gate.admit(org, job(), b"body", MANY)
    assert await reply(gate.redis.llen(gate.keys.wake)) == 3  # three idle workers woken, one per job
    await gate.take(2, IN_PROGRESS_MS)
    assert await reply(gate.redis.llen(gate.keys.wake)) == 1  # one job left ready: one token
    await gate.take(2, IN_PROGRESS_MS)
    assert await reply(gate.redis.llen(gate.keys.wake)) == 0


async def test_a_cancelled_job_is_not_taken(gate: Gate) -> None:
    org, cancelled = uuid.uuid4(), job()
    await gate.admit(org, cancelled, b"body", MANY)
    assert await gate.cancel(cancelled) == "removed"
    assert (await gate.take(10, IN_PROGRESS_MS))[0] == []
    assert await reply(gate.redis.llen(gate.keys.wake)) == 0


async def test_a_job_still_marked_in_progress_waits_and_is_taken_once_the_marker_is_gone(gate: Gate) -> None:
    org, handed_back = uuid.uuid4(), job()
    await gate.admit(org, handed_back, b"body", MANY)
    await gate.take(1, IN_PROGRESS_MS)
    await gate.start(handed_back, 30)
    assert await gate.handback(handed_back)  # the stopping worker clears arq's marker only after this
    assert (await gate.take(1, IN_PROGRESS_MS))[0] == []
    await gate.redis.delete(in_progress_key_prefix + handed_back)
    await gate.redis.zadd(gate.keys.ready, {handed_back: 0})  # its look-again time, come
    taken, _ = await gate.take(1, IN_PROGRESS_MS)
    assert [job_id for job_id, _ in taken] == [handed_back]


async def test_aborts_come_with_the_take(gate: Gate) -> None:
    org, running = uuid.uuid4(), job()
    await gate.admit(org, running, b"body", MANY)
    await gate.take(1, IN_PROGRESS_MS)
    await gate.start(running, 30)
    assert await gate.cancel(running) == "running"
    taken, aborts = await gate.take(0, IN_PROGRESS_MS)
    assert taken == [] and running in aborts  # arq's abort set is shared: other jobs' aborts may be there too


async def test_a_dispatched_job_no_worker_can_see_is_dispatched_again(gate: Gate) -> None:
    org, unseen = uuid.uuid4(), job()
    await gate.admit(org, unseen, b"body", limits_for("pro"))
    await gate.redis.zrem(gate.keys.ready, unseen)  # as an older release's gate dispatched: arq's queue only
    assert await gate.requeue([unseen]) == [unseen]
    taken, _ = await gate.take(1, IN_PROGRESS_MS)
    assert [job_id for job_id, _ in taken] == [unseen]
    assert await gate.requeue([unseen]) == []  # taken: a worker has it now


async def test_a_long_wait_among_the_ready_does_not_make_a_fresh_take_look_stalled(gate: Gate) -> None:
    org, waited, abandoned = uuid.uuid4(), job(), job()
    await gate.admit(org, waited, b"body", MANY)
    await gate.admit(org, abandoned, b"body", MANY)
    await gate.take(1, IN_PROGRESS_MS)  # the earlier: `waited`
    # `abandoned` was taken long ago by a worker that never started it.
    await gate.take(1, IN_PROGRESS_MS)
    taken_ms = int(text(await reply(gate.redis.hget(gate.keys.job(abandoned), "taken_ms"))))
    await reply(gate.redis.hset(gate.keys.job(abandoned), "taken_ms", str(taken_ms - LONG_AGO_MS)))
    await reply(gate.redis.hset(gate.keys.job(abandoned), "dispatched_ms", str(taken_ms - LONG_AGO_MS)))
    # `waited` sat among the ready long before a worker took it just now.
    dispatched_ms = int(text(await reply(gate.redis.hget(gate.keys.job(waited), "dispatched_ms"))))
    await reply(gate.redis.hset(gate.keys.job(waited), "dispatched_ms", str(dispatched_ms - LONG_AGO_MS)))

    assert await gate.requeue([waited, abandoned], stall_seconds=30) == [abandoned]
    assert await gate.redis.exists(in_progress_key_prefix + waited) == 1  # its worker starts it undisturbed
    assert await gate.start(waited, 30) == "dispatched"
    assert [job_id for job_id, _ in (await gate.take(10, IN_PROGRESS_MS))[0]] == [abandoned]  # to another worker


async def test_a_job_handed_back_long_after_its_take_is_not_stalled_while_its_marker_clears(gate: Gate) -> None:
    org, handed_back = uuid.uuid4(), job()
    await gate.admit(org, handed_back, b"body", MANY)
    await gate.take(1, IN_PROGRESS_MS)
    taken_ms = int(text(await reply(gate.redis.hget(gate.keys.job(handed_back), "taken_ms"))))
    await reply(gate.redis.hset(gate.keys.job(handed_back), "taken_ms", str(taken_ms - LONG_AGO_MS)))
    await gate.start(handed_back, 30)
    assert await gate.handback(handed_back)  # arq's marker from that old take is still there
    assert await gate.requeue([handed_back], stall_seconds=30) == []


@pytest.mark.parametrize(("worker_skew", "api_skew"), [(-60.0, 0.0), (0.0, 60.0)])
async def test_a_ready_job_is_taken_at_once_whatever_the_clocks_of_the_worker_and_the_api_say(
    gate: Gate, worker_skew: float, api_skew: float
) -> None:
    """Ready is judged by Redis's clock: a worker running behind (or an API running ahead) sees new jobs now."""
    org, new = uuid.uuid4(), job()
    real_time = time.time
    with mock.patch("time.time", lambda: real_time() + api_skew):
        await gate.admit(org, new, b"body", MANY)
    with mock.patch("time.time", lambda: real_time() + worker_skew):
        taken, _ = await gate.take(1, IN_PROGRESS_MS)
    assert [job_id for job_id, _ in taken] == [new]
