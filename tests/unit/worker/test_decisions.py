"""The worker's decisions about one delivery, over the in-memory job store and the real gate scripts on
fakeredis: milliseconds each, no servers."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import timedelta

import asyncpg
import fakeredis
import pytest

from scanfleet import metrics
from scanfleet.artifacts import StoreUnavailable
from scanfleet.artifacts.blobs import BlobRefused
from scanfleet.artifacts.writer import ArtifactWriter
from scanfleet.breakers import SharedBreakers
from scanfleet.broker.gate import Gate
from scanfleet.broker.keys import BROWSER_GATE, job_id
from scanfleet.config import Settings
from scanfleet.lifecycle import Lifecycle
from scanfleet.memory import MemoryJobStore
from scanfleet.model import Attachment, Job, Outcome, Status
from scanfleet.retry import RetryPolicy
from scanfleet.tiers import limits_for
from scanfleet.worker.outage import OutageGuard
from scanfleet.worker.tasks import STORE, Deps, Task, perform
from tests.support.site import eventually, past

ORG = uuid.UUID(int=7)
HOST = "shop.example"


@dataclass
class World:
    store: MemoryJobStore
    gate: Gate
    deps: Deps
    outcomes: list[Outcome]  # what the next produce() calls return, in order
    redis: fakeredis.FakeAsyncRedis
    produced: int = 0

    def task(self) -> Task:
        async def produce(job: Job) -> Outcome:
            self.produced += 1
            return self.outcomes.pop(0)

        return Task("run_scan", "privacy", 10.0, produce, target=lambda job: HOST)

    async def submitted(self) -> Job:
        job, _ = await self.deps.lifecycle.submit_scan(ORG, limits_for("pro"), f"https://{HOST}/", "http", 0, {})
        return job

    async def state(self, job: Job) -> str | None:
        (state,) = await self.gate.states([job_id(job.id)])
        return state


@pytest.fixture
async def world() -> AsyncIterator[World]:
    redis = fakeredis.FakeAsyncRedis()
    store = MemoryJobStore()
    gate = Gate(redis)
    settings = Settings(job_max_tries=3, breaker_fail_max=1, retry_max_privacy=2)
    outage = OutageGuard(
        None,  # type: ignore[arg-type]  # never probed here
        SharedBreakers(redis, "postgres", 3, 5.0), hold_seconds=1.0, reset_seconds=5.0,
    )  # fmt: skip
    lifecycle = Lifecycle(store, gate, lease_seconds=30.0, browser_gate=Gate(redis, BROWSER_GATE))
    targets = SharedBreakers(redis, "target", settings.breaker_fail_max, 60.0)
    storage = SharedBreakers(redis, "storage", 1, 0.2)  # one failed write opens it, briefly
    deps = Deps(settings, lifecycle, None, None, targets, outage, RetryPolicy.from_settings(settings), storage)  # type: ignore[arg-type]
    yield World(store, gate, deps, [], redis)
    await redis.aclose()


async def test_a_success_is_written_once_and_frees_the_slot(world: World) -> None:
    job = await world.submitted()
    world.outcomes.append(Outcome(Status.SUCCEEDED, http_status=200))
    assert await perform(world.deps, world.task(), job.id) == "succeeded"
    assert world.store.jobs[job.id].status is Status.SUCCEEDED and world.store.jobs[job.id].attempts == 1
    assert await world.state(job) is None  # the gate holds nothing of it any more


async def test_a_transient_failure_is_retried_with_its_slot_set_aside(world: World) -> None:
    job = await world.submitted()
    world.outcomes.append(Outcome.failed("timeout", "slow"))
    assert await perform(world.deps, world.task(), job.id) == "deferred (retry)"
    row = world.store.jobs[job.id]
    assert (row.status, row.retries, row.last_error_code) == (Status.QUEUED, 1, "timeout")
    assert await world.state(job) == "deferred"


async def test_a_permanent_failure_is_not_retried(world: World) -> None:
    job = await world.submitted()
    world.outcomes.append(Outcome.failed("dns_error", "no such name"))
    assert await perform(world.deps, world.task(), job.id) == "failed"
    assert world.store.jobs[job.id].retries == 0 and world.produced == 1


async def test_an_open_circuit_defers_without_using_an_attempt_or_calling_the_target(world: World) -> None:
    await world.deps.targets.record(HOST, ok=False)  # fail_max 1: open
    job = await world.submitted()
    assert await perform(world.deps, world.task(), job.id) == "deferred (breaker)"
    assert world.produced == 0
    row = world.store.jobs[job.id]
    assert (row.status, row.attempts) == (Status.QUEUED, 0)
    assert await world.state(job) == "deferred"


async def test_a_run_its_target_puts_off_leaves_the_stores_half_open_trial_to_another(world: World) -> None:
    # Both circuits are read in one round trip, but the store's is decided on only once the target's lets the run go.
    await world.deps.targets.record(HOST, ok=False)  # open for a minute
    failed = time.time()
    assert await world.deps.storage.record(STORE, ok=False) == "open"  # its trial is due 0.2 s later
    await past(failed + 0.3)
    job = await world.submitted()
    assert await perform(world.deps, world.task(), job.id) == "deferred (breaker)"
    assert await world.deps.storage.open_until(STORE) is None  # the trial was still there to take


async def test_a_job_whose_workers_keep_dying_ends_attempts_exhausted(world: World) -> None:
    job = await world.submitted()
    world.store._set(job.id, status=Status.RUNNING, attempts=3)  # three deliveries died with their worker
    assert await perform(world.deps, world.task(), job.id) == "failed"
    assert world.store.jobs[job.id].error_code == "attempts_exhausted" and world.produced == 0


async def test_a_duplicate_delivery_only_frees_the_slot(world: World) -> None:
    job = await world.submitted()
    world.store._set(job.id, status=Status.SUCCEEDED)  # another delivery finished it
    assert await perform(world.deps, world.task(), job.id) == "duplicate"
    assert world.produced == 0 and await world.state(job) is None


@pytest.mark.parametrize(
    "refusal",
    [
        asyncpg.UntranslatableCharacterError("unsupported Unicode escape sequence"),  # class 22: the data itself
        asyncpg.ProgramLimitExceededError("jsonb array elements exceed the maximum"),  # class 54: its size
        RecursionError("maximum recursion depth exceeded while encoding a JSON object"),  # too deep to encode
    ],
)
async def test_a_result_the_database_refuses_fails_the_job_once_with_a_code(world: World, refusal: Exception) -> None:
    job = await world.submitted()
    world.outcomes.append(Outcome(Status.SUCCEEDED, http_status=200))
    world.store.refuse_next_record = refusal
    assert await perform(world.deps, world.task(), job.id) == "failed"
    row = world.store.jobs[job.id]
    assert (row.status, row.error_code, row.attempts) == (Status.FAILED, "result_unwritable", 1)
    assert await world.state(job) is None  # not left to be redelivered


async def test_readmission_ends_a_job_that_crashed_its_workers_and_readmits_the_rest(world: World) -> None:
    lifecycle = world.deps.lifecycle
    crashed = world.store.add(ORG, status=Status.RUNNING, attempts=3)
    lost = world.store.add(ORG)
    assert await lifecycle.readmit(crashed, limits_for("free", max_running=0, max_queued=0), 3) == "exhausted"
    assert world.store.jobs[crashed.id].error_code == "attempts_exhausted"
    # Accepted long ago: never refused now, even by an organisation with no room.
    assert await lifecycle.readmit(lost, limits_for("free", max_running=0, max_queued=0), 3) == "readmitted"
    assert await world.state(lost) == "waiting"


async def test_a_refused_submission_leaves_no_row(world: World) -> None:
    full = limits_for("free", max_running=0, max_queued=0)
    with pytest.raises(Exception, match="free tier"):
        await world.deps.lifecycle.submit_scan(ORG, full, "https://other.example/", "http", 0, {})
    assert world.store.jobs == {}


class FlakyStore:
    """An artifact store that is down until told otherwise (the real backends are tested in integration)."""

    name = "flaky"

    def __init__(self) -> None:
        self.down = True
        self.blobs: dict[str, bytes] = {}
        self.puts = 0

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        self.puts += 1
        if self.down:
            raise StoreUnavailable("connection refused")
        self.blobs[key] = data


class RefusingStore:
    """An artifact store that answers, but refuses every blob for itself (an S3 400 over its size limit)."""

    name = "refusing"

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        raise BlobRefused("EntityTooLarge")


def _left_out(kind: str, reason: str) -> float:
    value: float = metrics.ARTIFACTS_LEFT_OUT.labels(kind, reason)._value.get()
    return value


def _succeeded_with(shot: Attachment) -> Outcome:
    return Outcome(Status.SUCCEEDED, http_status=200, attachments=[shot])


async def test_an_artifact_store_outage_defers_the_job_until_the_store_is_back(world: World) -> None:
    store = FlakyStore()
    world.deps.lifecycle.artifacts = ArtifactWriter(store, max_bytes=1 << 20, job_max_bytes=1 << 20)  # type: ignore[arg-type]
    job = await world.submitted()
    shot = Attachment("screenshot", "image/png", b"\x89PNG...")
    world.outcomes += [Outcome(Status.SUCCEEDED, http_status=200, attachments=[shot]) for _ in range(5)]
    assert await perform(world.deps, world.task(), job.id) == "deferred (storage)"
    row = world.store.jobs[job.id]
    assert (row.status, row.attempts) == (Status.QUEUED, 0) and store.blobs == {} and not world.store.outcomes
    assert await world.state(job) == "deferred"
    # While the circuit is open the scan is not even run: it would only be deferred again.
    assert await perform(world.deps, world.task(), job.id) == "deferred (storage)"
    assert world.produced == 1
    store.down = False

    async def finished() -> bool:
        return await perform(world.deps, world.task(), job.id) == "succeeded"

    await eventually(finished, timeout=5)  # once the circuit lets a trial through
    assert world.store.jobs[job.id].status is Status.SUCCEEDED and len(store.blobs) == 1
    assert world.store.outcomes[job.id].attachments == [shot]


async def test_an_artifact_the_store_refuses_is_left_out_and_the_result_kept(world: World) -> None:
    world.deps.lifecycle.artifacts = ArtifactWriter(RefusingStore(), max_bytes=1 << 20, job_max_bytes=1 << 20)  # type: ignore[arg-type]
    job = await world.submitted()
    before = _left_out("screenshot", "refused")
    world.outcomes.append(_succeeded_with(Attachment("screenshot", "image/png", b"\x89PNG...")))
    assert await perform(world.deps, world.task(), job.id) == "succeeded"
    assert world.store.jobs[job.id].status is Status.SUCCEEDED and world.produced == 1
    assert world.store.outcomes[job.id].attachments == []
    assert _left_out("screenshot", "refused") == before + 1
    assert await world.state(job) is None  # its slot freed: not deferred, not redelivered


async def test_a_job_that_waited_out_the_give_up_for_the_store_finishes_without_its_artifacts(world: World) -> None:
    store = FlakyStore()  # down throughout
    # Open for as long as the test takes: the second job must find the circuit as the first left it.
    world.deps.storage = SharedBreakers(world.redis, "storage", 1, 60.0)
    world.deps.lifecycle.artifacts = ArtifactWriter(store, max_bytes=1 << 20, job_max_bytes=1 << 20)  # type: ignore[arg-type]
    shot = Attachment("screenshot", "image/png", b"\x89PNG...")
    give_up = timedelta(seconds=world.deps.settings.breaker_give_up_seconds + 1)

    async def submitted_long_ago() -> Job:
        job = await world.submitted()
        world.store.jobs[job.id] = replace(world.store.jobs[job.id], created_at=job.created_at - give_up)
        return job

    before = _left_out("screenshot", "store_unavailable")
    # The store fails the write of a job past its give-up: the result is written without the screenshot.
    late = await submitted_long_ago()
    world.outcomes.append(_succeeded_with(shot))
    assert await perform(world.deps, world.task(), late.id) == "succeeded"
    assert world.store.outcomes[late.id].attachments == [] and store.puts == 1
    # Its circuit is open now: a job past its give-up runs and is not held on the store (nor tries it).
    assert await world.deps.storage.open_until(STORE) is not None
    later = await submitted_long_ago()
    world.outcomes.append(_succeeded_with(shot))
    assert await perform(world.deps, world.task(), later.id) == "succeeded"
    assert world.store.outcomes[later.id].attachments == [] and store.puts == 1 and world.produced == 2
    assert _left_out("screenshot", "store_unavailable") == before + 2


async def test_a_run_with_browser_steps_waits_for_the_store_before_it_runs(world: World) -> None:
    await world.deps.storage.record(STORE, ok=False)  # fail_max 1: open
    suite = {"steps": [{"kind": "browser", "name": "sign in", "url": f"https://{HOST}/login", "actions": []}]}
    run = await world.deps.lifecycle.submit_run(ORG, limits_for("pro"), suite, {})
    assert run.engine == "browser"

    async def produce(job: Job) -> Outcome:
        world.produced += 1
        return Outcome(Status.SUCCEEDED)

    browser_run = Task("run_checks", "checks", 10.0, produce, engine="browser")
    # Running it now would submit its steps' forms, then be deferred when its screenshots cannot be stored.
    assert await perform(world.deps, browser_run, run.id) == "deferred (storage)"
    assert world.produced == 0
    assert (world.store.jobs[run.id].status, world.store.jobs[run.id].attempts) == (Status.QUEUED, 0)
    # A run with http steps only has nothing for the store before it runs: it is not held.
    http_run = await world.deps.lifecycle.submit_run(ORG, limits_for("pro"), {"steps": []}, {})
    assert await perform(world.deps, Task("run_checks", "checks", 10.0, produce), http_run.id) == "succeeded"
    assert world.produced == 1
