"""A worker SIGKILLed mid-scan, or stopped while a job has its event loop stuck: the lease expires, the reaper
requeues, another worker completes it once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from scanfleet.broker import connection, jobs, keys
from scanfleet.broker.gate import Gate
from scanfleet.config import Settings
from scanfleet.db import scans
from scanfleet.embedded import die_with_parent
from scanfleet.model import Status
from scanfleet.stop_deadline import EXIT_STATUS
from scanfleet.worker.__main__ import EXIT_MARGIN_SECONDS
from tests.conftest import make_tenant, own_redis
from tests.support.site import FixtureSite, Page, eventually

pytestmark = pytest.mark.e2e

LEASE_SECONDS = 1.5
SCAN_TIMEOUT_SECONDS = 10  # arq's own in-progress marker would hold the job for this + 25 s


@pytest.fixture
def crash_settings(settings: Settings) -> Settings:
    return own_redis(settings, 1, __name__)


class Processes:
    def __init__(self, settings: Settings) -> None:
        self.env = os.environ | {
            "DATABASE_URL": str(settings.database_url),
            "REDIS_URL": str(settings.redis_url),
            "SCANFLEET_LEASE_SECONDS": str(LEASE_SECONDS),
            "SCANFLEET_SCAN_TIMEOUT_SECONDS": str(SCAN_TIMEOUT_SECONDS),
            "SCANFLEET_WORKER_POLL_DELAY_SECONDS": "0.01",
            "SCANFLEET_WORKER_METRICS_PORT": "0",
            "SCANFLEET_SCHEDULER_METRICS_PORT": "0",
            "SCANFLEET_REAPER_INTERVAL_SECONDS": "0.2",
            "SCANFLEET_REQUEUE_AFTER_SECONDS": "3600",  # reconciliation is not what this test is about
            "SCANFLEET_FETCH_ALLOW_NETWORKS": "127.0.0.0/8",
        }
        self.running: list[subprocess.Popen[bytes]] = []

    def start(self, module: str, *, code: str | None = None, stderr: int | None = subprocess.DEVNULL,
              **env: str) -> subprocess.Popen[bytes]:  # fmt: skip
        """`python -m module`, or `python -c code`, with these settings and `env` on top."""
        argv = [sys.executable, "-m", module] if code is None else [sys.executable, "-c", code]
        process = subprocess.Popen(argv, env=self.env | env, stderr=stderr, preexec_fn=die_with_parent)
        self.running.append(process)
        return process

    def stop_all(self) -> None:
        for process in self.running:
            process.kill()
            process.wait()


# The real worker process, whose scans block its event loop in their analysis, as a runaway CPU-bound step would.
STUCK_WORKER = """
import time
import scanfleet.worker.scan as scan
scan.analyse = lambda result: time.sleep(3600)
from scanfleet.worker.__main__ import main
main()
"""


@pytest.fixture
def processes(crash_settings: Settings) -> Iterator[Processes]:
    started = Processes(crash_settings)
    yield started
    started.stop_all()


async def test_killed_workers_scan_completes_once_soon_after_its_lease_expires(
    pool: asyncpg.Pool, crash_settings: Settings, processes: Processes, site: FixtureSite
) -> None:
    redis = await connection.connect(crash_settings)
    gate = Gate(redis)
    try:
        await redis.flushdb()
        tenant = await make_tenant(pool, "free")
        url = site.add(f"/slow-{uuid.uuid4().hex[:6]}", Page(200, [("Content-Type", "text/html")], b"<html/>", 2))
        scan = await scans.insert(pool, tenant.org.id, url)
        job_id = keys.job_id(scan.id)
        victim = processes.start("scanfleet.worker")
        processes.start("scanfleet.scheduler")
        admission = await gate.admit(tenant.org.id, job_id, jobs.payload("privacy", scan.id), tenant.org.limits)
        assert admission.outcome == "dispatched"

        await eventually(lambda: _running(pool, tenant.org.id, scan.id))
        victim.send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        processes.start("scanfleet.worker")

        await eventually(lambda: scans.is_final(pool, scan.id), timeout=30)
        recovered_in = time.monotonic() - killed_at
        done = await scans.get(pool, tenant.org.id, scan.id)
        assert done is not None and done.status is Status.SUCCEEDED, done
        assert (done.attempts, done.retries) == (2, 0)  # the crash cost a delivery, not one of its retries
        evidence = await pool.fetchval(
            "SELECT count(*) FROM evidence WHERE scan_id = $1 AND scan_created_at = $2", scan.id, scan.created_at
        )
        assert done.summary is not None and evidence == done.summary["evidence"] > 0
        # Lease (1.5 s) + reaper (0.2 s) + a fresh run of the 2 s page, with room for a loaded machine —
        # far less than arq's own in-progress timeout (35 s) that would otherwise hold the job.
        assert recovered_in < 12, recovered_in

        async def slot_free() -> bool:
            usage = await gate.usage(tenant.org.id)
            return (usage.running, usage.queued) == (0, 0)

        await eventually(slot_free)
    finally:
        await redis.flushdb()
        await redis.aclose()


async def test_a_worker_whose_loop_is_stuck_still_exits_by_its_deadline_after_sigterm(
    pool: asyncpg.Pool, crash_settings: Settings, processes: Processes, site: FixtureSite, tmp_path: Path
) -> None:
    redis = await connection.connect(crash_settings)
    gate = Gate(redis)
    try:
        await redis.flushdb()
        tenant = await make_tenant(pool, "free")
        url = site.add(f"/stuck-{uuid.uuid4().hex[:6]}", Page(200, [("Content-Type", "text/html")], b"<html/>"))
        scan = await scans.insert(pool, tenant.org.id, url)
        grace = 1.0
        with (tmp_path / "stuck.log").open("wb") as log:
            stuck = processes.start(
                "scanfleet.worker", code=STUCK_WORKER, stderr=log.fileno(), SCANFLEET_WORKER_GRACE_SECONDS=str(grace)
            )
        admission = await gate.admit(tenant.org.id, keys.job_id(scan.id), jobs.payload("privacy", scan.id),
                                     tenant.org.limits)  # fmt: skip
        assert admission.outcome == "dispatched"
        await eventually(lambda: _running(pool, tenant.org.id, scan.id))
        await asyncio.sleep(0.5)  # into the analysis, whose sleep holds the loop

        stuck.send_signal(signal.SIGTERM)
        stopped_at = time.monotonic()
        status = await asyncio.to_thread(stuck.wait, 30)
        took = time.monotonic() - stopped_at
        output = (tmp_path / "stuck.log").read_text()
        assert status == EXIT_STATUS, output
        assert grace + EXIT_MARGIN_SECONDS <= took < grace + EXIT_MARGIN_SECONDS + 3, took
        assert "its event loop is stuck" in output
        assert "in <lambda>" in output  # the stacks show where it was stuck

        processes.start("scanfleet.scheduler")  # its reaper requeues the job once the lease lapses
        processes.start("scanfleet.worker")
        await eventually(lambda: scans.is_final(pool, scan.id), timeout=30)
        done = await scans.get(pool, tenant.org.id, scan.id)
        assert done is not None and done.status is Status.SUCCEEDED, done
        assert (done.attempts, done.retries) == (2, 0)  # the stuck run cost a delivery, like a crash
    finally:
        await redis.flushdb()
        await redis.aclose()


async def _running(pool: asyncpg.Pool, org_id: uuid.UUID, scan_id: uuid.UUID) -> bool:
    found = await scans.get(pool, org_id, scan_id)
    return found is not None and found.status is Status.RUNNING
