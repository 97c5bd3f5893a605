"""The capacity gate against real Redis: limits under concurrency, promotion, cancel, leases, script loss."""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from collections import Counter
from pathlib import Path
from time import time as real_time
from unittest import mock

import pytest
from arq.constants import in_progress_key_prefix, job_key_prefix
from redis.asyncio import Redis

from scanfleet.api.ratelimit import RateLimiter
from scanfleet.broker import connection
from scanfleet.broker.gate import Gate
from scanfleet.broker.ratelimit import Allowances
from scanfleet.config import Settings
from scanfleet.embedded import EmbeddedValkey
from scanfleet.tiers import limits_for


def job() -> str:
    return f"scan:{uuid.uuid4()}"


async def test_concurrent_submissions_never_exceed_the_limits(gate: Gate) -> None:
    """200 submissions from 8 clients (separate connections, like API replicas) for three orgs at once."""
    clients = [Redis.from_url(_url(gate)) for _ in range(8)]
    replicas = [Gate(client, gate.keys) for client in clients]
    orgs = {uuid.uuid4(): limits_for(tier) for tier in ("free", "pro", "enterprise")}
    plan = [(org, limits) for org, limits in orgs.items() for _ in range(200 // 3 + 1)][:200]
    submitted = Counter(org for org, _ in plan)
    try:
        admissions = await asyncio.gather(
            *(replicas[n % 8].admit(org, job(), b"body", limits) for n, (org, limits) in enumerate(plan))
        )
    finally:
        for client in clients:
            await client.aclose()
    for org, limits in orgs.items():
        outcomes = Counter(a.outcome for a, (o, _) in zip(admissions, plan, strict=True) if o == org)
        expected_dispatched = min(limits.max_running, submitted[org])
        expected_waiting = min(limits.max_queued, submitted[org] - expected_dispatched)
        assert outcomes["dispatched"] == expected_dispatched, (limits.tier, outcomes)
        assert outcomes["waiting"] == expected_waiting, (limits.tier, outcomes)
        usage = await gate.usage(org)
        assert (usage.running, usage.queued) == (expected_dispatched, expected_waiting)
    assert await gate.redis.zcard(gate.keys.queue) == sum(min(lim.max_running, submitted[o]) for o, lim in orgs.items())


def _url(gate: Gate) -> str:
    kwargs = gate.redis.connection_pool.connection_kwargs
    return f"redis://{kwargs['host']}:{kwargs['port']}/{kwargs.get('db', 0)}"


async def test_a_finished_job_dispatches_the_next_waiting_one_in_order(gate: Gate) -> None:
    org, limits = uuid.uuid4(), limits_for("free")
    first, second, third = job(), job(), job()
    for job_id in (first, second, third):
        await gate.admit(org, job_id, job_id.encode(), limits)
    assert await gate.states([first, second, third]) == ["dispatched", "waiting", "waiting"]

    assert await gate.finish(first, duration_seconds=2.0) == [second]
    assert await gate.states([first, second, third]) == [None, "dispatched", "waiting"]
    assert await gate.redis.get(job_key_prefix + second) == second.encode()  # arq can run it now
    assert await gate.finish(first) == []  # finishing twice changes nothing
    assert (await gate.usage(org)).running == 1


async def test_cancel_frees_a_waiting_or_undispatched_place_but_not_a_running_job(gate: Gate) -> None:
    org, limits = uuid.uuid4(), limits_for("free")
    running, dispatched_later, waiting = job(), job(), job()
    for job_id in (running, dispatched_later, waiting):
        await gate.admit(org, job_id, b"body", limits)
    assert await gate.cancel(waiting) == "removed"
    await gate.start(running, lease_seconds=30)
    assert await gate.cancel(running) == "running"  # the caller aborts it; its slot frees when it stops
    assert await gate.finish(running) == [dispatched_later]
    assert await gate.cancel(dispatched_later) == "removed"  # dispatched, not started: taken out of arq
    assert await gate.redis.zscore(gate.keys.queue, dispatched_later) is None
    assert await gate.cancel(job()) == "unknown"
    usage = await gate.usage(org)
    assert (usage.running, usage.queued) == (0, 0)


async def test_limit_changes_apply_to_the_next_admission_and_raise_promotes_at_once(gate: Gate) -> None:
    org = uuid.uuid4()
    held = [job() for _ in range(4)]
    for job_id in held:
        await gate.admit(org, job_id, b"body", limits_for("free"))
    assert (await gate.usage(org)).running == 1
    promoted = await gate.set_limits(org, limits_for("pro"))
    assert promoted == held[1:]
    lowered = limits_for("free", max_running=0, max_queued=0)
    await gate.set_limits(org, lowered)
    assert (await gate.admit(org, job(), b"body", lowered)).outcome == "rejected"


async def test_expired_lease_is_requeued_and_a_renewed_one_is_not(gate: Gate) -> None:
    org, limits = uuid.uuid4(), limits_for("pro")
    dead, alive = job(), job()
    for job_id in (dead, alive):
        await gate.admit(org, job_id, b"body", limits)
        await gate.start(job_id, lease_seconds=-1)  # a deadline already past: its worker is gone
        await gate.redis.set(in_progress_key_prefix + job_id, b"1", ex=60)  # what arq sets for a running job
    await gate.renew(alive, lease_seconds=30)

    expired = await gate.expired_leases()
    assert dead in expired and alive not in expired
    assert await gate.requeue([dead, alive]) == [dead]
    assert await gate.redis.exists(in_progress_key_prefix + dead) == 0  # another worker may take it now
    assert await gate.redis.exists(in_progress_key_prefix + alive) == 1
    assert await gate.states([dead, alive]) == ["dispatched", "running"]
    assert (await gate.usage(org)).running == 2  # the requeued job keeps its slot


async def test_forced_admission_never_refuses_a_job_accepted_earlier(gate: Gate) -> None:
    org, limits = uuid.uuid4(), limits_for("free", max_running=0, max_queued=0)
    assert (await gate.admit(org, job(), b"body", limits)).outcome == "rejected"
    assert (await gate.admit(org, job(), b"body", limits, force=True)).outcome == "waiting"


async def test_retry_after_follows_recent_durations(gate: Gate) -> None:
    org, limits = uuid.uuid4(), limits_for("pro")
    assert await gate.retry_after_seconds(limits) == 1
    for _ in range(30):
        job_id = job()
        await gate.admit(org, job_id, b"body", limits)
        await gate.finish(job_id, duration_seconds=20.0)
    # Twenty seconds a job over five slots: a place frees about every four seconds.
    assert 3 <= await gate.retry_after_seconds(limits) <= 4


async def test_admission_survives_script_flush_and_a_redis_restart(tmp_path: Path, settings: Settings) -> None:
    server = EmbeddedValkey(tmp_path / "valkey")
    redis = await connection.connect(settings.model_copy(update={"redis_url": server.start()}))
    try:
        gate = Gate(redis)
        org, limits = uuid.uuid4(), limits_for("pro")
        assert (await gate.admit(org, job(), b"body", limits)).outcome == "dispatched"
        await redis.script_flush()
        assert (await gate.admit(org, job(), b"body", limits)).outcome == "dispatched"
        server.stop()
        server.start()  # same port, data kept in its append-only file
        assert (await gate.admit(org, job(), b"body", limits)).outcome == "dispatched"
        assert (await gate.usage(org)).running == 3
    finally:
        await redis.aclose()
        server.stop()


async def test_rate_limit_is_shared_by_replicas_and_says_when_to_retry(queue: Redis) -> None:
    key = uuid.uuid4()
    replicas = [RateLimiter(Allowances(queue)), RateLimiter(Allowances(queue))]
    decisions = [await replicas[n % 2].hit(key, requests_per_minute=60) for n in range(61)]
    assert all(d.allowed for d in decisions[:60])
    assert [d.remaining for d in decisions[:3]] == [59, 58, 57]
    refused = decisions[60]
    assert not refused.allowed and refused.remaining == 0
    assert refused.retry_after_seconds == 1  # one request's worth of the minute
    assert refused.headers()["Retry-After"] == "1" and refused.headers()["RateLimit-Limit"] == "60"


async def test_rate_limit_holds_across_replicas_whose_clocks_differ(queue: Redis) -> None:
    """Replicas' clocks are never exactly in step: the limit reads one clock, Redis's, whatever theirs say."""
    key = uuid.uuid4()
    replicas = [RateLimiter(Allowances(queue)), RateLimiter(Allowances(queue))]
    admitted = 0
    for n in range(70):
        skew = 5.0 if n % 2 else 0.0  # every other request through a replica whose clock runs 5 s ahead
        with mock.patch("time.time", lambda skew=skew: real_time() + skew):
            admitted += (await replicas[n % 2].hit(key, requests_per_minute=60)).allowed
    assert admitted == 60


async def test_a_busy_key_takes_its_allowance_a_batch_at_a_time(queue: Redis) -> None:
    key, limiter = uuid.uuid4(), RateLimiter(Allowances(queue))
    started = time.monotonic()
    with mock.patch.object(Allowances, "take", autospec=True, side_effect=Allowances.take) as take:
        decisions = [await limiter.hit(key, requests_per_minute=6000) for _ in range(150)]
    refilled = math.ceil((time.monotonic() - started) * 100)  # 6000 a minute come back at 100 a second
    assert all(d.allowed for d in decisions)
    assert take.call_count == 3  # 60 requests (1% of the limit) a round trip
    assert [d.remaining for d in decisions[:3]] == [5999, 5998, 5997]  # the shared count, and the batch's
    assert 5850 <= decisions[-1].remaining <= 5850 + refilled


async def test_concurrent_requests_of_a_key_share_the_one_batch_taken(queue: Redis) -> None:
    key, limiter = uuid.uuid4(), RateLimiter(Allowances(queue))
    with mock.patch.object(Allowances, "take", autospec=True, side_effect=Allowances.take) as take:
        decisions = await asyncio.gather(*(limiter.hit(key, requests_per_minute=6000) for _ in range(60)))
    assert all(d.allowed for d in decisions)
    assert take.call_count == 1  # the others waited for the first one's batch of 60, none took one of its own
    assert sorted(d.remaining for d in decisions) == list(range(5940, 6000))


async def test_batched_replicas_admit_about_the_limit_and_never_a_batch_more_each(queue: Redis) -> None:
    key = uuid.uuid4()
    replicas = [RateLimiter(Allowances(queue)), RateLimiter(Allowances(queue))]
    started = time.monotonic()
    decisions = [await replicas[n % 2].hit(key, requests_per_minute=600) for n in range(700)]
    admitted = sum(d.allowed for d in decisions)
    refilled = math.ceil((time.monotonic() - started) * 10) + 1  # 600 a minute come back at 10 a second
    batch = 6
    # Each replica may be left holding (refused early) or still spending (admitted late) up to one batch.
    assert 600 - 2 * batch <= admitted <= 600 + refilled + 2 * batch, admitted
    refused = next(d for d in decisions if not d.allowed)
    assert refused.retry_after_seconds >= 1 and refused.headers()["Retry-After"] == str(refused.retry_after_seconds)


async def test_a_lease_left_unspent_is_dropped_after_its_time(queue: Redis) -> None:
    now = [0.0]
    key, limiter = uuid.uuid4(), RateLimiter(Allowances(queue), clock=lambda: now[0])
    with mock.patch.object(Allowances, "take", autospec=True, side_effect=Allowances.take) as take:
        await limiter.hit(key, requests_per_minute=6000)
        now[0] += RateLimiter.LEASE_SECONDS
        await limiter.hit(key, requests_per_minute=6000)
    assert take.call_count == 2  # the first batch's 59 others were not spent in time: a new batch


async def test_a_refused_busy_key_is_refused_here_until_its_retry_after(queue: Redis) -> None:
    now = [0.0]
    key, limiter = uuid.uuid4(), RateLimiter(Allowances(queue), clock=lambda: now[0])
    with mock.patch.object(Allowances, "take", autospec=True, side_effect=Allowances.take) as take:
        decisions = [await limiter.hit(key, requests_per_minute=200) for _ in range(210)]
        assert sum(d.allowed for d in decisions) <= 200 + 2  # the minute's burst, and what came back meanwhile
        refused = [d for d in decisions if not d.allowed]
        asked = take.call_count
        assert refused and asked <= 100 + 2  # 2 a take; after the first refusal, none until its Retry-After
        assert all(d.retry_after_seconds >= 1 and d.remaining == 0 for d in refused)
        now[0] += refused[-1].retry_after_seconds
        await limiter.hit(key, requests_per_minute=200)
        assert take.call_count == asked + 1  # its time is up: Redis decides again


@pytest.mark.parametrize("tier", ["free", "pro", "enterprise"])
def test_tier_defaults(tier: str) -> None:
    expected = {"free": (1, 5), "pro": (5, 50), "enterprise": (20, 200)}[tier]
    limits = limits_for(tier)
    assert (limits.max_running, limits.max_queued) == expected
    assert limits_for(tier, max_running=7).max_running == 7


async def test_a_run_whose_lease_was_reaped_cannot_renew_the_lease_of_the_run_that_now_holds_the_job(
    gate: Gate,
) -> None:
    org, job_id = uuid.uuid4(), job()
    await gate.admit(org, job_id, b"body", limits_for("pro"))
    await gate.start(job_id, lease_seconds=-1, holder="first")  # its worker stopped: the lease is over
    assert await gate.requeue(await gate.expired_leases()) == [job_id]
    await gate.start(job_id, lease_seconds=30, holder="second")
    deadline = await gate.redis.zscore(gate.keys.leases, job_id)
    assert await gate.renew(job_id, lease_seconds=3600, holder="first") is False  # the stale run
    assert await gate.redis.zscore(gate.keys.leases, job_id) == deadline  # the holder's lease is untouched
    assert await gate.renew(job_id, lease_seconds=3600, holder="second") is True
    assert await gate.redis.zscore(gate.keys.leases, job_id) > deadline
