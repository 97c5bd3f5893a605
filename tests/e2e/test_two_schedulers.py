"""Two real scheduler processes against one database: a due schedule fires exactly once."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import asyncpg
import pytest

from scanfleet.broker import connection
from scanfleet.config import Settings
from scanfleet.db import schedules
from scanfleet.embedded import die_with_parent
from scanfleet.schedules.timing import Timing
from tests.conftest import make_tenant, own_redis
from tests.support.site import eventually

pytestmark = pytest.mark.e2e


@pytest.fixture
def scheduler_settings(settings: Settings) -> Settings:
    return own_redis(settings, 3, __name__)


@pytest.fixture
def two_schedulers(scheduler_settings: Settings) -> Iterator[None]:
    env = os.environ | {
        "DATABASE_URL": str(scheduler_settings.database_url), "REDIS_URL": str(scheduler_settings.redis_url),
        "SCANFLEET_SCHEDULER_METRICS_PORT": "0", "SCANFLEET_SCHEDULE_TICK_SECONDS": "0.05",
        # The test database is shared: upkeep must not drop or re-admit other tests' data.
        "SCANFLEET_RETENTION_DAYS": "100000", "SCANFLEET_REQUEUE_AFTER_SECONDS": "3600",
    }  # fmt: skip
    started = [
        subprocess.Popen([sys.executable, "-m", "scanfleet.scheduler"], env=env, stderr=subprocess.DEVNULL,
                         preexec_fn=die_with_parent)
        for _ in range(2)
    ]  # fmt: skip
    yield
    for process in started:
        process.terminate()
        process.wait(30)


async def test_two_scheduler_processes_fire_each_due_schedule_once(
    pool: asyncpg.Pool, scheduler_settings: Settings, two_schedulers: None
) -> None:
    tenant = await make_tenant(pool)
    made = [
        await schedules.create(pool, tenant.org.id, f"s{n}", "privacy", {"url": f"http://127.0.0.1:9/{n}"},
                               Timing(interval_seconds=3600), datetime.now(UTC), tenant.org.limits.max_schedules)
        for n in range(20)
    ]  # fmt: skip
    ids = [schedule.id for schedule in made if schedule is not None]
    assert len(ids) == len(made)  # each one created, within the tier's limit
    await pool.execute("UPDATE schedules SET next_fire_at = now() WHERE id = ANY($1)", ids)

    async def all_fired() -> bool:
        fired: int = await pool.fetchval("SELECT count(*) FROM schedule_fires WHERE schedule_id = ANY($1)", ids)
        return fired >= 20

    await eventually(all_fired)
    fires = await pool.fetch("SELECT schedule_id, job_id FROM schedule_fires WHERE schedule_id = ANY($1)", ids)
    assert sorted(row["schedule_id"] for row in fires) == sorted(ids)  # once each
    assert await pool.fetchval("SELECT count(*) FROM scans WHERE org_id = $1", tenant.org.id) == 20
    redis = await connection.connect(scheduler_settings)
    try:
        # Jobs are admitted to the gate just after their fire commits: wait for that too.
        async def all_admitted() -> bool:
            admitted: int = await redis.zcard("sf:gate:jobs")
            return admitted == 20

        await eventually(all_admitted)
    finally:
        await redis.flushdb()
        await redis.aclose()
    assert len({row["job_id"] for row in fires}) == 20 and all(isinstance(r["job_id"], uuid.UUID) for r in fires)
