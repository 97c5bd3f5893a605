"""Scans storage: partitions made on demand, lookups pruned by id, duplicate deliveries written once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from scanfleet import ids
from scanfleet.config import Settings
from scanfleet.db import results, scans
from scanfleet.db.pool import create_pool
from scanfleet.model import Evidence, Issue, Outcome, Severity, Status
from tests.conftest import Tenant
from tests.support.bombs import nested, unnested


def outcome(rows: int) -> Outcome:
    evidence = [
        Evidence("cookie", Severity.INFO, f"cookie {n}", {"n": n, "nested": {"ok": True}}, "http://x/")
        for n in range(rows)
    ]
    issues = [Issue("csp_missing", Severity.MEDIUM, "No CSP", "why", (0, 1))]
    return Outcome(Status.SUCCEEDED, final_url="http://x/", http_status=200, evidence=evidence, issues=issues)


async def test_write_into_a_day_without_partition_creates_it(pool: asyncpg.Pool, tenant: Tenant) -> None:
    day = datetime.now(UTC) + timedelta(days=40)
    partition = f"scans_{day:%Y%m%d}"
    assert not await pool.fetchval("SELECT to_regclass($1) IS NOT NULL", partition)

    scan = await scans.insert(pool, tenant.org.id, "http://x/", scan_id=ids.new_id(at=day))
    claimed = await scans.claim(pool, scan.id, lease_seconds=60)
    assert claimed is not None
    assert await results.record_outcome(pool, claimed, outcome(3))

    assert await pool.fetchval("SELECT to_regclass($1) IS NOT NULL", partition)
    stored = await scans.get(pool, tenant.org.id, scan.id)
    assert stored is not None and stored.status is Status.SUCCEEDED
    assert stored.summary == {"evidence": 3, "issues": {"critical": 0, "high": 0, "medium": 1, "low": 0, "info": 0}}
    rows = await results.list_results(pool, "evidence", tenant.org.id, scan.id, after_seq=-1, limit=10)
    assert [row["details"]["n"] for row in rows] == [0, 1, 2]


async def test_what_a_target_sent_is_stored_however_it_mixes_with_clean_rows(
    pool: asyncpg.Pool, tenant: Tenant
) -> None:
    # One statement writes every row's details as one JSON array: a row PostgreSQL could not take as sent (a NUL, a
    # lone surrogate, a number that is not finite, deep nesting) must not cost its neighbours or the result.
    deep = nested(600, "\x00")
    sent: list[dict[str, Any]] = [
        {"plain": "café"}, {"emoji": "😀", "nul": "a\x00b"}, {"deep": deep}, {"n": float("nan"), "big": 1e400},
        {"lone": "\ud800", "path": "C:\\u0000"}, {},
    ]  # fmt: skip
    evidence = [Evidence("check_step", Severity.INFO, f"row {n}", details, None) for n, details in enumerate(sent)]
    scan = await scans.insert(pool, tenant.org.id, "http://x/")
    claimed = await scans.claim(pool, scan.id, lease_seconds=60)
    assert claimed is not None
    assert await results.record_outcome(pool, claimed, Outcome(Status.SUCCEEDED, evidence=evidence))

    rows = await results.list_results(pool, "evidence", tenant.org.id, scan.id, after_seq=-1, limit=10)
    assert [(row["seq"], row["title"]) for row in rows] == [(n, f"row {n}") for n in range(len(sent))]
    details = [row["details"] for row in rows]
    assert details[0] == {"plain": "café"} and details[1] == {"emoji": "😀", "nul": "a\ufffdb"}
    assert unnested(details[2]["deep"], 600) == "\ufffd"
    assert details[3] == {"n": "NaN", "big": "Infinity"}
    assert details[4] == {"lone": "\ufffd", "path": "C:\\u0000"} and details[5] == {}


async def test_lookup_by_id_reads_one_partition(pool: asyncpg.Pool, tenant: Tenant) -> None:
    scan = await scans.insert(pool, tenant.org.id, "http://x/")
    plan = await pool.fetchval(
        "EXPLAIN (FORMAT JSON) SELECT * FROM scans WHERE id = $1 AND created_at = $2 AND org_id = $3",
        scan.id,
        scan.created_at,
        tenant.org.id,
    )
    # Pruned at plan time: the plan names one partition, today's, and no Append over the others.
    assert plan.count('"Relation Name"') == 1, plan
    assert f'"scans_{scan.created_at:%Y%m%d}"' in plan


async def test_duplicate_deliveries_write_evidence_once(pool: asyncpg.Pool, tenant: Tenant) -> None:
    scan = await scans.insert(pool, tenant.org.id, "http://x/")
    first = await scans.claim(pool, scan.id, lease_seconds=60)
    second = await scans.claim(pool, scan.id, lease_seconds=60)  # a redelivery while the first still runs
    assert first is not None and second is not None and second.attempts == 2

    written = await asyncio.gather(
        results.record_outcome(pool, first, outcome(5)), results.record_outcome(pool, second, outcome(5))
    )
    assert sorted(written) == [False, True]
    # A third delivery after the end finds nothing to claim.
    assert await scans.claim(pool, scan.id, lease_seconds=60) is None
    count = await pool.fetchval(
        "SELECT count(*) FROM evidence WHERE scan_id = $1 AND scan_created_at = $2", scan.id, scan.created_at
    )
    assert count == 5


async def test_reads_are_scoped_to_the_organisation(pool: asyncpg.Pool, tenant: Tenant) -> None:
    from tests.conftest import make_tenant

    other = await make_tenant(pool)
    scan = await scans.insert(pool, tenant.org.id, "http://x/")
    assert await scans.get(pool, other.org.id, scan.id) is None
    assert await scans.list_for_org(pool, other.org.id, None, 10) == []
    assert await scans.get(pool, tenant.org.id, scan.id) is not None


async def test_a_claim_changes_no_indexed_column_so_it_can_be_a_hot_update(pool: asyncpg.Pool, tenant: Tenant) -> None:
    # A claim that changed an indexed column (or one an index's predicate names) would add an entry to each of
    # the table's indexes; in place (HOT) it adds none.
    # In a day's partition of its own: a page that other tests' rows filled would leave no room for the new version.
    scan = await scans.insert(
        pool, tenant.org.id, "http://x/hot", scan_id=ids.new_id(at=datetime.now(UTC) + timedelta(days=41))
    )
    partition = await pool.fetchval("SELECT tableoid FROM scans WHERE id = $1", scan.id)
    async with pool.acquire() as conn, conn.transaction():
        assert await scans.claim(conn, scan.id, lease_seconds=60) is not None
        assert await conn.fetchval("SELECT pg_stat_get_xact_tuples_hot_updated($1)", partition) == 1


async def test_a_workers_pool_plans_a_statement_once_and_prunes_partitions_as_it_runs(
    settings: Settings, tenant: Tenant
) -> None:
    # A statement by primary key on the day-partitioned table: PostgreSQL's default would plan every call anew.
    pool = await create_pool(settings, by_key=True)
    scan = await scans.insert(pool, tenant.org.id, "http://x/")
    try:
        async with pool.acquire() as conn:
            await conn.execute(
                "PREPARE by_id(uuid, timestamptz) AS SELECT id FROM scans WHERE id = $1 AND created_at = $2"
            )
            execute = f"EXECUTE by_id('{scan.id}', '{scan.created_at.isoformat()}')"  # our own values, no input
            for _ in range(6):  # past the five custom plans PostgreSQL tries first
                assert await conn.fetchval(execute) == scan.id
            plan = "\n".join(row[0] for row in await conn.fetch(f"EXPLAIN {execute}"))
            await conn.execute("DEALLOCATE by_id")
    finally:
        await pool.close()
    assert "$1" in plan and "Subplans Removed" in plan, plan  # generic: pruned at run time, not planned again
