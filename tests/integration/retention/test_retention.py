"""Retention: partitions made ahead and the horizon reported; old days detached and dropped whole, in every
table, while writes go on, on two replicas at once, and after a crash left a detach half done.

The test database is shared by the whole session: these tests make their old days in 2020 and name the
cutoff, so they never touch another test's partitions. The default cutoff (from retention_days) runs on a
database of its own.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, time, timedelta

import asyncpg
import pytest
from prometheus_client import REGISTRY

from scanfleet.config import Settings
from scanfleet.db import locks, orgs, partitions, retention
from scanfleet.db.partitions import PARTITIONED_TABLES
from scanfleet.scheduler import partitions as partition_rounds
from scanfleet.scheduler import retention as rounds
from tests.conftest import Tenant
from tests.integration.retention.support import EVIDENCE_PER_SCAN, finished_scan, rows_of, timed_inserts
from tests.support.site import eventually


def _days(first: date, count: int) -> list[date]:
    return [first + timedelta(days=n) for n in range(count)]


def _noon(day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=UTC)


def _names(days: list[date]) -> set[str]:
    return {f"{table}_{day:%Y%m%d}" for table in PARTITIONED_TABLES for day in days}


async def _existing(pool: asyncpg.Pool) -> set[str]:
    return {part.name for part in await retention.day_partitions(pool)}


async def test_partitions_reach_ahead_and_the_horizon_says_how_far(pool: asyncpg.Pool) -> None:
    today = datetime.now(UTC).date()
    await partitions.ensure_ahead(pool, today, 5)
    horizon = await retention.horizon_days(pool)
    # At least today and five more; other tests may have made more.
    assert set(horizon) == set(PARTITIONED_TABLES)
    assert all(days >= 6 for days in horizon.values()), horizon


async def test_days_before_the_cutoff_leave_whole_and_later_days_stay(pool: asyncpg.Pool, tenant: Tenant) -> None:
    old, kept = _days(date(2020, 3, 1), 2), _days(date(2020, 3, 3), 2)
    scans = [await finished_scan(pool, tenant.org.id, _noon(day)) for day in old + kept]

    dropped = await retention.drop_before(pool, date(2020, 3, 3))

    assert {part.name for part in dropped} == _names(old)
    existing = await _existing(pool)
    assert not existing & _names(old)
    assert _names(kept) <= existing
    for scan in scans[2:]:
        assert await rows_of(pool, scan) == {"scans": 1, "evidence": EVIDENCE_PER_SCAN, "issues": 1, "scan_domains": 1}
    assert await retention.drop_before(pool, date(2020, 3, 3)) == []  # nothing left to do


async def test_writes_to_today_go_on_while_old_days_are_dropped(pool: asyncpg.Pool, tenant: Tenant) -> None:
    old = _days(date(2020, 6, 1), 8)
    for day in old:
        await finished_scan(pool, tenant.org.id, _noon(day))

    async with timed_inserts(pool, tenant.org.id) as waits:

        async def writing() -> bool:
            return len(waits) >= 5

        await eventually(writing)
        written_before = len(waits)
        dropped = await retention.drop_before(pool, date(2020, 6, 9))
        written_during = len(waits) - written_before

    assert _names(old) <= {part.name for part in dropped}  # (with earlier tests' kept days, in 2020 too)
    assert written_during > 0, "no insert finished while the partitions were dropped"
    assert max(waits) < 1.0, f"an insert waited {max(waits):.3f}s"


async def test_three_replicas_at_once_drop_each_day_once(pool: asyncpg.Pool, tenant: Tenant) -> None:
    old = _days(date(2020, 9, 1), 3)
    for day in old:
        await finished_scan(pool, tenant.org.id, _noon(day))

    async with asyncio.TaskGroup() as replicas:  # one failing cancels the others: nothing outlives the test
        runs = [replicas.create_task(retention.drop_before(pool, date(2020, 9, 4))) for _ in range(3)]

    # The lease lets one at a time at the work; none failed, each partition was dropped once.
    dropped = [part.name for run in runs for part in run.result()]
    assert _names(old) <= set(dropped)
    assert len(dropped) == len(set(dropped))
    assert not await _existing(pool) & _names(old)


async def test_a_dead_replicas_lease_holds_the_others_off_until_it_runs_out(pool: asyncpg.Pool, tenant: Tenant) -> None:
    old = _days(date(2020, 10, 1), 1)
    await finished_scan(pool, tenant.org.id, _noon(old[0]))
    dead = uuid.uuid4()
    assert await locks.take_lease(pool, retention.LEASE, dead, 60)

    assert await retention.drop_before(pool, date(2020, 10, 2)) == []
    assert _names(old) <= await _existing(pool)

    assert await locks.take_lease(pool, retention.LEASE, dead, 0)  # its time is up (a holder may shorten it)
    dropped = await retention.drop_before(pool, date(2020, 10, 2))
    assert _names(old) <= {part.name for part in dropped}
    assert await locks.take_lease(pool, retention.LEASE, dead, 60), "the taker kept the lease after its round"
    await locks.release_lease(pool, retention.LEASE, dead)


async def _state(pool: asyncpg.Pool, partition: str) -> list[str]:
    return [part.state for part in await retention.day_partitions(pool, f"^{partition}$")]


async def _leave_detach_pending(pool: asyncpg.Pool, table: str, day: date) -> None:
    """A DETACH ... CONCURRENTLY stopped half way, as a crash or a timeout leaves it: the first of its two
    transactions committed, the second never ran."""
    partition = f"{table}_{day:%Y%m%d}"
    async with pool.acquire() as reader, pool.acquire() as detacher, reader.transaction():
        # An open transaction that has read the table: the detach waits for it after its first step.
        await reader.fetchval(f"SELECT count(*) FROM {table}")  # noqa: S608 - a fixed name
        detach = asyncio.create_task(detacher.execute(f"ALTER TABLE {table} DETACH PARTITION {partition} CONCURRENTLY"))

        async def first_step_committed() -> bool:
            return await _state(pool, partition) == ["pending"]

        await eventually(first_step_committed, timeout=5, interval=0.01)
        await pool.execute("SELECT pg_cancel_backend($1)", detacher.get_server_pid())
        with pytest.raises(asyncpg.QueryCanceledError):
            await detach
    assert await _state(pool, partition) == ["pending"]


async def test_a_detach_left_pending_is_finished_and_a_detached_table_dropped(
    pool: asyncpg.Pool, tenant: Tenant
) -> None:
    old = _days(date(2020, 11, 30), 2)
    for day in old:
        await finished_scan(pool, tenant.org.id, _noon(day))
    await _leave_detach_pending(pool, "evidence", old[1])
    # A crash between detach and drop leaves a table no longer attached.
    await pool.execute(f"ALTER TABLE issues DETACH PARTITION issues_{old[0]:%Y%m%d}")

    dropped = await retention.drop_before(pool, date(2020, 12, 2))

    assert _names(old) <= {part.name for part in dropped}
    assert not await _existing(pool) & _names(old)


def _sample(name: str, table: str) -> float:
    return REGISTRY.get_sample_value(name, {"table": table}) or 0.0


async def test_default_cutoff_keeps_retention_days_and_rounds_export_metrics(
    own_database: tuple[Settings, asyncpg.Pool],
) -> None:
    settings, pool = own_database
    ahead = settings.partition_premake_days + 1  # today and the days premade by the migration
    assert await partition_rounds.export_horizon(pool) == dict.fromkeys(PARTITIONED_TABLES, ahead)
    assert REGISTRY.get_sample_value("scanfleet_partition_horizon_days", {"table": "evidence"}) == ahead
    today = datetime.now(UTC).date()
    await partitions.ensure_day(pool, today + timedelta(days=ahead + 5))  # past a gap: not counted
    assert await retention.horizon_days(pool) == dict.fromkeys(PARTITIONED_TABLES, ahead)

    # Every row of the day before the cutoff is older than retention_days; the cutoff's day is not yet.
    expired, kept = today - timedelta(days=settings.retention_days + 1), today - timedelta(days=settings.retention_days)
    org = await orgs.create(pool, "retention")
    scans = [await finished_scan(pool, org.id, _noon(day)) for day in (expired, kept)]
    before = _sample("scanfleet_partitions_dropped_total", "scans")

    dropped = await rounds.drop_expired(pool, settings)

    assert {part.name for part in dropped} == _names([expired])
    assert _sample("scanfleet_partitions_dropped_total", "scans") == before + 1
    assert await rows_of(pool, scans[1]) == {"scans": 1, "evidence": EVIDENCE_PER_SCAN, "issues": 1, "scan_domains": 1}
    assert _names([kept, today]) <= await _existing(pool)
