"""PostgreSQL away: results wait in the worker until they can be written, and workers take no new jobs
until one of them has seen the database answer again."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable

import asyncpg
import pytest
from arq import Worker
from arq.connections import ArqRedis

from scanfleet import metrics
from scanfleet.breakers import SharedBreakers
from scanfleet.broker.worker import FleetWorker
from scanfleet.config import Settings
from scanfleet.db import scans
from scanfleet.db.pool import create_pool
from scanfleet.worker.outage import PRIMARY, OutageGuard
from scanfleet.worker.tasks import Deps
from tests.conftest import make_tenant
from tests.integration.worker.conftest import OwnWorkerFactory
from tests.integration.worker.test_retries_and_breakers import PAGE, finished, submit
from tests.support.site import FixtureSite, eventually


def breaker(queue: ArqRedis, fail_max: int = 3) -> SharedBreakers:
    return SharedBreakers(queue, "postgres", fail_max, 0.2, prefix=f"t{uuid.uuid4().hex[:8]}:breaker:")


def failing(times: int, exc: BaseException) -> tuple[Callable[[], Awaitable[str]], dict[str, int]]:
    calls = {"n": 0}

    async def operation() -> str:
        calls["n"] += 1
        if calls["n"] <= times:
            raise exc
        return "written"

    return operation, calls


async def test_a_result_is_held_while_the_database_is_unreachable_then_written(
    pool: asyncpg.Pool, queue: ArqRedis
) -> None:
    circuit = breaker(queue, fail_max=10)
    platform = OutageGuard(pool, circuit, hold_seconds=30, reset_seconds=0.2)
    operation, calls = failing(3, ConnectionRefusedError("connection refused"))
    pending_before = metrics.RESULTS_PENDING._value.get()

    assert await platform.write(operation) == "written"

    assert calls["n"] == 4
    assert metrics.RESULTS_PENDING._value.get() == pending_before
    # The failures were counted on the shared circuit, and the success after them cleared the count (a healthy
    # circuit keeps no state in Redis).
    assert await queue.exists(circuit.store.keys.state(PRIMARY)) == 0
    assert await circuit.state(PRIMARY) == "closed"


async def test_an_error_that_is_not_an_outage_is_raised_at_once(pool: asyncpg.Pool, queue: ArqRedis) -> None:
    platform = OutageGuard(pool, breaker(queue), hold_seconds=30, reset_seconds=0.2)
    operation, calls = failing(5, asyncpg.UniqueViolationError("duplicate key"))

    with pytest.raises(asyncpg.UniqueViolationError):
        await platform.write(operation)
    assert calls["n"] == 1


async def test_a_result_is_given_up_after_the_hold_time(pool: asyncpg.Pool, queue: ArqRedis) -> None:
    platform = OutageGuard(pool, breaker(queue), hold_seconds=0.5, reset_seconds=0.2)
    operation, _ = failing(10**6, ConnectionResetError("reset"))
    started = time.monotonic()

    with pytest.raises(ConnectionResetError):
        await platform.write(operation)
    assert 0.5 <= time.monotonic() - started < 3


async def test_workers_take_no_jobs_while_the_database_circuit_is_open(
    pool: asyncpg.Pool, own_worker: OwnWorkerFactory, site: FixtureSite
) -> None:
    tenant = await make_tenant(pool)
    async with own_worker(breaker_db_fail_max=1, breaker_db_reset_seconds=3) as own:
        # What another worker does when its write fails: the fleet-wide circuit opens.
        await SharedBreakers(own.gate.redis, "postgres", 1, 3).record(PRIMARY, False)
        await eventually(lambda: _paused(own.worker))
        scan_id = await submit(pool, own, tenant, site.add(f"/later-{uuid.uuid4().hex[:6]}", PAGE))

        deadline = time.monotonic() + 10
        while not own.worker.allow_pick_jobs:  # paused until a probe finds the database answering
            assert (await scans.statuses(pool, [scan_id]))[scan_id].value == "queued"
            assert time.monotonic() < deadline, "the worker never took jobs again"
            await asyncio.sleep(0.05)

        scan = await finished(pool, own.gate, scan_id)
    assert scan.status.value == "succeeded"


async def _paused(worker: FleetWorker) -> bool:
    return not worker.allow_pick_jobs


async def test_a_workers_sessions_keep_generic_plans_unless_pgbouncer_shares_them(
    worker: Worker, settings: Settings
) -> None:
    async def started() -> bool:
        return "deps" in worker.ctx

    await eventually(started)
    deps: Deps = worker.ctx["deps"]
    assert await deps.outage.pool.fetchval("SHOW plan_cache_mode") == "force_generic_plan"
    shared = await create_pool(settings.model_copy(update={"db_pgbouncer": True}), by_key=True)
    try:
        assert await shared.fetchval("SHOW plan_cache_mode") == "auto"
    finally:
        await shared.close()
