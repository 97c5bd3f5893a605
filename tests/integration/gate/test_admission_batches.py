"""Admissions made together go as one pipeline, each placed as it would be alone, in the order they were made;
a Redis that forgot the gate's scripts still admits every one of them."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from scanfleet.broker.gate import Gate
from scanfleet.broker.scripts import run_many
from scanfleet.embedded import EmbeddedValkey
from scanfleet.tiers import limits_for


@pytest.fixture
async def own_gate(own_valkey: EmbeddedValkey) -> AsyncIterator[tuple[Gate, Redis]]:
    """A gate on a Valkey of the test's own, whose every read of a client's socket is this gate's."""
    redis = Redis.from_url(own_valkey.url())
    yield Gate(redis), redis
    await redis.aclose()


async def reads(redis: Redis) -> int:
    """How many times the server has read from its clients' sockets: once per round trip a client makes."""
    return int((await redis.info("stats"))["total_reads_processed"])


async def test_admissions_made_together_go_in_one_round_trip_each_placed_in_turn(
    own_gate: tuple[Gate, Redis],
) -> None:
    gate, redis = own_gate
    limits = limits_for("free", max_running=2, max_queued=3)
    org = uuid.uuid4()
    await gate.admit(org, "scan:warm", b"body", limits_for("enterprise"))  # its script loaded, its connection open
    before = await reads(redis)
    admissions = await asyncio.gather(*(gate.admit(org, f"scan:{n}", b"body", limits) for n in range(30)))
    used = await reads(redis) - before - 1  # the INFO that reads it
    outcomes = [admission.outcome for admission in admissions]
    # The warm-up's job counts against the org too: one slot of the two.
    assert outcomes == ["dispatched"] + ["waiting"] * 3 + ["rejected"] * 26
    assert used <= 4, used  # the first alone, the rest as one pipeline (which may take two reads)


async def test_a_redis_that_forgot_the_scripts_still_admits_every_one_of_a_batch(
    own_gate: tuple[Gate, Redis],
) -> None:
    gate, redis = own_gate
    org, limits = uuid.uuid4(), limits_for("enterprise", max_running=100, max_queued=100)
    await gate.admit(org, "scan:warm", b"body", limits)
    await redis.script_flush()  # as a restart without persistence would
    admissions = await asyncio.gather(*(gate.admit(org, f"scan:{n}", b"body", limits) for n in range(20)))
    assert [admission.outcome for admission in admissions] == ["dispatched"] * 20
    assert await gate.states([f"scan:{n}" for n in range(20)]) == ["dispatched"] * 20


async def test_runs_of_a_pipelined_script_redis_had_forgotten_are_run_again_once_it_is_loaded(
    own_gate: tuple[Gate, Redis],
) -> None:
    _, redis = own_gate
    keys = ["queue", "leases", "parked", "workers"]  # queue_stats only reads them: empty, all counts are 0
    await redis.script_flush()
    answers = await run_many(redis, "queue_stats", keys, [["in-progress:", 0, 0, 10]] * 5)
    assert answers == [[0, 0, 0, -1, 0]] * 5
