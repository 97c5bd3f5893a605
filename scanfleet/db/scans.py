"""Scans and their results. Every read is scoped to an organisation; every write is idempotent."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import asyncpg

from scanfleet import ids
from scanfleet.db import results
from scanfleet.db.locks import lock_name
from scanfleet.db.partitions import retry_on_missing
from scanfleet.results import ScanStatus, workers_lost

Executor = asyncpg.Connection | asyncpg.Pool

Reused = Literal["in_flight", "recent"]
Kind = Literal["privacy", "checks"]


@dataclass(frozen=True)
class Scan:
    id: uuid.UUID
    created_at: datetime
    org_id: uuid.UUID
    url: str | None  # a privacy scan's target; None for a test run
    status: ScanStatus
    attempts: int
    started_at: datetime | None
    finished_at: datetime | None
    lease_until: datetime | None
    final_url: str | None
    http_status: int | None
    error_code: str | None
    error_message: str | None
    summary: dict[str, Any] | None
    deleted_at: datetime | None = None
    kind: Kind = "privacy"
    spec: dict[str, Any] | None = None  # a test run's suite
    verdict: str | None = None  # a test run's: passed, degraded or failed
    retries: int = 0  # transient failures it was sent back for
    last_error_code: str | None = None  # the latest of those failures
    last_error_message: str | None = None

    @property
    def etag(self) -> str | None:
        """A finished scan never changes again: its id and end time name its content."""
        if not self.status.final or self.finished_at is None:
            return None
        return f'"{self.id}.{int(self.finished_at.timestamp() * 1_000_000)}"'

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> Scan:
        values = dict(row)
        values["status"] = ScanStatus(values["status"])
        return cls(**values)


async def insert(pool: Executor, org_id: uuid.UUID, url: str, scan_id: uuid.UUID | None = None) -> Scan:
    scan_id = scan_id or ids.new_id()
    created = ids.created_at(scan_id)

    async def write() -> asyncpg.Record:
        return await pool.fetchrow(
            "INSERT INTO scans (id, created_at, org_id, url) VALUES ($1, $2, $3, $4) RETURNING *",
            scan_id,
            created,
            org_id,
            url,
        )

    return Scan.from_row(await retry_on_missing(pool, created, write))


async def submit(
    pool: asyncpg.Pool, org_id: uuid.UUID, url: str, reuse_seconds: float, fresh: bool
) -> tuple[Scan, Reused | None]:
    """A new scan of `url`, or the one to reuse: the org's scan of it still queued or running, else (unless
    `fresh`) one that succeeded within `reuse_seconds`. A lock per (org, URL) makes concurrent identical
    submissions agree on one scan."""
    scan_id = ids.new_id()
    created = ids.created_at(scan_id)

    async def write() -> tuple[asyncpg.Record, Reused | None]:
        async with pool.acquire() as conn, conn.transaction():
            await lock_name(conn, f"{org_id}{url}")  # concurrent identical submissions agree on one scan
            row = await _in_flight(conn, org_id, url)
            if row:
                return row, "in_flight"
            if not fresh and reuse_seconds > 0:
                row = await conn.fetchrow(
                    "SELECT * FROM scans WHERE org_id = $1 AND md5(url) = md5($2) AND url = $2 AND deleted_at IS NULL"
                    " AND status = 'succeeded' AND created_at >= now() - make_interval(secs => $3)"
                    " ORDER BY created_at DESC LIMIT 1",
                    org_id,
                    url,
                    reuse_seconds,
                )
                if row:
                    return row, "recent"
            row = await conn.fetchrow(
                "INSERT INTO scans (id, created_at, org_id, url) VALUES ($1, $2, $3, $4) RETURNING *",
                scan_id,
                created,
                org_id,
                url,
            )
            return row, None

    row, reused = await retry_on_missing(pool, created, write)
    return Scan.from_row(row), reused


async def soft_delete(conn: Executor, org_id: uuid.UUID, scan_id: uuid.UUID) -> bool:
    """Hide a finished scan at once; upkeep purges its rows later."""
    status = await conn.execute(
        "UPDATE scans SET deleted_at = now() WHERE id = $1 AND created_at = $2 AND org_id = $3"
        " AND deleted_at IS NULL AND status NOT IN ('queued', 'running')",
        scan_id,
        ids.created_at(scan_id),
        org_id,
    )
    return status.endswith(" 1")


async def purge_deleted(pool: asyncpg.Pool, older_than_seconds: float, limit: int = 500) -> int:
    """Remove soft-deleted scans and everything written for them; each delete prunes to the scan's day."""
    rows = await pool.fetch(
        "SELECT id, created_at FROM scans WHERE deleted_at < now() - make_interval(secs => $1) LIMIT $2",
        older_than_seconds, limit,
    )  # fmt: skip
    for row in rows:
        async with pool.acquire() as conn, conn.transaction():
            for table in ("evidence", "issues", "scan_domains"):
                await conn.execute(
                    f"DELETE FROM {table} WHERE scan_id = $1 AND scan_created_at = $2",  # noqa: S608 - fixed names
                    row["id"], row["created_at"],
                )  # fmt: skip
            await conn.execute("DELETE FROM scans WHERE id = $1 AND created_at = $2", row["id"], row["created_at"])
    return len(rows)


