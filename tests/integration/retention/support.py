"""Shared by the retention and erase tests: scans with rows in every table, and writes timed meanwhile."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

import asyncpg

from scanfleet import ids
from scanfleet.db import results, scans
from scanfleet.model import DomainSeen, Evidence, Issue, Job, Outcome, Severity, Status

EVIDENCE_PER_SCAN = 3


async def finished_scan(pool: asyncpg.Pool, org_id: uuid.UUID, at: datetime | None = None) -> Job:
    """A scan (created `at`, its day's partitions made if missing) with evidence, issues, a domain seen and
    its daily counts."""
    scan = await scans.insert(pool, org_id, "http://x.example/", scan_id=ids.new_id(at=at))
    evidence = [Evidence("cookie", Severity.LOW, f"cookie {n}", {"n": n}) for n in range(EVIDENCE_PER_SCAN)]
    outcome = Outcome(
        Status.SUCCEEDED, evidence=evidence, issues=[Issue("csp_missing", Severity.MEDIUM, "No CSP", "why")],
        domains=[DomainSeen("tracker.example", tracker=True)],
    )  # fmt: skip
    assert await results.record_outcome(pool, scan, outcome)
    return scan


async def rows_of(pool: asyncpg.Pool, scan: Job) -> dict[str, int]:
    """How many rows the scan has in each partitioned table."""
    counts = {"scans": await pool.fetchval("SELECT count(*) FROM scans WHERE id = $1", scan.id)}
    for table in ("evidence", "issues", "scan_domains"):
        counts[table] = await pool.fetchval(f"SELECT count(*) FROM {table} WHERE scan_id = $1", scan.id)  # noqa: S608
    return counts


@asynccontextmanager
async def timed_inserts(pool: asyncpg.Pool, org_id: uuid.UUID) -> AsyncIterator[list[float]]:
    """Inserts scans into today's partition one after another until the block ends; yields each one's time."""
    waits: list[float] = []
    stop = asyncio.Event()

    async def write() -> None:
        while not stop.is_set():
            started = time.perf_counter()
            await scans.insert(pool, org_id, "http://writer.example/")
            waits.append(time.perf_counter() - started)

    task = asyncio.create_task(write())
    try:
        yield waits
    finally:
        stop.set()
        await task
