"""A job's results: written once with its final status, and read back a page at a time."""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Literal

import asyncpg

from scanfleet import ids
from scanfleet.db import artifacts, webhooks
from scanfleet.db.partitions import retry_on_missing
from scanfleet.db.pool import Connection, Executor
from scanfleet.model import Job, Outcome
from scanfleet.storable import storable

Table = Literal["evidence", "issues"]

EVIDENCE_COLUMNS = ("scan_created_at", "scan_id", "seq", "org_id", "kind", "severity", "title", "details", "location")
ISSUE_COLUMNS = ("scan_created_at", "scan_id", "seq", "org_id", "code", "severity", "title", "explanation",
                 "evidence_seqs")  # fmt: skip

# Domains seen, and the day's counts, in one statement: the write's last round trip before commit.
_INDEX_AND_COUNT = """
WITH seen AS (
    INSERT INTO scan_domains (scan_created_at, org_id, domain, scan_id, tracker, vendor)
    SELECT $1, $2, d.domain, $3, d.tracker, d.vendor
    FROM unnest($4::text[], $5::boolean[], $6::text[]) AS d(domain, tracker, vendor)
), scan_count AS (
    INSERT INTO daily_scan_counts AS c (org_id, day, status, scans) VALUES ($2, $7, $8, 1)
    ON CONFLICT (org_id, day, status) DO UPDATE SET scans = c.scans + 1
)
INSERT INTO daily_issue_counts AS c (org_id, day, severity, issues)
SELECT $2, $7, i.severity, i.issues FROM unnest($9::text[], $10::bigint[]) AS i(severity, issues)
ON CONFLICT (org_id, day, severity) DO UPDATE SET issues = c.issues + excluded.issues
"""


async def record_outcome(pool: asyncpg.Pool, scan: Job, outcome: Outcome) -> bool:
    """Write evidence, issues, artifact rows and the final status in one transaction. False if another delivery
    already did."""

    async def write() -> bool:
        async with pool.acquire() as conn, conn.transaction():
            return await write_outcome(conn, scan, outcome)

    return await retry_on_missing(pool, scan.created_at, write)


async def write_outcome(conn: Connection, scan: Job, outcome: Outcome) -> bool:
    """record_outcome's writes, inside the caller's transaction."""
    outcome = storable(outcome)  # what targets sent may hold U+0000 or lone surrogates; PostgreSQL takes neither
    evidence = [
        (scan.created_at, scan.id, seq, scan.org_id, item.kind, item.severity.value, item.title, item.details,
         item.location)
        for seq, item in enumerate(outcome.evidence)
    ]  # fmt: skip
    issues = [
        (scan.created_at, scan.id, seq, scan.org_id, item.code, item.severity.value, item.title, item.explanation,
         list(item.evidence))
        for seq, item in enumerate(outcome.issues)
    ]  # fmt: skip
    severities = Counter(issue.severity.value for issue in outcome.issues)
    # The status change comes first: it takes the row lock, and a concurrent delivery of the same
    # scan waits on it, re-checks the status after this one commits, finds it final and writes nothing.
    changed = await conn.fetchval(
        "UPDATE scans SET status = $3, finished_at = now(), lease_until = NULL, final_url = $4,"
        " http_status = $5, error_code = $6, error_message = $7, summary = $8, verdict = $9"
        " WHERE id = $1 AND created_at = $2 AND status IN ('queued', 'running') RETURNING true",
        scan.id, scan.created_at, outcome.status.value, outcome.final_url, outcome.http_status,
        outcome.error_code, outcome.error_message, outcome.summary(), outcome.verdict,
    )  # fmt: skip
    if not changed:
        return False
    if evidence:
        await conn.copy_records_to_table("evidence", records=evidence, columns=EVIDENCE_COLUMNS)
    if issues:
        await conn.copy_records_to_table("issues", records=issues, columns=ISSUE_COLUMNS)
    # Their blobs are stored already (scanfleet.artifacts.writer): rows that commit always find theirs.
    await artifacts.insert(conn, scan, outcome.attachments)
    await conn.execute(
        _INDEX_AND_COUNT,
        scan.created_at, scan.org_id, scan.id,
        [d.domain for d in outcome.domains], [d.tracker for d in outcome.domains],
        [d.vendor for d in outcome.domains],
        scan.created_at.date(), outcome.status.value, list(severities), list(severities.values()),
    )  # fmt: skip
    await webhooks.enqueue_completion(conn, scan, outcome)
    return True


# What the API reads of a scan's results, and what each may be filtered by.
_COLUMNS = {
    "evidence": "seq, kind, severity, title, details, location",
    "issues": "seq, code, severity, title, explanation, evidence_seqs AS evidence",
}
_FILTERS = {"evidence": ("kind", "severity"), "issues": ("code", "severity")}


async def list_results(
    conn: Executor,
    table: Table,
    org_id: uuid.UUID,
    scan_id: uuid.UUID,
    after_seq: int,
    limit: int,
    filters: dict[str, str | None] | None = None,
) -> list[asyncpg.Record]:
    """A page of a scan's evidence or issues in seq order after `after_seq`, optionally filtered
    (evidence by kind/severity, issues by code/severity)."""
    where, args = "", [scan_id, ids.created_at(scan_id), org_id, after_seq, limit]
    for column in _FILTERS[table]:
        value = (filters or {}).get(column)
        if value is not None:
            args.append(value)
            where += f" AND {column} = ${len(args)}"
    return await conn.fetch(
        f"SELECT {_COLUMNS[table]} FROM {table}"
        f" WHERE scan_id = $1 AND scan_created_at = $2 AND org_id = $3 AND seq > $4{where} ORDER BY seq LIMIT $5",
        *args,
    )


async def all_results(
    conn: Executor, table: Table, org_id: uuid.UUID, scan_id: uuid.UUID, page: int = 1000
) -> list[asyncpg.Record]:
    """Every row of a scan's evidence or issues in seq order, read a page per statement (for its report)."""
    rows: list[asyncpg.Record] = []
    while True:
        found = await list_results(conn, table, org_id, scan_id, rows[-1]["seq"] if rows else -1, page)
        rows.extend(found)
        if len(found) < page:
            return rows
