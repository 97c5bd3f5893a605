"""Two replicas share each breaker through Redis: what one sees open, the other does; one trial fleet-wide."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any
from unittest import mock

import pytest
from arq.connections import ArqRedis
from prometheus_client import REGISTRY
from redis.asyncio import Redis

from scanfleet.breakers import SharedBreakers
from scanfleet.breakers.circuit import Snapshot
from tests.support.site import eventually, past

HOST = "dead.example"

Replicas = Callable[..., tuple[SharedBreakers, ...]]


def transitions(kind: str, state: str) -> float:
    return REGISTRY.get_sample_value("scanfleet_breaker_transitions_total", {"kind": kind, "state": state}) or 0.0


async def test_failures_on_either_replica_count_and_when_one_opens_it_both_see_it_open(replicas: Replicas) -> None:
    a, b = replicas(fail_max=3, reset_seconds=60)
    await a.record(HOST, ok=False)
    await b.record(HOST, ok=False)
    assert await a.open_until(HOST) is None and await b.state(HOST) == "closed"

    await a.record(HOST, ok=False)
    until = await b.open_until(HOST)
    assert until is not None and 59 < until - time.time() <= 60
    assert await a.open_until(HOST) == until
    assert (await a.state(HOST), await b.state(HOST)) == ("open", "open")
    assert await b.open_until("other.example") is None  # one circuit per name


async def test_a_success_on_any_replica_clears_the_count(replicas: Replicas) -> None:
    a, b = replicas(fail_max=3)
    for replica in (a, b):
        await replica.record(HOST, ok=False)
    await b.record(HOST, ok=True)
    for replica in (a, b):
        await replica.record(HOST, ok=False)
    assert await a.open_until(HOST) is None  # two in a row since the success: not enough


async def test_concurrent_failures_across_replicas_are_all_counted_and_it_opens_once(
    replicas: Replicas, kind: str
) -> None:
    a, b = replicas(fail_max=20)
    before = transitions(kind, "open")
    await asyncio.gather(*(replica.record(HOST, ok=False) for replica in (a, b) for _ in range(10)))

    assert await a.state(HOST) == "open"  # opens only if not one of the 20 failures was lost
    assert transitions(kind, "open") - before == 1  # one transition fleet-wide, not one per replica that saw it


async def test_of_twenty_concurrent_callers_exactly_one_gets_the_half_open_trial(replicas: Replicas) -> None:
    a, b = replicas(fail_max=1, reset_seconds=0.2, trial_seconds=30)
    await a.record(HOST, ok=False)
    until = await b.open_until(HOST)
    assert until is not None
    await past(until)

    answers = await asyncio.gather(*(replica.open_until(HOST) for replica in (a, b) for _ in range(10)))

    assert answers.count(None) == 1
    waits = {answer for answer in answers if answer is not None}
    assert len(waits) == 1 and 29 < waits.pop() - time.time() <= 30  # everyone else waits for the trial
    assert (await a.state(HOST), await b.state(HOST)) == ("half-open", "half-open")


async def test_a_successful_trial_closes_it_for_every_replica(replicas: Replicas) -> None:
    a, b = replicas(fail_max=1, reset_seconds=0.2, trial_seconds=30)
    assert await a.record(HOST, ok=False) == "open"
    await past(time.time() + 0.2)
    assert await b.open_until(HOST) is None  # b holds the trial
    assert await a.open_until(HOST) is not None

    assert await b.record(HOST, ok=True) == "closed"  # the caller learns its outcome closed the circuit
    assert await b.record(HOST, ok=True) is None  # and a success that moves nothing says so
    assert (await a.state(HOST), await b.state(HOST)) == ("closed", "closed")
    assert await a.open_until(HOST) is None and await b.open_until(HOST) is None


async def test_a_failed_trial_reopens_it_for_a_whole_timeout(replicas: Replicas) -> None:
    a, b = replicas(fail_max=1, reset_seconds=0.5, trial_seconds=30)
    await a.record(HOST, ok=False)
    await past(time.time() + 0.5)
    assert await b.open_until(HOST) is None

    await b.record(HOST, ok=False)
    until = await a.open_until(HOST)
    assert until is not None and until - time.time() > 0.25
    assert await a.state(HOST) == "open"


async def test_a_trial_whose_caller_never_reports_lapses_and_another_caller_gets_it(replicas: Replicas) -> None:
    a, b = replicas(fail_max=1, reset_seconds=0.1, trial_seconds=0.3)
    await a.record(HOST, ok=False)
    await past(time.time() + 0.1)
    assert await a.open_until(HOST) is None  # a takes the trial, then dies without a word
    claim = await b.open_until(HOST)
    assert claim is not None

    async def b_gets_it() -> bool:
        return await b.open_until(HOST) is None

    await eventually(b_gets_it, timeout=5)
    assert time.time() >= claim and await a.open_until(HOST) is not None  # b's claim now, a waits on it


async def test_each_transition_is_logged_once_with_its_kind_and_name_and_counted(
    replicas: Replicas, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    a, b = replicas(fail_max=2, reset_seconds=0.1, trial_seconds=30)
    counted = {state: transitions(kind, state) for state in ("open", "half-open", "closed")}
    caplog.set_level(logging.INFO, logger="scanfleet.breakers")

    await asyncio.gather(a.record(HOST, ok=False), b.record(HOST, ok=False), b.record(HOST, ok=False))
    await past(time.time() + 0.1)
    await asyncio.gather(a.open_until(HOST), b.open_until(HOST))
    await a.record(HOST, ok=True)

    lines = [record.getMessage() for record in caplog.records if record.name.startswith("scanfleet.breakers")]
    assert lines == [
        f"circuit breaker {kind} {HOST}: closed -> open",
        f"circuit breaker {kind} {HOST}: open -> half-open",
        f"circuit breaker {kind} {HOST}: half-open -> closed",
    ]
    assert {state: transitions(kind, state) - counted[state] for state in counted} == {
        "open": 1, "half-open": 1, "closed": 1
    }  # fmt: skip


async def test_only_troubled_breakers_keep_a_key_and_it_expires(
    replicas: Replicas, queue: ArqRedis, prefix: str, kind: str
) -> None:
    [replica] = replicas(fail_max=2, reset_seconds=60, count=1)
    key = f"{prefix}state:{kind}:{HOST}"
    await replica.record(HOST, ok=True)
    assert not await queue.exists(key)  # a healthy breaker costs nothing in Redis

    await replica.record(HOST, ok=False)
    ttl = replica.reset_seconds + replica.trial_seconds + 86_400
    assert (ttl - 5) * 1000 < await queue.pttl(key) <= ttl * 1000
    await replica.record(HOST, ok=False)
    assert (ttl - 5) * 1000 < await queue.pttl(key) <= ttl * 1000  # refreshed by each change

    await queue.delete(key)  # as if its day passed untouched: forgotten, closed
    assert await replica.state(HOST) == "closed" and await replica.open_until(HOST) is None


async def test_outcomes_recorded_from_a_stale_snapshot_still_all_count(replicas: Replicas) -> None:
    """Calls admitted on one snapshot, their failures recorded from it while others' failures land: the
    compare-and-set loses, decides again on what is there, and no failure is lost."""
    a, b = replicas(fail_max=3, reset_seconds=60)
    passes = [await a.admit(HOST) for _ in range(3)]
    assert all(admitted.until is None for admitted in passes)
    for admitted in passes:
        await b.record(HOST, ok=False, seen=admitted.seen)  # every one but the first finds it changed
    assert await a.state(HOST) == "open"


async def test_a_success_on_a_clean_closed_circuit_reads_nothing_more(replicas: Replicas) -> None:
    (a,) = replicas(fail_max=3, count=1)
    admitted = await a.admit(HOST)
    reads = 0
    read = a.store.read

    async def counted(name: str) -> str:
        nonlocal reads
        reads += 1
        return await read(name)

    a.store.read = counted  # type: ignore[method-assign]
    assert await a.record(HOST, ok=True, seen=admitted.seen) is None
    assert reads == 0
    await a.record(HOST, ok=True)  # without the snapshot: read again
    assert reads == 1


async def test_breakers_of_two_kinds_are_read_in_one_command_and_each_decides_on_its_snapshot(
    connect: Callable[[], Redis], prefix: str, kind: str
) -> None:
    redis = connect()
    targets = SharedBreakers(redis, kind, 1, 60.0, prefix)
    storage = SharedBreakers(redis, f"{kind}-store", 1, 0.2, prefix, trial_seconds=30)
    await targets.record(HOST, ok=False)  # open for a minute
    await storage.record("store", ok=False)  # its trial is due 0.2 s later
    other = SharedBreakers(connect(), f"{kind}-store", 1, 0.2, prefix, trial_seconds=30)  # another replica
    commands: list[str] = []
    sent: Callable[..., Awaitable[Any]] = redis.execute_command

    async def counted(*args: Any, **options: Any) -> Any:
        commands.append(str(args[0]))
        return await sent(*args, **options)

    with mock.patch.object(redis, "execute_command", counted):
        target_read, store_read = await targets.read_together(HOST, [(storage, "store")])
        assert commands == ["MGET"]
        assert Snapshot.decode(target_read or "").state == "open" and Snapshot.decode(store_read or "").state == "open"
        assert (await targets.admit(HOST, target_read)).until is not None
        assert commands == ["MGET"]  # decided on the snapshot read: no GET

        await past(time.time() + 0.2)
        assert await other.open_until("store") is None  # the other replica takes the trial first
        # The snapshot read before is stale now: the compare-and-set loses, and the call waits for the trial.
        late = await storage.admit("store", store_read)
        assert late.until is not None and 29 < late.until - time.time() <= 30
