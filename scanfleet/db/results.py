"""A scan's results: written once with its final status; read by page, filter, domain and day."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Literal

import asyncpg

from scanfleet import ids
from scanfleet.db import webhooks
from scanfleet.db.partitions import retry_on_missing
from scanfleet.results import Outcome
from scanfleet.storable import storable

if TYPE_CHECKING:
    from scanfleet.db.scans import Scan

Executor = asyncpg.Connection | asyncpg.Pool
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


async def record_outcome(pool: asyncpg.Pool, scan: Scan, outcome: Outcome) -> bool:
    """Write evidence, issues and the final status in one transaction. False if another delivery already did."""

    async def write() -> bool:
        async with pool.acquire() as conn, conn.transaction():
            return await write_outcome(conn, scan, outcome)

    return await retry_on_missing(pool, scan.created_at, write)


async def write_outcome(conn: asyncpg.Connection, scan: Scan, outcome: Outcome) -> bool:
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
        f"SELECT {_COLUMNS[table]} FROM {table}"  # noqa: S608 - names from the dicts above, values are parameters
        f" WHERE scan_id = $1 AND scan_created_at = $2 AND org_id = $3 AND seq > $4{where} ORDER BY seq LIMIT $5",
        *args,
    )


DOMAIN_PAGE = (
    "SELECT scan_id, scan_created_at, tracker, vendor FROM scan_domains"
    " WHERE org_id = $1 AND domain = $2 AND scan_created_at >= $3 AND scan_created_at < $4"
    " AND ($5::timestamptz IS NULL OR (scan_created_at, scan_id) < ($5, $6))"
    " ORDER BY scan_created_at DESC, scan_id DESC LIMIT $7"
)


async def scans_seeing(
    conn: Executor, org_id: uuid.UUID, domain: str, since: datetime, until: datetime,
    before: tuple[datetime, uuid.UUID] | None, limit: int,
) -> tuple[list[dict[str, Any]], tuple[datetime, uuid.UUID] | None]:  # fmt: skip
    """The org's scans that referenced `domain` in [since, until), newest first, and the key to continue
    after (None on the last page). First a page of scan_domains alone — an index range scan of its key in
    the range's day partitions, stopping at `limit` — then point lookups of just those scans."""
    page = await conn.fetch(
        DOMAIN_PAGE, org_id, domain, since, until, before[0] if before else None, before[1] if before else None, limit
    )
    if not page:
        return [], None
    found = await conn.fetch(
        "SELECT s.id, s.url, s.status FROM scans s JOIN unnest($1::uuid[], $2::timestamptz[]) AS k(id, created_at)"
        " ON s.id = k.id AND s.created_at = k.created_at WHERE s.deleted_at IS NULL",
        [row["scan_id"] for row in page], [row["scan_created_at"] for row in page],
    )  # fmt: skip
    scans_by_id = {row["id"]: row for row in found}
    rows = [
        dict(row) | {"url": scans_by_id[row["scan_id"]]["url"], "status": scans_by_id[row["scan_id"]]["status"]}
        for row in page
        if row["scan_id"] in scans_by_id  # a deleted scan is hidden at once, before upkeep purges its rows
    ]
    last = page[-1]
    return rows, (last["scan_created_at"], last["scan_id"]) if len(page) == limit else None


async def daily_stats(conn: Executor, org_id: uuid.UUID, first: date, last: date) -> dict[date, dict[str, dict]]:
    """Per day in [first, last]: finished scans by status and issues by severity, from the rollups."""
    days: dict[date, dict[str, dict]] = {}
    for row in await conn.fetch(
        "SELECT day, status, scans FROM daily_scan_counts WHERE org_id = $1 AND day BETWEEN $2 AND $3",
        org_id, first, last,
    ):  # fmt: skip
        days.setdefault(row["day"], {"scans": {}, "issues": {}})["scans"][row["status"]] = row["scans"]
    for row in await conn.fetch(
        "SELECT day, severity, issues FROM daily_issue_counts WHERE org_id = $1 AND day BETWEEN $2 AND $3",
        org_id, first, last,
    ):  # fmt: skip
        days.setdefault(row["day"], {"scans": {}, "issues": {}})["issues"][row["severity"]] = row["issues"]
    return days


async def in_flight(conn: Executor, org_id: uuid.UUID) -> dict[str, int]:
    rows = await conn.fetch(
        "SELECT status, count(*) AS n FROM scans WHERE org_id = $1 AND status IN ('queued', 'running')"
        " AND deleted_at IS NULL GROUP BY status",
        org_id,
    )
    return {"queued": 0, "running": 0} | {row["status"]: row["n"] for row in rows}
