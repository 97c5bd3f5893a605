"""Reconciliation's decisions over the in-memory job store and the real gate scripts on fakeredis."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import fakeredis
import pytest

from scanfleet.broker.gate import Gate
from scanfleet.broker.keys import job_id
from scanfleet.config import Settings
from scanfleet.lifecycle import Lifecycle
from scanfleet.memory import MemoryJobStore
from scanfleet.model import Job, Status
from scanfleet.scheduler import reconcile
from scanfleet.tiers import Limits, limits_for

ORG, GONE = uuid.UUID(int=1), uuid.UUID(int=2)
LONG_AGO = datetime.now(UTC) - timedelta(hours=1)
SETTINGS = Settings(job_max_tries=3, requeue_after_seconds=30)


@pytest.fixture
async def parts() -> AsyncIterator[tuple[MemoryJobStore, Gate, Lifecycle]]:
    redis = fakeredis.FakeAsyncRedis()
    store, gate = MemoryJobStore({ORG: limits_for("pro")}), Gate(redis)
    yield store, gate, Lifecycle(store, gate)
    await redis.aclose()


async def test_a_job_the_gate_lost_is_readmitted_once(parts: tuple[MemoryJobStore, Gate, Lifecycle]) -> None:
    store, gate, lifecycle = parts
    lost = store.add(ORG, created_at=LONG_AGO)
    assert await reconcile.reconcile(lifecycle, {"http": gate}, SETTINGS) == {"readmitted": 1}
    assert (await gate.states([job_id(lost.id)])) == ["dispatched"]
    assert await reconcile.reconcile(lifecycle, {"http": gate}, SETTINGS) == {}  # held now: left alone


async def test_recent_work_in_flight_between_the_api_and_the_gate_is_left_alone(
    parts: tuple[MemoryJobStore, Gate, Lifecycle],
) -> None:
    store, gate, lifecycle = parts
    store.add(ORG)  # just created: its admission may be on its way
    assert await reconcile.reconcile(lifecycle, {"http": gate}, SETTINGS) == {}


async def test_a_job_whose_workers_kept_dying_ends_instead_of_running_again(
    parts: tuple[MemoryJobStore, Gate, Lifecycle],
) -> None:
    store, gate, lifecycle = parts
    expired = datetime.now(UTC) - timedelta(minutes=1)
    crashed = store.add(ORG, created_at=LONG_AGO, status=Status.RUNNING, attempts=3, lease_until=expired)
    assert await reconcile.reconcile(lifecycle, {"http": gate}, SETTINGS) == {"exhausted": 1}
    assert store.jobs[crashed.id].error_code == "attempts_exhausted"


async def test_a_gone_organisations_jobs_are_not_readmitted(parts: tuple[MemoryJobStore, Gate, Lifecycle]) -> None:
    store, gate, lifecycle = parts
    store.add(GONE, created_at=LONG_AGO)
    assert await reconcile.reconcile(lifecycle, {"http": gate}, SETTINGS) == {}


async def test_a_slot_held_for_a_job_that_ended_is_released(parts: tuple[MemoryJobStore, Gate, Lifecycle]) -> None:
    store, gate, lifecycle = parts
    ended = store.add(ORG, created_at=LONG_AGO)
    await gate.admit(ORG, job_id(ended.id), b"body", limits_for("pro"))
    await gate.redis.zadd(gate.keys.jobs, {job_id(ended.id): 0})  # admitted long ago
    store._set(ended.id, status=Status.SUCCEEDED)
    assert +await reconcile.reconcile(lifecycle, {"http": gate}, SETTINGS) == {"released": 1}
    assert await gate.states([job_id(ended.id)]) == [None]


async def test_one_job_that_cannot_be_readmitted_does_not_stop_the_others(
    parts: tuple[MemoryJobStore, Gate, Lifecycle], monkeypatch: pytest.MonkeyPatch
) -> None:
    store, gate, lifecycle = parts
    poisoned, healthy = store.add(ORG, created_at=LONG_AGO), store.add(ORG, created_at=LONG_AGO + timedelta(seconds=1))
    readmit = lifecycle.readmit

    async def failing_for_one(job: Job, limits: Limits, max_tries: int) -> str:
        if job.id == poisoned.id:
            raise ValueError("a row no release can admit")
        return await readmit(job, limits, max_tries)

    monkeypatch.setattr(lifecycle, "readmit", failing_for_one)
    assert await reconcile.reconcile(lifecycle, {"http": gate}, SETTINGS) == {"skipped": 1, "readmitted": 1}
    assert await gate.states([job_id(healthy.id)]) == ["dispatched"]
