"""Organisation erase: the org's rows go from every table and partition in small batches while others keep
writing; another org's rows stay; the API accepts the request, shows its progress, and only to its org."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest

from scanfleet.artifacts.local import LocalBlobStore
from scanfleet.config import Settings
from scanfleet.db import api_keys, erase, heartbeats, idempotency, orgs, webhooks
from scanfleet.scheduler import erase as rounds
from tests.conftest import Tenant, make_tenant
from tests.integration.retention.support import EVIDENCE_PER_SCAN, finished_scan, timed_inserts

# Days in partitions of their own (2021: the retention tests drop only 2020's), and today's.
DAYS = (datetime(2021, 5, 1, 12, tzinfo=UTC), datetime(2021, 5, 2, 12, tzinfo=UTC), None)
TABLES = ("scans", "evidence", "issues", "scan_domains", "daily_scan_count_shards", "daily_issue_count_shards",
          "idempotency_keys", "heartbeats", "webhook_events")  # fmt: skip


@pytest.fixture(autouse=True)
async def _no_endpoints_left(pool: asyncpg.Pool) -> AsyncIterator[None]:
    # The endpoints below are unreachable: their events must not linger for other tests' delivery rounds.
    yield
    await pool.execute("DELETE FROM webhook_endpoints WHERE url = 'https://hooks.example/'")


async def _fill(pool: asyncpg.Pool, org_id: uuid.UUID, scans_per_day: int = 1) -> None:
    await webhooks.create(pool, org_id, "https://hooks.example/", "", ["scan.completed"])  # an event per scan
    for at in DAYS:
        for _ in range(scans_per_day):
            await finished_scan(pool, org_id, at)
    await idempotency.claim(pool, org_id, "retry-key", idempotency.request_hash(b"{}"))
    await heartbeats.create(pool, org_id, "nightly", period=3600, grace=60)


async def _rows(pool: asyncpg.Pool, org_id: uuid.UUID) -> dict[str, int]:
    return {
        table: await pool.fetchval(f"SELECT count(*) FROM {table} WHERE org_id = $1", org_id)  # noqa: S608
        for table in TABLES
    }


async def _erase_until_done(pool: asyncpg.Pool, settings: Settings, org_id: uuid.UUID, request_id: uuid.UUID) -> None:
    for _ in range(50):
        await rounds.erase_round(pool, LocalBlobStore(settings.artifact_path), settings)
        req = await erase.get(pool, org_id, request_id)
        assert req is not None
        if req.status == "done":
            return
    raise AssertionError("the erase did not finish")


async def test_erase_removes_the_org_rows_in_batches_and_leaves_others(
    pool: asyncpg.Pool, settings: Settings, tenant: Tenant
) -> None:
    other = await make_tenant(pool)
    await _fill(pool, tenant.org.id, scans_per_day=4)
    await _fill(pool, other.org.id)
    others_before = await _rows(pool, other.org.id)
    ours_before = await _rows(pool, tenant.org.id)
    assert all(ours_before.values()), ours_before

    req = await erase.request(pool, tenant.org.id)
    assert (await erase.request(pool, tenant.org.id)).id == req.id  # one open request per org
    after = await finished_scan(pool, tenant.org.id, datetime.now(UTC) + timedelta(seconds=1))  # after: it stays
    # Except from the day's counts, which cover whole days: its count row (a shard of today's) goes with the day.
    counts = ("daily_scan_count_shards", "daily_issue_count_shards")
    ours_before |= {table: count for table, count in (await _rows(pool, tenant.org.id)).items() if table in counts}
    small = settings.model_copy(update={"erase_batch_rows": 7})
    async with timed_inserts(pool, other.org.id) as waits:
        await _erase_until_done(pool, small, tenant.org.id, req.id)

    done = await erase.get(pool, tenant.org.id, req.id)
    assert done is not None and done.status == "done" and done.finished_at is not None
    assert {table: count for table, count in done.erased.items() if count} == ours_before
    left = await _rows(pool, tenant.org.id)
    # Only the scan made after asking is left.
    assert await pool.fetchval("SELECT array_agg(id) FROM scans WHERE org_id = $1", tenant.org.id) == [after.id]
    assert left["evidence"] == EVIDENCE_PER_SCAN and left["webhook_events"] == 1
    assert left["idempotency_keys"] == left["heartbeats"] == 0
    assert await _rows(pool, other.org.id) == {**others_before, "scans": others_before["scans"] + len(waits)}
    assert max(waits) < 1.0, f"another org's insert waited {max(waits):.3f}s"
    # The organisation and its keys stay: it goes on using the platform.
    assert await orgs.get(pool, tenant.org.id) is not None
    assert await api_keys.authenticate(pool, tenant.key) is not None
    assert (await erase.request(pool, tenant.org.id)).id != req.id  # a new request once the last is done
    await _erase_until_done(pool, settings, tenant.org.id, (await erase.request(pool, tenant.org.id)).id)


async def test_erase_api_accepts_shows_progress_and_only_to_its_org(
    api: httpx.AsyncClient, pool: asyncpg.Pool, settings: Settings, tenant: Tenant
) -> None:
    other = await make_tenant(pool)
    await _fill(pool, tenant.org.id)

    accepted = await api.delete("/v1/org/data", headers=tenant.headers)
    assert accepted.status_code == 202, accepted.text
    body = accepted.json()
    assert body["status"] == "pending" and accepted.headers["Location"] == body["status_url"]
    again = await api.delete("/v1/org/data", headers=tenant.headers)
    assert again.status_code == 202 and again.json()["id"] == body["id"]
    assert (await api.get(body["status_url"], headers=other.headers)).status_code == 404

    await _erase_until_done(pool, settings, tenant.org.id, uuid.UUID(body["id"]))

    progress = await api.get(body["status_url"], headers=tenant.headers)
    assert progress.status_code == 200
    assert progress.json()["status"] == "done"
    assert progress.json()["erased"]["scans"] == len(DAYS)
    assert progress.json()["erased"]["evidence"] == len(DAYS) * EVIDENCE_PER_SCAN
    assert (await api.get("/v1/usage", headers=tenant.headers)).status_code == 200  # the key still works