async def _in_flight(conn: Executor, org_id: uuid.UUID, url: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT * FROM scans WHERE org_id = $1 AND md5(url) = md5($2) AND url = $2 AND deleted_at IS NULL"
        " AND status IN ('queued', 'running') ORDER BY created_at DESC LIMIT 1",
        org_id, url,
    )  # fmt: skip


async def in_flight(conn: Executor, org_id: uuid.UUID, url: str) -> Scan | None:
    """The org's scan of `url` that is still queued or running, if any."""
    row = await _in_flight(conn, org_id, url)
    return Scan.from_row(row) if row else None


async def submit_run(pool: asyncpg.Pool, org_id: uuid.UUID, suite: dict[str, Any]) -> Scan:
    """A test run of `suite` (already validated), queued; its day's partition is made if missing."""
    scan_id = ids.new_id()
    return await retry_on_missing(pool, ids.created_at(scan_id), lambda: insert_run(pool, org_id, suite, scan_id))


async def insert_run(
    conn: Executor, org_id: uuid.UUID, suite: dict[str, Any], scan_id: uuid.UUID | None = None
) -> Scan:
    scan_id = scan_id or ids.new_id()
    row = await conn.fetchrow(
        "INSERT INTO scans (id, created_at, org_id, kind, spec) VALUES ($1, $2, $3, 'checks', $4) RETURNING *",
        scan_id, ids.created_at(scan_id), org_id, suite,
    )  # fmt: skip
    return Scan.from_row(row)


async def get(conn: Executor, org_id: uuid.UUID, scan_id: uuid.UUID, kind: Kind = "privacy") -> Scan | None:
    row = await conn.fetchrow(
        "SELECT * FROM scans WHERE id = $1 AND created_at = $2 AND org_id = $3 AND kind = $4 AND deleted_at IS NULL",
        scan_id,
        ids.created_at(scan_id),
        org_id,
        kind,
    )
    return Scan.from_row(row) if row else None


async def is_final(conn: Executor, scan_id: uuid.UUID) -> bool:
    status = await conn.fetchval(
        "SELECT status FROM scans WHERE id = $1 AND created_at = $2", scan_id, ids.created_at(scan_id)
    )
    return status is None or ScanStatus(status).final


async def delete_unadmitted(conn: Executor, scan: Scan) -> None:
    """Remove a scan the gate refused: it was never accepted, so nothing of it may stay runnable."""
    await conn.execute(
        "DELETE FROM scans WHERE id = $1 AND created_at = $2 AND status = 'queued'", scan.id, scan.created_at
    )


async def cancel(conn: Executor, org_id: uuid.UUID, scan_id: uuid.UUID) -> Scan | None:
    """Mark an unfinished scan cancelled; None if it was already final (or is not the org's)."""
    row = await conn.fetchrow(
        "UPDATE scans SET status = 'cancelled', finished_at = now(), lease_until = NULL,"
        " error_code = 'cancelled', error_message = 'cancelled by request'"
        " WHERE id = $1 AND created_at = $2 AND org_id = $3 AND status IN ('queued', 'running') RETURNING *",
        scan_id,
        ids.created_at(scan_id),
        org_id,
    )
    return Scan.from_row(row) if row else None


