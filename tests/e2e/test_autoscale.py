"""`scanfleet worker --autoscale` with real worker processes: a flood takes the fleet from min to max and back once
it has drained, a killed worker is replaced, stopping the supervisor drains its workers — and every scan completes
exactly once."""

from __future__ import annotations

import os
import signal
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import asyncpg
import pytest
from arq.connections import ArqRedis

from scanfleet.broker import connection
from scanfleet.broker.gate import Gate
from scanfleet.config import Settings
from scanfleet.db import scans
from scanfleet.model import Status
from tests.conftest import own_redis
from tests.support.fleet import Supervisor, fleet_env, flood, flood_org, unfinished
from tests.support.site import FixtureSite, Page, eventually

pytestmark = pytest.mark.e2e

# Small numbers so that a flood needs every replica for a while: 4 slots a worker, 10 jobs a replica, a
# decision every 0.3 s, one step at a time, 2 s of calm before each step down.
FAST_POLICY = {
    "worker_max_jobs": 4,
    "worker_poll_delay_seconds": 0.01,
    "worker_grace_seconds": 10,
    "scan_timeout_seconds": 10,
    "autoscale_interval_seconds": 0.3,
    "autoscale_jobs_per_replica": 10,
    "autoscale_target_wait_seconds": 2,
    "autoscale_step_up": 1,
    "autoscale_step_down": 1,
    "autoscale_cooldown_seconds": 2,
}

StartSupervisor = Callable[..., Supervisor]


@pytest.fixture
def fleet_settings(settings: Settings) -> Settings:
    return own_redis(settings, 4, __name__)


@pytest.fixture
async def redis(fleet_settings: Settings) -> AsyncIterator[ArqRedis]:
    client = await connection.connect(fleet_settings)
    await client.flushdb()
    yield client
    await client.flushdb()
    await client.aclose()


@pytest.fixture
async def supervisors(fleet_settings: Settings, tmp_path: Path) -> AsyncIterator[StartSupervisor]:
    """Starts `scanfleet worker --autoscale bounds` with FAST_POLICY and `overrides`; kills what is left at the end."""
    started: list[Supervisor] = []

    def start(bounds: str, **overrides: object) -> Supervisor:
        env = fleet_env(str(fleet_settings.database_url), str(fleet_settings.redis_url), FAST_POLICY | overrides)
        started.append(Supervisor(env, bounds, tmp_path / f"supervisor-{len(started)}.log"))
        return started[-1]

    yield start
    for supervisor in started:
        await supervisor.close()
        print(supervisor.log.read_text()[-4000:])  # shown by pytest when the test fails


def slow_page(site: FixtureSite, seconds: float) -> str:
    return site.add(f"/slow-{uuid.uuid4().hex[:6]}", Page(200, [("Content-Type", "text/html")], b"<html/>", seconds))


async def assert_each_done_once(pool: asyncpg.Pool, org_id: uuid.UUID, count: int) -> None:
    """Every scan succeeded on its first delivery, was never retried, and has its evidence written once."""
    rows = await pool.fetch(
        "SELECT s.status, s.attempts, s.retries, (s.summary->>'evidence')::int AS summarised,"
        " (SELECT count(*) FROM evidence e WHERE e.scan_id = s.id AND e.scan_created_at = s.created_at) AS written"
        " FROM scans s WHERE s.org_id = $1",
        org_id,
    )
    assert len(rows) == count
    assert {(row["status"], row["attempts"], row["retries"]) for row in rows} == {("succeeded", 1, 0)}
    assert all(row["written"] == row["summarised"] > 0 for row in rows)


async def test_a_flood_scales_workers_to_max_and_back_to_min_with_every_scan_done_once(
    pool: asyncpg.Pool, redis: ArqRedis, site: FixtureSite, supervisors: StartSupervisor
) -> None:
    count = 150
    org = await flood_org(pool, count)
    url = slow_page(site, 0.3)
    supervisor = supervisors("1:3")
    await eventually(lambda: supervisor.at(1), timeout=30)

    ids = await flood(pool, Gate(redis), org, url, count)  # 150 jobs ask for 15 replicas: 3 at most
    await eventually(lambda: supervisor.at(3), timeout=30)
    assert await unfinished(pool, ids) > 0  # the fleet grew while the flood was still there

    async def drained() -> bool:
        return await unfinished(pool, ids) == 0

    await eventually(drained, timeout=120, interval=0.2)
    await eventually(lambda: supervisor.at(1), timeout=60, interval=0.2)
    assert await supervisor.stop() == 0
    await assert_each_done_once(pool, org.id, count)


async def test_a_worker_killed_outright_is_replaced(supervisors: StartSupervisor, redis: ArqRedis) -> None:
    supervisor = supervisors("2:2")
    await eventually(lambda: supervisor.at(2), timeout=30)
    first = supervisor.workers()
    assert len(first) == 2
    victim, survivor = first
    os.kill(victim, signal.SIGKILL)

    async def replaced() -> bool:
        now = supervisor.workers()
        return len(now) == 2 and victim not in now and survivor in now

    await eventually(replaced, timeout=30)
    assert await supervisor.stop() == 0


async def test_stopping_the_supervisor_hands_unfinished_scans_back_for_the_next_fleet(
    pool: asyncpg.Pool, redis: ArqRedis, site: FixtureSite, supervisors: StartSupervisor
) -> None:
    org = await flood_org(pool, 2)
    url = slow_page(site, 4)
    first = supervisors("1:1", worker_grace_seconds=0.5)
    ids = await flood(pool, Gate(redis), org, url, 2)

    async def running() -> bool:
        return set((await scans.statuses(pool, ids)).values()) == {Status.RUNNING}

    await eventually(running, timeout=30)
    assert await first.stop() == 0  # its worker waited 0.5 s, then handed both scans back
    assert set((await scans.statuses(pool, ids)).values()) == {Status.QUEUED}

    second = supervisors("1:1")

    async def drained() -> bool:
        return await unfinished(pool, ids) == 0

    await eventually(drained, timeout=60, interval=0.2)
    assert await second.stop() == 0
    await assert_each_done_once(pool, org.id, 2)
