"""Per-organisation erase (GDPR right to erasure): a request is recorded at once, then the scheduler removes
the org's rows in small batches. Each batch is one short transaction that locks only the org's own rows,
so other organisations' writes and retention's detaches never wait long behind it.

What goes: every row the org had recorded when it asked — scans and test runs with their evidence, issues,
domains and artifacts (in every day partition), its daily counts, idempotency keys, heartbeats, and the webhook
events of those scans; then its artifact blobs written before it asked (scanfleet.scheduler.erase). What stays:
the organisation and its API keys, so it keeps using the platform, and whatever it records after asking.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import asyncpg

from scanfleet import ids
from scanfleet.db.pool import Connection, Executor
from scanfleet.db.rows import names, read

Status = Literal["pending", "running", "done"]

# A scan's rows, scan first: a worker writing the scan's result holds its row, so the deletes of the
# other tables run after that write commits and take what it wrote with them.
_BY_SCAN = {
    "scans": ("id", "created_at"),
    "evidence": ("scan_id", "scan_created_at"),
    "issues": ("scan_id", "scan_created_at"),
    "scan_domains": ("scan_id", "scan_created_at"),
    "artifacts": ("scan_id", "scan_created_at"),
}
# The org's other rows: table → (the columns naming a row, which rows the request covers; $2 is its time).
_DAY_COVERED = "day <= ($2 AT TIME ZONE 'UTC')::date"
_OTHER_ROWS = {
    "daily_scan_counts": ("org_id, day, status", _DAY_COVERED),
    "daily_issue_counts": ("org_id, day, severity", _DAY_COVERED),
    "daily_scan_count_shards": ("org_id, day, status, shard", _DAY_COVERED),
    "daily_issue_count_shards": ("org_id, day, severity, shard", _DAY_COVERED),
    "idempotency_keys": ("org_id, key", "created_at < $2"),
    "heartbeats": ("id", "created_at < $2"),
    # Covered when its scan is (the scan's time is in its UUIDv7 id); its delivery log goes with it.
    "webhook_events": ("id", "uuid_extract_timestamp(scan_id) < $2"),
}


@dataclass(frozen=True)
class EraseRequest:
    id: uuid.UUID
    org_id: uuid.UUID
    status: Status
    requested_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    lease_until: datetime | None
    erased: dict[str, int]  # rows removed so far, per table


def _request(row: asyncpg.Record) -> EraseRequest:
    return read(EraseRequest, row)


_COLS = names(EraseRequest)  # named, never *: a column a newer release adds changes no result here


async def request(conn: Executor, org_id: uuid.UUID) -> EraseRequest:
    """A new request for the org, or the one it already has open."""
    row = await conn.fetchrow(
        "INSERT INTO erase_requests (id, org_id) VALUES ($1, $2)"
        f" ON CONFLICT (org_id) WHERE status <> 'done' DO NOTHING RETURNING {_COLS}",
        ids.new_id(), org_id,
    )  # fmt: skip
    row = row or await conn.fetchrow(
        f"SELECT {_COLS} FROM erase_requests WHERE org_id = $1 AND status <> 'done'", org_id
    )
    if row is None:  # the open one finished between the two statements: ask afresh
        return await request(conn, org_id)
    return _request(row)


async def get(conn: Executor, org_id: uuid.UUID, request_id: uuid.UUID) -> EraseRequest | None:
    row = await conn.fetchrow(f"SELECT {_COLS} FROM erase_requests WHERE id = $1 AND org_id = $2", request_id, org_id)
    return _request(row) if row else None


async def claim(conn: Executor, lease_seconds: float) -> EraseRequest | None:
    """The oldest open request no replica holds, leased to the caller (SKIP LOCKED: replicas take different
    ones). A lease that ran out means its holder died: the request is taken over where it stopped."""
    row = await conn.fetchrow(
        "UPDATE erase_requests r SET status = 'running', started_at = coalesce(r.started_at, now()),"
        " lease_until = now() + make_interval(secs => $1)"
        " FROM (SELECT id FROM erase_requests WHERE status <> 'done' AND (lease_until IS NULL OR lease_until < now())"
        "       ORDER BY requested_at LIMIT 1 FOR UPDATE SKIP LOCKED) due"
        f" WHERE r.id = due.id RETURNING {names(EraseRequest, 'r')}",
        lease_seconds,
    )
    return _request(row) if row else None


async def release(conn: Executor, request_id: uuid.UUID) -> None:
    """Give the lease back, so the next round on any replica goes on at once."""
    await conn.execute("UPDATE erase_requests SET lease_until = NULL WHERE id = $1", request_id)


async def erase_some(
    pool: asyncpg.Pool, req: EraseRequest, batch_rows: int, seconds: float, lease_seconds: float
) -> tuple[Counter[str], bool]:
    """Batches of `req`'s rows until none is left (then the request is done) or `seconds` pass.
    Returns the rows removed, per table, and whether it is done.

    A batch holds about `batch_rows` rows: scans are taken with all their rows, so how many scans a batch
    takes follows how many rows per scan the last one found.
    """
    deadline = time.monotonic() + seconds
    erased: Counter[str] = Counter()
    scans_per_batch = max(1, batch_rows // 10)
    while time.monotonic() < deadline:
        async with pool.acquire() as conn, conn.transaction():
            batch = await _scans_batch(conn, req, scans_per_batch) or await _other_batch(conn, req, batch_rows)
            if not batch:
                await conn.execute(
                    "UPDATE erase_requests SET status = 'done', finished_at = now(), lease_until = NULL WHERE id = $1",
                    req.id,
                )
                return erased, True
            await _record(conn, req.id, batch, lease_seconds)
        erased.update(batch)
        if "scans" in batch:
            scans_per_batch = max(1, min(batch_rows, batch["scans"] * batch_rows // max(sum(batch.values()), 1)))
    return erased, False


async def _scans_batch(conn: Connection, req: EraseRequest, limit: int) -> dict[str, int]:
    keys = await conn.fetch(
        "SELECT id, created_at FROM scans WHERE org_id = $1 AND created_at < $2 LIMIT $3",
        req.org_id, req.requested_at, limit,
    )  # fmt: skip
    if not keys:
        return {}
    # The batch comes from the oldest partitions first; its time span prunes every delete to those days.
    times = [key["created_at"] for key in keys]
    batch = {}
    for table, (scan_id, scan_at) in _BY_SCAN.items():
        status = await conn.execute(
            f"DELETE FROM {table} WHERE org_id = $1 AND {scan_id} = ANY($2::uuid[])"
            f" AND {scan_at} BETWEEN $3 AND $4",
            req.org_id, [key["id"] for key in keys], min(times), max(times),
        )  # fmt: skip
        batch[table] = int(status.split()[-1])
    return batch


async def _other_batch(conn: Connection, req: EraseRequest, limit: int) -> dict[str, int]:
    """Up to `limit` rows of the first table that has any left."""
    for table, (key, covered) in _OTHER_ROWS.items():
        status = await conn.execute(
            f"DELETE FROM {table} WHERE ({key}) IN"
            f" (SELECT {key} FROM {table} WHERE org_id = $1 AND {covered} LIMIT $3)",
            req.org_id, req.requested_at, limit,
        )  # fmt: skip
        removed = int(status.split()[-1])
        if removed:
            return {table: removed}
    return {}


async def _record(conn: Connection, request_id: uuid.UUID, batch: dict[str, int], lease: float) -> None:
    """Add a batch to the request's counts in the batch's own transaction, so they stay exact after a crash."""
    await conn.execute(
        "UPDATE erase_requests SET lease_until = now() + make_interval(secs => $3), erased = erased || ("
        " SELECT jsonb_object_agg(t, coalesce((erased ->> t)::bigint, 0) + n::bigint) FROM jsonb_each_text($2) b(t, n))"
        " WHERE id = $1",
        request_id, batch, lease,
    )  # fmt: skip