async def statuses(conn: Executor, scan_ids: list[uuid.UUID]) -> dict[uuid.UUID, ScanStatus]:
    """Current status of each scan that still exists (each lookup prunes by the id's timestamp)."""
    rows = await conn.fetch(
        "SELECT s.id, s.status FROM scans s JOIN unnest($1::uuid[], $2::timestamptz[]) AS k(id, created_at)"
        " ON s.id = k.id AND s.created_at = k.created_at",
        scan_ids,
        [ids.created_at(scan_id) for scan_id in scan_ids],
    )
    return {row["id"]: ScanStatus(row["status"]) for row in rows}


async def list_for_org(
    conn: Executor, org_id: uuid.UUID, before: uuid.UUID | None, limit: int, kind: Kind = "privacy"
) -> list[Scan]:
    """Newest first; `before` is the last id of the previous page."""
    rows = await conn.fetch(
        "SELECT * FROM scans WHERE org_id = $1 AND kind = $4 AND deleted_at IS NULL AND ($2::uuid IS NULL OR id < $2)"
        " ORDER BY id DESC LIMIT $3",
        org_id,
        before,
        limit,
        kind,
    )
    return [Scan.from_row(row) for row in rows]


async def claim(conn: Executor, scan_id: uuid.UUID, lease_seconds: float) -> Scan | None:
    """Mark a scan running for this delivery. None when it is already final (a duplicate delivery).

    A scan still 'running' may be claimed again: that is a redelivery after its worker died.
    """
    row = await conn.fetchrow(
        "UPDATE scans SET status = 'running', started_at = now(), attempts = attempts + 1,"
        " lease_until = now() + make_interval(secs => $3)"
        " WHERE id = $1 AND created_at = $2 AND status IN ('queued', 'running') RETURNING *",
        scan_id,
        ids.created_at(scan_id),
        lease_seconds,
    )
    return Scan.from_row(row) if row else None


async def retry_later(conn: Executor, scan: Scan, error_code: str, error_message: str) -> bool:
    """This delivery failed for a reason that may pass: back to queued, one retry used, the error kept."""
    done = await conn.execute(
        "UPDATE scans SET status = 'queued', lease_until = NULL, retries = retries + 1,"
        " last_error_code = $3, last_error_message = $4"
        " WHERE id = $1 AND created_at = $2 AND status = 'running'",
        scan.id, scan.created_at, error_code, error_message,
    )  # fmt: skip
    return done == "UPDATE 1"


async def hand_back(conn: Executor, scan: Scan) -> None:
    """A stopping worker gave the job back unfinished: that delivery does not count as an attempt."""
    await conn.execute(
        "UPDATE scans SET status = 'queued', lease_until = NULL, attempts = greatest(attempts - 1, 0)"
        " WHERE id = $1 AND created_at = $2 AND status = 'running'",
        scan.id,
        scan.created_at,
    )


@dataclass(frozen=True)
class Unfinished:
    id: uuid.UUID
    org_id: uuid.UUID
    created_at: datetime
    kind: Kind


async def unfinished(
    conn: Executor, created_before: datetime, after: Unfinished | None, limit: int
) -> list[Unfinished]:
    """Scans not yet final, oldest first, created before a time: a page after `after` (keyset, so a deep
    backlog is walked whole). Queued ones, and running ones whose lease ran out, only."""
    rows = await conn.fetch(
        "SELECT id, org_id, created_at, kind FROM scans"
        " WHERE status IN ('queued', 'running') AND created_at < $1"
        " AND (status = 'queued' OR lease_until < now())"
        " AND ($2::timestamptz IS NULL OR (created_at, id) > ($2, $3))"
        " ORDER BY created_at, id LIMIT $4",
        created_before,
        after.created_at if after else None,
        after.id if after else None,
        limit,
    )
    return [Unfinished(**dict(row)) for row in rows]


async def fail_exhausted(pool: asyncpg.Pool, scan_id: uuid.UUID, max_tries: int) -> bool:
    """A scan whose worker died with it `max_tries` times ends failed rather than retried forever.

    Deliveries that ended in a retry are not the worker dying: they are counted apart.
    """
    scan = await pool.fetchrow(
        "SELECT * FROM scans WHERE id = $1 AND created_at = $2 AND attempts - retries >= $3 AND status = 'running'",
        scan_id,
        ids.created_at(scan_id),
        max_tries,
    )
    if scan is None:
        return False
    return await results.record_outcome(pool, Scan.from_row(scan), workers_lost(max_tries))
