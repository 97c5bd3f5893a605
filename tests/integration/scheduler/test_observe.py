"""The scheduler's observation round: queue truth, the gate per tier and the desired replicas as gauges."""

from __future__ import annotations

import dataclasses
import time
import uuid

from prometheus_client import REGISTRY

from scanfleet.breakers import SharedBreakers
from scanfleet.broker.decode import reply
from scanfleet.broker.gate import Gate
from scanfleet.config import Settings
from scanfleet.scheduler.observe import Observer
from scanfleet.tiers import limits_for
from tests.support.site import eventually


def _value(name: str, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(name, labels)


def _observer(gate: Gate, settings: Settings, **autoscale: float) -> Observer:
    overrides = {f"autoscale_{name}": value for name, value in autoscale.items()}
    return Observer(
        gate,
        settings.model_copy(update=overrides),
        workers_key=gate.keys.prefix + "workers",
        breaker_prefix=gate.keys.prefix + "breaker:",
    )


async def test_queue_states_and_oldest_ready_age(gate: Gate, settings: Settings) -> None:
    now = int(time.time() * 1000)
    await gate.redis.zadd(gate.keys.queue, {"old": now - 90_000, "new": now - 1_000, "later": now + 60_000})
    await gate.redis.zadd(gate.keys.prefix + "leases", {"old": now + 15_000})  # started under the gate's lease

    truth = await _observer(gate, settings).round()

    queue = gate.keys.queue
    assert _value("scanfleet_queue_jobs", queue=queue, state="ready") == truth.ready == 1
    assert _value("scanfleet_queue_jobs", queue=queue, state="running") == truth.running == 1
    assert _value("scanfleet_queue_jobs", queue=queue, state="deferred") == truth.deferred == 1
    age = _value("scanfleet_queue_oldest_ready_age_seconds", queue=queue)
    assert age == truth.oldest_ready_age_seconds and 1.0 <= age < 4.0  # "new": "old" is running


async def test_gate_gauges_per_tier_with_room_in_line(gate: Gate, settings: Settings) -> None:
    free, enterprise = uuid.uuid4(), uuid.uuid4()
    for n in range(3):
        await gate.admit(free, f"free-{n}", b"body", limits_for("free"))
    await gate.admit(enterprise, "enterprise-0", b"body", limits_for("enterprise", max_queued=150))

    await _observer(gate, settings).round()

    assert _value("scanfleet_gate_running_jobs", tier="free") == 1
    assert _value("scanfleet_gate_queued_jobs", tier="free") == 2
    assert _value("scanfleet_gate_queue_capacity_jobs", tier="free") == 5
    assert _value("scanfleet_gate_running_jobs", tier="enterprise") == 1
    assert _value("scanfleet_gate_queued_jobs", tier="enterprise") == 0
    assert _value("scanfleet_gate_queue_capacity_jobs", tier="enterprise") == 150
    for name in ("running_jobs", "queued_jobs", "queue_capacity_jobs"):  # no pro org: zero, not absent
        assert _value(f"scanfleet_gate_{name}", tier="pro") == 0


async def test_a_tier_that_empties_reads_zero_and_one_that_vanishes_is_removed(gate: Gate, settings: Settings) -> None:
    free, legacy = uuid.uuid4(), uuid.uuid4()
    await gate.admit(free, "free-0", b"body", limits_for("free"))
    await gate.admit(legacy, "legacy-0", b"body", dataclasses.replace(limits_for("pro"), tier="legacy"))
    observer = _observer(gate, settings)
    await observer.round()
    assert _value("scanfleet_gate_running_jobs", tier="legacy") == 1
    assert _value("scanfleet_gate_queue_capacity_jobs", tier="legacy") == 50

    await gate.finish("free-0")
    await gate.finish("legacy-0")
    await gate.redis.delete(f"{gate.keys.prefix}org:{legacy}")  # the tier retired: its organisations moved away
    await reply(gate.redis.srem(gate.keys.prefix + "orgs", str(legacy)))
    await observer.round()

    assert _value("scanfleet_gate_running_jobs", tier="free") == 0
    for name in ("running_jobs", "queued_jobs", "queue_capacity_jobs"):
        assert _value(f"scanfleet_gate_{name}", tier="legacy") is None


async def test_desired_replicas_follow_the_policy_from_the_live_workers(gate: Gate, settings: Settings) -> None:
    now = int(time.time() * 1000)
    await gate.redis.zadd(gate.keys.queue, {f"job-{n}": now - 1_000 for n in range(100)})
    await gate.redis.zadd(gate.keys.prefix + "workers", {"host:1": now, "host:2": now - 60_000})  # one live, one gone
    observer = _observer(
        gate, settings, min_replicas=1, max_replicas=10, jobs_per_replica=20, step_up=2, target_wait_seconds=30
    )

    truth = await observer.round()

    assert truth.workers == 1
    # 100 ready jobs want 5 replicas; one step from the single live worker gets to 3.
    assert _value("scanfleet_autoscale_desired_replicas", source="policy") == 3


async def test_open_breakers_per_kind_and_zero_for_kinds_that_never_tripped(gate: Gate, settings: Settings) -> None:
    targets = SharedBreakers(gate.redis, "target", fail_max=2, reset_seconds=300, prefix=gate.keys.prefix + "breaker:")
    for host in ("a.example", "b.example", "c.example"):
        await targets.record(host, ok=False)
        if host != "c.example":  # one failure short of opening
            await targets.record(host, ok=False)
    assert await targets.state("a.example") == "open"

    observer = _observer(gate, settings)
    await observer.round()

    assert _value("scanfleet_breakers_open", kind="target") == 2
    longest = _value("scanfleet_breaker_open_longest_seconds", kind="target")
    assert longest is not None and 0 <= longest < 5

    async def open_for_a_while() -> bool:  # the longest-open one's age grows round after round
        await observer.round()
        longest = _value("scanfleet_breaker_open_longest_seconds", kind="target")
        assert longest is not None
        return longest >= 0.3

    await eventually(open_for_a_while, timeout=10)
    for kind in ("postgres", "webhook"):
        assert _value("scanfleet_breakers_open", kind=kind) == 0
        assert _value("scanfleet_breaker_open_longest_seconds", kind=kind) == 0
