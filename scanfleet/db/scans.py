"""Scans and their results. Every read is scoped to an organisation; every write is idempotent."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import asyncpg

from scanfleet import ids
from scanfleet.db.partitions import retry_on_missing
from scanfleet.results import Outcome, ScanStatus

Executor = asyncpg.Connection | asyncpg.Pool

EVIDENCE_COLUMNS = ("scan_created_at", "scan_id", "seq", "org_id", "kind", "severity", "title", "details", "location")
ISSUE_COLUMNS = (
    "scan_created_at",
    "scan_id",
    "seq",
    "org_id",
    "code",
    "severity",
    "title",
    "explanation",
    "evidence_seqs",
)


@dataclass(frozen=True)
class Scan:
    id: uuid.UUID
    created_at: datetime
    org_id: uuid.UUID
    url: str
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

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> Scan:
        values = dict(row)
        values["status"] = ScanStatus(values["status"])
        return cls(**values)


async def insert(pool: asyncpg.Pool, org_id: uuid.UUID, url: str, scan_id: uuid.UUID | None = None) -> Scan:
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


async def get(conn: Executor, org_id: uuid.UUID, scan_id: uuid.UUID) -> Scan | None:
    row = await conn.fetchrow(
        "SELECT * FROM scans WHERE id = $1 AND created_at = $2 AND org_id = $3",
        scan_id,
        ids.created_at(scan_id),
        org_id,
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


async def list_for_org(conn: Executor, org_id: uuid.UUID, before: uuid.UUID | None, limit: int) -> list[Scan]:
    """Newest first; `before` is the last id of the previous page."""
    rows = await conn.fetch(
        "SELECT * FROM scans WHERE org_id = $1 AND ($2::uuid IS NULL OR id < $2) ORDER BY id DESC LIMIT $3",
        org_id,
        before,
        limit,
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


async def record_outcome(pool: asyncpg.Pool, scan: Scan, outcome: Outcome) -> bool:
    """Write evidence, issues and the final status in one transaction. False if another delivery already did."""
    evidence = [
        (
            scan.created_at,
            scan.id,
            seq,
            scan.org_id,
            item.kind,
            item.severity.value,
            item.title,
            item.details,
            item.location,
        )
        for seq, item in enumerate(outcome.evidence)
    ]
    issues = [
        (
            scan.created_at,
            scan.id,
            seq,
            scan.org_id,
            item.code,
            item.severity.value,
            item.title,
            item.explanation,
            list(item.evidence),
        )
        for seq, item in enumerate(outcome.issues)
    ]

    async def write() -> bool:
        async with pool.acquire() as conn, conn.transaction():
            # The status change comes first: it takes the row lock, and a concurrent delivery of the same
            # scan waits on it, re-checks the status after this one commits, finds it final and writes nothing.
            changed = await conn.fetchval(
                "UPDATE scans SET status = $3, finished_at = now(), lease_until = NULL, final_url = $4,"
                " http_status = $5, error_code = $6, error_message = $7, summary = $8"
                " WHERE id = $1 AND created_at = $2 AND status IN ('queued', 'running') RETURNING true",
                scan.id,
                scan.created_at,
                outcome.status.value,
                outcome.final_url,
                outcome.http_status,
                outcome.error_code,
                outcome.error_message,
                outcome.summary(),
            )
            if not changed:
                return False
            if evidence:
                await conn.copy_records_to_table("evidence", records=evidence, columns=EVIDENCE_COLUMNS)
            if issues:
                await conn.copy_records_to_table("issues", records=issues, columns=ISSUE_COLUMNS)
            return True

    return await retry_on_missing(pool, scan.created_at, write)


# What the API reads of a scan's results, per table; both are keyed (scan, seq) in the scan's partition.
_RESULT_COLUMNS = {
    "evidence": "seq, kind, severity, title, details, location",
    "issues": "seq, code, severity, title, explanation, evidence_seqs AS evidence",
}


async def list_results(
    conn: Executor,
    table: Literal["evidence", "issues"],
    org_id: uuid.UUID,
    scan_id: uuid.UUID,
    after_seq: int,
    limit: int,
) -> list[asyncpg.Record]:
    """A page of a scan's evidence or issues, in seq order after `after_seq`."""
    return await conn.fetch(
        f"SELECT {_RESULT_COLUMNS[table]} FROM {table}"  # noqa: S608 - both names come from the dict above
        " WHERE scan_id = $1 AND scan_created_at = $2 AND org_id = $3 AND seq > $4 ORDER BY seq LIMIT $5",
        scan_id,
        ids.created_at(scan_id),
        org_id,
        after_seq,
        limit,
    )


@dataclass(frozen=True)
class Unfinished:
    id: uuid.UUID
    org_id: uuid.UUID
    created_at: datetime


async def unfinished(
    conn: Executor, created_before: datetime, after: Unfinished | None, limit: int
) -> list[Unfinished]:
    """Scans not yet final, oldest first, created before a time: a page after `after` (keyset, so a deep
    backlog is walked whole). Queued ones, and running ones whose lease ran out, only."""
    rows = await conn.fetch(
        "SELECT id, org_id, created_at FROM scans"
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
    """A scan whose every try died with its worker ends failed rather than retried forever."""
    scan = await pool.fetchrow(
        "SELECT * FROM scans WHERE id = $1 AND created_at = $2 AND attempts >= $3 AND status = 'running'",
        scan_id,
        ids.created_at(scan_id),
        max_tries,
    )
    if scan is None:
        return False
    outcome = Outcome(
        status=ScanStatus.FAILED,
        error_code="attempts_exhausted",
        error_message=f"the scan's worker stopped {max_tries} times before finishing it",
    )
    return await record_outcome(pool, Scan.from_row(scan), outcome)
